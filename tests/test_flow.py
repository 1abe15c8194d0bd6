"""relais.flow: the steps and periodic jobs the workers run, found through the settings."""

from datetime import timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured

from relais import flow
from relais.core import schedule
from relais.privacy import services as privacy
from relais.routing import notifications
from relais.voicemail import pipeline, recordings
from relais.voicemail.pipeline import Step


def test_the_settings_name_the_project_lists():
    assert pipeline.steps() is pipeline.steps() == flow.PIPELINE  # resolved once
    assert schedule.periodic_jobs() == flow.PERIODIC


def test_the_step_names_stored_in_pipeline_rows_and_their_queues():
    assert [(s.name, s.queue, s.max_attempts) for s in flow.PIPELINE] == [
        ("fetch", "audio", 60), ("normalise", "audio", None),
        ("transcribe", "transcription", None), ("understand", "default", None),
        # route waits for the consent (state "waiting") without using attempts.
        ("redact", "audio", None), ("route", "default", None),
        ("urgent_sms", "notifications", None), ("notify", "notifications", None),
    ]
    assert flow.PIPELINE[0].function is recordings.fetch_step


def test_the_periodic_jobs():
    assert [(j.name, j.every) for j in flow.PERIODIC] == [
        ("recover-stalled-steps", timedelta(minutes=1)),
        ("settle-stale-messages", timedelta(minutes=10)),
        ("recover-notifications", timedelta(minutes=1)),
        ("daily-digests", timedelta(minutes=10)),
        ("reconcile-recipient-index", timedelta(days=1)),
        ("retention-purge", timedelta(hours=1)),
        ("purge-sms-threads", timedelta(days=1)),
        ("console-summary", timedelta(minutes=5)),
        ("console-summary-late", timedelta(days=1)),
        ("number-pool-purge", timedelta(hours=6)),
    ]
    functions = {j.name: j.function for j in flow.PERIODIC}
    assert functions["recover-stalled-steps"] is pipeline.recover_stalled
    assert functions["recover-notifications"] is notifications.recover
    assert functions["retention-purge"] is privacy.purge


def test_a_step_is_named_after_its_function_unless_named(settings):
    assert Step(recordings.fetch_step).name == "fetch_step"
    assert Step(recordings.fetch_step, name="fetch").name == "fetch"
    settings.RELAIS_PIPELINE = [Step(recordings.fetch_step, "audio"),
                                Step(recordings.fetch_step, "default")]
    with pytest.raises(ImproperlyConfigured, match="share a name"):
        pipeline.steps()
