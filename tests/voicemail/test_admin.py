import pytest

from relais.voicemail import pipeline
from relais.voicemail.models import PipelineStep, Voicemail
from relais.voicemail.pipeline import Step
from tests.helpers import drain
from tests.voicemail import steps


@pytest.mark.django_db(transaction=True)
def test_operator_retries_a_failed_voicemail_from_the_admin(admin_client, settings):
    settings.RELAIS_RETRY_BASE_SECONDS = 0
    settings.RELAIS_STEP_MAX_ATTEMPTS = 1
    settings.RELAIS_PIPELINE = [Step(steps.broken, "audio", name="normalise")]
    vm = Voicemail.objects.create(caller_e164="+33612345678")
    pipeline.start(vm)
    drain()
    vm.refresh_from_db()
    assert vm.status == "failed"

    page = admin_client.get(f"/admin/voicemail/voicemail/{vm.pk}/change/")
    assert page.status_code == 200
    assert "ValueError: cannot decode" in page.content.decode()

    settings.RELAIS_PIPELINE = [Step(steps.ok, "audio", name="normalise")]
    response = admin_client.post(
        "/admin/voicemail/voicemail/",
        {"action": "retry_failed_steps", "_selected_action": [str(vm.pk)]},
        follow=True,
    )
    assert "1 message(s) relancé(s)." in response.content.decode()
    drain()
    vm.refresh_from_db()
    assert vm.status == "done"
    assert PipelineStep.objects.get(voicemail=vm).status == "done"
