"""A message whose transcript is unreliable (a Whisper loop, words invented on silence):
moderated instead of shared automatically, and the professional is told to listen."""

import pytest

from relais.routing.models import Delivery, RoutingDecision
from relais.voicemail import pipeline
from relais.voicemail.models import Voicemail
from tests import factories as f
from tests.factories import NANTES, offset
from tests.helpers import drain, recipients

pytestmark = pytest.mark.django_db(transaction=True)
NOTICE = "Transcription incertaine — écoutez le message"


def test_an_unreliable_transcript_waits_for_an_operator_and_says_so(routing_steps, smtp,
                                                                     client):
    called = f.listing(*NANTES, ["plombier"], email="appele@example.fr")
    f.listing(*offset(*NANTES, 3), ["plombier"], email="voisin@example.fr")
    vm = f.voicemail(called, confidence=0.97)
    Voicemail.objects.filter(pk=vm.pk).update(transcript_reliable=False)
    pipeline.start(vm)
    drain()
    decision = RoutingDecision.objects.get(voicemail=vm)
    assert (decision.outcome, decision.moderation) == ("moderation", "pending")
    assert [r["code"] for r in decision.reasons] == ["transcript_unreliable"]
    assert recipients(smtp.mailbox) == ["appele@example.fr"]
    (mail,) = smtp.mailbox.messages
    assert NOTICE in smtp.mailbox.text(mail) and NOTICE in smtp.mailbox.html(mail)

    own = Delivery.objects.get(voicemail=vm, kind="own")
    client.force_login(called.professional.user)
    page = client.get(f"/pro/messages/{own.pk}/").content.decode()
    assert NOTICE in page


def test_a_reliable_transcript_shows_no_notice(routing_steps, smtp, client):
    called = f.listing(*NANTES, ["plombier"], email="appele@example.fr")
    vm = f.voicemail(called, consent="private")
    pipeline.start(vm)
    drain()
    own = Delivery.objects.get(voicemail=vm, kind="own")
    client.force_login(called.professional.user)
    assert NOTICE not in client.get(f"/pro/messages/{own.pk}/").content.decode()
    (mail,) = smtp.mailbox.messages
    assert NOTICE not in smtp.mailbox.text(mail) + smtp.mailbox.html(mail)
