"""Callers by SMS, end to end through the real webhooks (the local phone plays Twilio):
the receipt, the missed-call text-back, a request written by SMS with its consent asked
by SMS, STOP, and calls outside the opening hours."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from relais.calls import prompts
from relais.calls.models import Call, TrackingNumber
from relais.core import sms
from relais.core.models import OutboxMessage
from relais.pros import hours
from relais.routing.models import Delivery
from relais.texts import urgent
from relais.texts.models import UrgentPush
from relais.voicemail import callbacks
from relais.voicemail.models import Voicemail
from tests import factories as f
from tests.factories import PHONE_CALLER as CALLER
from tests.factories import TRACKING
from tests.helpers import drain, last_code, post_signed, recipients

pytestmark = pytest.mark.django_db(transaction=True)

LANDLINE = "+33261910098"
NEED = ("Bonjour, j'ai une fuite d'eau sous l'évier de la cuisine, pouvez-vous passer "
        "demain matin ? Je suis Nadia Bensaïd, rappelez-moi au 06 12 34 56 78.")
NUMBER_FORMS = ("06 12 34 56 78", "0612345678", "+33612345678", "Bensaïd")


def sms_to(number: str) -> list[OutboxMessage]:
    return list(OutboxMessage.objects.filter(kind="sms", to=number).order_by("pk"))


# --- The receipt -------------------------------------------------------------------------


def test_a_mobile_caller_gets_the_receipt_with_a_working_portal_link(phone, tracking, wav,
                                                                     client):
    result = phone.call(TRACKING, CALLER, wav, consent="share")
    assert result.errors == []
    vm = Voicemail.objects.get()
    [receipt] = sms_to(CALLER)
    assert vm.reference in receipt.body and "Plomberie Martin" in receipt.body
    assert sms.encoding(receipt.body) == "GSM-7"
    assert receipt.segments == sms.segments(receipt.body) == 2 and receipt.sender == ""
    link = re.search(r"https?://\S+", receipt.body).group(0)
    assert link == "http://127.0.0.1:8000" + reverse("privacy:start")  # RELAIS_PUBLIC_URL
    path = urlsplit(link).path
    assert client.get(path).status_code == 200
    response = client.post(path, {"reference": vm.reference, "number": "06 39 98 00 01"})
    assert response.status_code == 302
    response = client.post(reverse("privacy:code"), {"code": last_code(CALLER)})
    assert response.status_code == 302 and response["Location"] == reverse("privacy:message")
    assert client.get(reverse("privacy:message")).status_code == 200
    # A retried status callback texts nothing more.
    status = next((u, p) for u, p in result.sent if u.endswith("/twilio/status"))
    assert phone.transport.post(*status)[0] == 204
    assert len(sms_to(CALLER)) == 2  # the receipt and the portal code, nothing else


@pytest.mark.parametrize("caller", ["anonymous", LANDLINE])
def test_hidden_and_landline_numbers_never_get_an_sms(phone, tracking, wav, caller):
    phone.call(TRACKING, caller, wav, consent="share")
    phone.call(TRACKING, caller, hangup_before_message=True)
    assert Voicemail.objects.count() == 1
    assert not OutboxMessage.objects.filter(kind="sms").exists()


def test_stop_is_honoured_and_start_restarts(phone, tracking, wav):
    result = phone.text(TRACKING, CALLER, "Arrêt")
    assert (result.status, result.replies) == (200, [])
    phone.call(TRACKING, CALLER, wav, consent="share")
    phone.call(TRACKING, CALLER, hangup_before_message=True)
    assert sms_to(CALLER) == []
    # A request written while opted out is taken, but nothing is texted back.
    assert phone.text(TRACKING, CALLER, NEED).replies == []
    assert Voicemail.objects.filter(channel="sms").count() == 1
    assert phone.text(TRACKING, CALLER, "START").replies == [
        "Relais : vous recevrez de nouveau nos SMS. STOP pour les arrêter."]
    phone.call(TRACKING, CALLER, wav, consent="share")
    assert len(sms_to(CALLER)) == 2  # START's reply and the new receipt


# --- Missed call → invitation → a written request → OUI → routed ----------------------------


@pytest.fixture
def plumbers(settings, smtp):
    """The called plumber in Paris (TRACKING), plumbers nearby, an electrician nearby; the
    project's whole pipeline (fetch, normalise and transcribe have nothing to do)."""
    settings.RELAIS_PIPELINE = "relais.flow.PIPELINE"
    called = f.listing(*f.PARIS, email="appele@example.org", name="Plomberie Appelée")
    called.forward_number = f.FORWARD
    called.save(update_fields=["forward_number"])
    TrackingNumber.objects.create(e164=TRACKING, listing=called)
    near = [f.listing(*f.offset(*f.PARIS, north_km=km), email=f"plombier-{km}km@example.org",
                      radius=50) for km in (2, 4, 6)]
    f.listing(*f.offset(*f.PARIS, east_km=1), metiers=("electricien",),
              email="electricien@example.org", radius=50)
    return called, near, smtp


def hang_up_and_write(phone):
    result = phone.call(TRACKING, CALLER, hangup_before_message=True)
    assert result.errors == [] and result.recording_sid is None
    assert result.heard == [prompts.text("voicemail_intro")]
    call = Call.objects.get(call_sid=result.call_sid)
    assert (call.outcome, call.reason) == ("missed", "no-answer")
    [invitation] = sms_to(CALLER)
    assert invitation.sender == TRACKING  # from the number they dialled
    assert "sans laisser de message" in invitation.body
    assert not Voicemail.objects.exists()
    reply = phone.text(TRACKING, CALLER, NEED)
    assert reply.status == 200
    vm = Voicemail.objects.get()
    assert (vm.channel, vm.call, vm.caller_e164, vm.transcript) == ("sms", None, CALLER, NEED)
    [text] = reply.replies
    assert vm.reference in text and "Répondez OUI" in text
    drain()  # understanding and redaction run; routing waits for the answer
    vm.refresh_from_db()
    assert vm.status == "processing" and vm.consent_recorded_at is None
    assert not Delivery.objects.exists()
    return vm


def test_a_caller_who_hangs_up_writes_answers_oui_and_nearby_plumbers_get_it(phone, plumbers,
                                                                            client):
    called, near, smtp = plumbers
    vm = hang_up_and_write(phone)
    assert phone.text(TRACKING, CALLER, "Oui !").replies == [
        f"C'est noté : votre demande {vm.reference} pourra aussi être proposée à d'autres "
        "professionnels du même métier près de chez vous, sans votre numéro."]
    drain()
    vm.refresh_from_db()
    assert (vm.status, vm.consent, vm.metier_id, vm.intent) == (
        "done", "share", "plombier", "quote_request")
    for form in NUMBER_FORMS:
        assert form not in vm.redacted_text
    assert not vm.audio and not vm.extract
    got = recipients(smtp.mailbox)
    assert got == sorted(["appele@example.org", *[lst.notification_email for lst in near]])
    for message in smtp.mailbox.messages:
        body = smtp.mailbox.text(message)
        link = re.search(r"https?://\S+/r/\S+?/", body).group(0)
        page = client.get(urlsplit(link).path).content.decode()
        if message["To"] == "appele@example.org":
            assert "06 39 98 00 01" in page  # the called plumber has the caller's number
        else:
            assert "fuite d" in page
            for form in (*NUMBER_FORMS, "06 39 98 00 01", "0639980001"):
                assert form not in page and form not in body
    # The caller follows the portal link of the reply: their written request and who got it.
    portal = Client()
    portal.post(reverse("privacy:start"), {"reference": vm.reference, "number": CALLER})
    portal.post(reverse("privacy:code"), {"code": last_code(CALLER)})
    page = portal.get(reverse("privacy:message"))
    assert page.status_code == 200 and "fuite d" in page.content.decode()
    assert "Plomberie Appelée" in page.content.decode()
    # The called plumber reads it in their space, with the caller's number.
    pro = Client()
    pro.force_login(called.professional.user)
    own = vm.deliveries.get(kind="own")
    page = pro.get(reverse("space:message", args=[own.pk])).content.decode()
    assert "06 39 98 00 01" in page and "Bensaïd" in page


def test_without_oui_the_written_request_stays_private(phone, plumbers):
    _, _, smtp = plumbers
    vm = hang_up_and_write(phone)
    # No answer within the window (RELAIS_SMS_CONSENT_WAIT_SECONDS): private.
    Voicemail.objects.filter(pk=vm.pk).update(created_at=timezone.now() - timedelta(hours=2))
    callbacks.settle_stale()  # the periodic job settles it, and wakes the route step
    drain()
    vm.refresh_from_db()
    assert (vm.status, vm.consent) == ("done", "private")
    assert recipients(smtp.mailbox) == ["appele@example.org"]
    assert [d.kind for d in vm.deliveries.all()] == ["own"]
    # A late "OUI" changes nothing.
    [text] = phone.text(TRACKING, CALLER, "OUI").replies
    assert "déjà été traitée" in text
    vm.refresh_from_db()
    assert vm.consent == "private"


def test_non_keeps_it_private_at_once(phone, plumbers):
    _, _, smtp = plumbers
    vm = hang_up_and_write(phone)
    [text] = phone.text(TRACKING, CALLER, "non").replies
    assert "ne sera transmise qu'à Plomberie Appelée" in text
    drain()
    vm.refresh_from_db()
    assert (vm.status, vm.consent) == ("done", "private")
    assert recipients(smtp.mailbox) == ["appele@example.org"]


def test_a_retried_inbound_sms_changes_nothing(phone, tracking, client):
    params = {"AccountSid": settings.TWILIO_ACCOUNT_SID, "MessageSid": "SM" + "a" * 32,
              "From": CALLER, "To": TRACKING, "Body": NEED}
    path = reverse("texts:inbound")
    first = post_signed(client, path, params)
    again = post_signed(client, path, params)
    assert first.status_code == again.status_code == 200
    assert "<Message>" in first.content.decode() and "<Message>" not in again.content.decode()
    assert Voicemail.objects.count() == 1


# --- Opening hours ------------------------------------------------------------------------


def test_an_after_hours_call_skips_the_forward_and_announces_the_hours(phone, tracking, wav):
    tomorrow = hours.DAYS[(timezone.localtime().weekday() + 1) % 7]
    tracking.listing.opening_hours = f"{tomorrow} 08:00-12:00 14:00-18:30"
    tracking.listing.save(update_fields=["opening_hours"])
    result = phone.call(TRACKING, CALLER, wav, consent="private")
    assert result.errors == []
    assert result.dialed is None  # nobody was rung
    day = hours.DAY_NAMES[hours.DAYS.index(tomorrow)]
    assert result.heard[0] == (f"Bonjour. Ce professionnel est actuellement fermé. Il est "
                               f"ouvert le {day} de 8 h à 12 h et de 14 h à 18 h 30.")
    assert result.heard[1:3] == [prompts.text("voicemail_intro"), "[bip]"]
    call = Call.objects.get(call_sid=result.call_sid)
    assert (call.outcome, call.reason) == ("voicemail", "after_hours")
    assert Voicemail.objects.get().reference == result.voicemail_reference


def test_within_the_opening_hours_the_call_is_forwarded(phone, tracking):
    tracking.listing.opening_hours = "lun-dim 00:00-24:00"
    tracking.listing.save(update_fields=["opening_hours"])
    result = phone.call(TRACKING, CALLER, answer="answer")
    assert result.dialed == f.FORWARD and result.heard == []


URGENT = ("Bonjour, c'est urgent, j'ai une grosse fuite d'eau sous l'évier, ça inonde la "
          "cuisine, pouvez-vous venir ce soir ? Je suis Nadia Bensaïd, au 06 12 34 56 78.")


def test_an_urgent_request_after_hours_is_texted_to_the_opted_in_recipients(phone, plumbers):
    """A deaf caller writes without calling first, at night; the plumbers routing chose
    who opted in to urgent SMS get it on their mobile, redacted, with their link."""
    called, near, _ = plumbers
    tomorrow = hours.DAYS[(timezone.localtime().weekday() + 1) % 7]
    called.opening_hours = f"{tomorrow} 08:00-18:00"
    called.save(update_fields=["opening_hours"])
    for listing, number, opted_in in ((near[0], "+33611111111", True),
                                      (near[1], "+33622222222", False),
                                      (near[2], "+33145678901", True)):  # a landline
        listing.forward_number, listing.urgent_sms = number, opted_in
        listing.save(update_fields=["forward_number", "urgent_sms"])
    assert len(phone.text(TRACKING, CALLER, URGENT).replies) == 1
    phone.text(TRACKING, CALLER, "OUI")
    drain()
    vm = Voicemail.objects.get()
    assert (vm.status, vm.urgency, vm.consent) == ("done", "urgent", "share")
    [push] = sms_to("+33611111111")
    assert "/r/" in push.body and "fuite" in push.body
    for form in (*NUMBER_FORMS, "06 39 98 00 01", CALLER, vm.reference):
        assert form not in push.body
    assert sms_to("+33622222222") == [] and sms_to("+33145678901") == []
    urgent.urgent_sms(vm)  # run again: at most once per recipient
    assert len(sms_to("+33611111111")) == 1
    # Within the called listing's hours, nothing is pushed.
    called.opening_hours = ""
    called.save(update_fields=["opening_hours"])
    UrgentPush.objects.all().delete()
    urgent.urgent_sms(Voicemail.objects.get())
    assert len(sms_to("+33611111111")) == 1
