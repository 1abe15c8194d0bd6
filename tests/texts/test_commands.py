"""``relais simulate_call --hangup-before-message`` and ``relais simulate_sms``, in real
subprocesses, over HTTP against a live server and in process."""

import io
import json

import pytest
from django.core.management import CommandError, call_command

from relais.calls.models import TrackingNumber
from relais.core.models import OutboxMessage
from relais.voicemail.models import Voicemail
from tests.factories import PHONE_CALLER as CALLER
from tests.factories import TRACKING, make_listing
from tests.helpers import relais, relais_env


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_hang_up_then_write_with_the_commands(live_server, settings):
    settings.RELAIS_PUBLIC_URL = live_server.url
    TrackingNumber.objects.create(e164=TRACKING, listing=make_listing())
    env = relais_env(RELAIS_PUBLIC_URL=live_server.url,
                     RELAIS_TEST_PIPELINE="tests.helpers.FETCH_ONLY")
    done = relais("simulate_call", "--to", TRACKING, "--from", CALLER,
                  "--hangup-before-message", "--url", live_server.url, "--json", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    call = json.loads(done.stdout)
    assert call["voicemail_reference"] is None and call["recording_sid"] is None
    [invitation] = OutboxMessage.objects.filter(kind="sms", to=CALLER)
    assert invitation.sender == TRACKING and "répondant à ce SMS" in invitation.body

    done = relais("simulate_sms", "--from", "06 39 98 00 01", "--to", TRACKING, "--body",
                  "Bonjour, une fuite sous l'évier à Nantes, pouvez-vous passer ?",
                  "--url", live_server.url, "--json", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    out = json.loads(done.stdout)
    vm = Voicemail.objects.get(channel="sms")
    assert out["status"] == 200 and out["message_sid"].startswith("SM")
    assert len(out["replies"]) == 1 and vm.reference in out["replies"][0]

    # In process, human-readable (the reply lands in the outbox); a bad number is a clear
    # error.
    out = io.StringIO()
    call_command("simulate_sms", "--from", CALLER, "--to", TRACKING, "--body", "OUI",
                 stdout=out)
    assert f"Reply: « C'est noté : votre demande {vm.reference}" in out.getvalue()
    vm.refresh_from_db()
    assert vm.consent == "share" and vm.consent_recorded_at is not None
    assert OutboxMessage.objects.filter(kind="sms", to=CALLER, sender=TRACKING,
                                        body__startswith="C'est noté").count() == 1
    with pytest.raises(CommandError, match="not a phone number"):
        call_command("simulate_sms", "--from", "pas un numéro", "--to", TRACKING, "--body", "x")
