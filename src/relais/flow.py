"""What the workers run: the voicemail pipeline's steps and the periodic jobs, listed here.

Like relais/urls.py, this module sits above every app and names their functions; the
engines (relais.voicemail.pipeline, relais.core.schedule) only learn the lists through
the settings that name them, ``RELAIS_PIPELINE`` and ``RELAIS_PERIODIC_JOBS``.

A step's name is stored in its PipelineStep rows: renaming one orphans the steps of
voicemails already under way.
"""

from datetime import timedelta

from relais.console import summary as console_summary
from relais.core.schedule import Job
from relais.directory import pool
from relais.privacy import services as privacy_services
from relais.routing import index, notifications
from relais.routing import steps as routing_steps
from relais.texts import services as texts_services
from relais.texts import urgent
from relais.voicemail import callbacks, pipeline, recordings
from relais.voicemail import steps as voicemail_steps
from relais.voicemail.pipeline import Step

PIPELINE = (
    # A provider outage delays the download, it never loses it: ~2 days of retries.
    Step(recordings.fetch_step, "audio", max_attempts=60, name="fetch"),
    Step(voicemail_steps.normalise, "audio"),
    Step(voicemail_steps.transcribe, "transcription"),
    Step(voicemail_steps.understand, "default"),
    Step(voicemail_steps.redact, "audio"),
    # Waits (state "waiting", no attempt counted) while the caller may still be answering
    # the consent question; woken when the consent becomes final.
    Step(routing_steps.route, "default"),
    # Urgent requests outside the called listing's hours, texted to the recipients routing
    # chose whose listing opted in (relais.texts.urgent).
    Step(urgent.urgent_sms, "notifications"),
    Step(routing_steps.notify, "notifications"),
)

PERIODIC = (
    Job("recover-stalled-steps", timedelta(minutes=1), pipeline.recover_stalled),
    Job("settle-stale-messages", timedelta(minutes=10), callbacks.settle_stale),
    # Notifications whose task was lost or whose worker died are sent again.
    Job("recover-notifications", timedelta(minutes=1), notifications.recover),
    # Daily digests: the job runs often and sends once RELAIS_DIGEST_HOUR has passed.
    Job("daily-digests", timedelta(minutes=10), notifications.send_due_digests),
    # The recipient index against the live tables (repairs bulk updates without signals).
    Job("reconcile-recipient-index", timedelta(days=1), index.reconcile),
    # Retention periods (RELAIS_RETENTION_*_DAYS): recordings, transcripts, metadata.
    Job("retention-purge", timedelta(hours=1), privacy_services.purge),
    # SMS conversations (relais.texts) are kept 30 days.
    Job("purge-sms-threads", timedelta(days=1), texts_services.purge),
    # The operator's console: today's figures every few minutes, late events once a day.
    Job("console-summary", timedelta(minutes=5), console_summary.refresh_recent),
    Job("console-summary-late", timedelta(days=1), console_summary.refresh_late),
    # The number pool's old bindings (calls keep their attribution on the call log).
    Job("number-pool-purge", timedelta(hours=6), pool.purge),
)
