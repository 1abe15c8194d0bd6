"""The plain rules behind SMS: segments, keywords, French mobiles, opening hours, and the
transport's refusals (opted-out numbers, absurd lengths)."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.urls import reverse

from relais.core import phones, sms
from relais.core.models import OutboxMessage
from relais.pros import hours
from relais.pros.forms import ListingSettingsForm
from relais.voicemail.models import Voicemail
from tests.factories import PHONE_CALLER as CALLER
from tests.factories import TRACKING
from tests.helpers import post_signed

PARIS = ZoneInfo("Europe/Paris")


@pytest.mark.parametrize(("body", "encoding", "segments"), [
    ("a" * 160, "GSM-7", 1),
    ("a" * 161, "GSM-7", 2),  # 153 a part once concatenated
    ("é" * 306, "GSM-7", 2),
    ("é" * 307, "GSM-7", 3),
    ("€" * 80, "GSM-7", 1),  # the extension table: two septets each
    ("€" * 81, "GSM-7", 2),
    ("ç" + "a" * 69, "UCS-2", 1),  # one character outside GSM-7 makes it all UCS-2
    ("ç" + "a" * 70, "UCS-2", 2),  # 67 a part
    ("🔧" * 35, "UCS-2", 1),  # outside the BMP: two code units each
    ("🔧" * 36, "UCS-2", 2),
])
def test_segments(body, encoding, segments):
    assert sms.encoding(body) == encoding
    assert sms.segments(body) == segments


@pytest.mark.parametrize(("body", "word"), [(" stop ", "STOP"), ("Arrêt.", "ARRET"),
                                            ("oui !", "OUI"), ("Non", "NON")])
def test_keywords(body, word):
    assert sms.keyword(body) == word


@pytest.mark.parametrize(("number", "mobile"), [
    ("+33612345678", True), ("+33712345678", True), ("+33145678901", False),
    ("+33987654321", False), ("+33899123456", False), ("", False), ("+447700900123", False),
    ("+3361234567", False),
])
def test_only_french_mobiles_are_texted(number, mobile):
    assert phones.is_french_mobile(number) is mobile


@pytest.mark.django_db
def test_the_transport_refuses_opted_out_numbers_and_absurd_lengths():
    sms.send_sms("+33612345678", "Bonjour")
    sms.opt_out("+33612345678", "STOP")
    with pytest.raises(sms.OptedOut):
        sms.send_sms("+33612345678", "Bonjour")
    with pytest.raises(sms.TooLong):
        sms.send_sms("+33699999999", "a" * (153 * sms.MAX_SEGMENTS + 1))
    with pytest.raises(sms.SMSError):
        sms.send_sms("+33699999999", "   ")
    sms.send_sms("+33699999999", "a" * 400)
    assert list(OutboxMessage.objects.values_list("to", "segments")) == [
        ("+33699999999", 3), ("+33612345678", 1)]
    assert sms.opt_in("+33612345678")
    sms.send_sms("+33612345678", "De retour")


def test_opening_hours():
    text = "lun-ven 8h-12h 14:00-18:30; sam 09:00-12:00"
    assert hours.normalise(text) == "lun-ven 08:00-12:00 14:00-18:30; sam 09:00-12:00"
    assert hours.normalise("mer,lun 10h-24h") == "lun,mer 10:00-24:00"
    assert hours.describe(text) == ("du lundi au vendredi de 8 h à 12 h et de 14 h à 18 h 30"
                                    " ; le samedi de 9 h à 12 h")
    tuesday = datetime(2026, 12, 1, tzinfo=PARIS)
    assert hours.is_open(text, tuesday.replace(hour=9))
    assert not hours.is_open(text, tuesday.replace(hour=12, minute=30))
    assert not hours.is_open(text, tuesday.replace(hour=18, minute=30))
    assert not hours.is_open(text, datetime(2026, 12, 6, 10, tzinfo=PARIS))  # Sunday
    assert hours.is_open("", tuesday) and hours.is_open("n'importe quoi", tuesday)
    assert hours.describe("lun,mer 10:00-24:00") == "le lundi et le mercredi de 10 h à minuit"


@pytest.mark.parametrize("bad", ["lundi", "lun 18:00-08:00", "xyz 08:00-12:00",
                                 "lun 25:00-26:00", "ven-lun 08:00-12:00", "lun 08:00"])
def test_unreadable_hours_get_a_clear_french_error(bad):
    with pytest.raises(hours.HoursError):
        hours.parse(bad)


@pytest.mark.django_db
def test_the_professional_edits_the_hours_in_the_listing_settings():
    form = ListingSettingsForm(data={"service_radius_km": 20, "notify": "instant",
                                     "opening_hours": "lun-ven 8h-18h"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["opening_hours"] == "lun-ven 08:00-18:00"
    form = ListingSettingsForm(data={"service_radius_km": 20, "notify": "instant",
                                     "opening_hours": "lun 18h-8h"})
    assert not form.is_valid() and "à l'envers" in form.errors["opening_hours"][0]


@pytest.mark.django_db
def test_sms_conversations_are_purged_after_30_days(tracking):
    from datetime import timedelta

    from django.utils import timezone

    from relais.texts import services
    from relais.texts.models import InboundSms, Thread

    old = Thread.objects.create(caller_e164="+33612345678", tracking_number=tracking,
                                listing=tracking.listing)
    recent = Thread.objects.create(caller_e164="+33612345679", tracking_number=tracking,
                                   listing=tracking.listing)
    InboundSms.objects.create(message_sid="SM" + "c" * 32, thread=old)
    Thread.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=31))
    InboundSms.objects.update(created_at=timezone.now() - timedelta(days=31))
    sms.opt_out("+33612345678")
    assert services.purge() == 1
    assert list(Thread.objects.all()) == [recent] and not InboundSms.objects.exists()
    assert sms.opted_out("+33612345678")  # STOP is kept


@pytest.mark.django_db
@pytest.mark.parametrize("case", ["unsigned", "forged", "other_account", "withheld",
                                  "bad_sid", "too_long"])
def test_bad_inbound_sms_are_refused_and_change_nothing(client, tracking, case):
    params = {"AccountSid": settings.TWILIO_ACCOUNT_SID, "MessageSid": "SM" + "b" * 32,
              "From": CALLER, "To": TRACKING, "Body": "Une fuite."}
    path, extra, expected = reverse("texts:inbound"), {}, 400
    if case == "unsigned":
        extra, expected = {"signature": ""}, 403
    elif case == "forged":
        extra, expected = {"token": "not-the-token"}, 403
    elif case == "other_account":
        params["AccountSid"] = "AC" + "9" * 32
    elif case == "withheld":
        params["From"] = "anonymous"
    elif case == "bad_sid":
        params["MessageSid"] = "SM123"
    elif case == "too_long":
        params["Body"] = "x" * 1601
    assert post_signed(client, path, params, **extra).status_code == expected
    assert not Voicemail.objects.exists()
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db
def test_erasing_a_written_request_deletes_its_conversation(tracking):
    from relais.privacy import services as privacy
    from relais.texts.models import Thread

    vm = Voicemail.objects.create(channel="sms", listing=tracking.listing, caller_e164=CALLER,
                                  transcript="Une fuite sous l'évier.")
    Thread.objects.create(caller_e164=CALLER, tracking_number=tracking,
                          listing=tracking.listing, voicemail=vm, state="consent")
    other = Thread.objects.create(caller_e164="+33612345670", tracking_number=tracking,
                                  listing=tracking.listing)
    privacy.erase(vm)
    vm.refresh_from_db()
    assert (vm.status, vm.transcript, vm.caller_e164) == ("erased", "", "")
    assert list(Thread.objects.all()) == [other]


@pytest.mark.django_db
def test_the_demo_outbox_shows_an_sms_its_sender_and_segments(
        client, phone, tracking, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # sent once the callback commits
        phone.call(TRACKING, CALLER, hangup_before_message=True)  # → the invitation
    html = client.get("/demo/boite-d-envoi/?type=sms").content.decode()
    invitation = OutboxMessage.objects.get(kind="sms", to=CALLER)
    assert invitation.body[:40] in html.replace("&#x27;", "'")
    assert f"de {TRACKING}" in html and f"{invitation.segments} segment(s)" in html


@pytest.mark.django_db
def test_blocked_callers_and_floods_of_requests_are_refused(phone, tracking, settings):
    from relais.calls.models import BlockedCaller

    settings.RELAIS_CALLER_RATE_LIMIT = 2
    BlockedCaller.objects.create(e164="+33612345670", reason="harcèlement")
    assert phone.text(TRACKING, "+33612345670", "Une fuite sous l'évier.").replies == []
    assert not Voicemail.objects.exists()
    for n in range(2):
        phone.text(TRACKING, CALLER, f"Demande {n} : une fuite sous l'évier.")
        phone.text(TRACKING, CALLER, "NON")
    [refused] = phone.text(TRACKING, CALLER, "Demande 3 : une fuite sous l'évier.").replies
    assert "nombreuses demandes" in refused
    assert Voicemail.objects.count() == 2


@pytest.mark.django_db
def test_a_second_text_instead_of_an_answer_is_a_new_request_and_oui_merci_is_yes(phone,
                                                                                  tracking):
    phone.text(TRACKING, CALLER, "Une fuite sous l'évier.")
    [reply] = phone.text(TRACKING, CALLER, "Et la chasse d'eau fuit aussi.").replies
    first, second = Voicemail.objects.order_by("created_at")
    assert second.reference in reply and second.transcript == "Et la chasse d'eau fuit aussi."
    assert (first.consent, first.consent_recorded_at is not None) == ("private", True)
    assert second.consent_recorded_at is None
    [reply] = phone.text(TRACKING, CALLER, "Oui merci !").replies
    second.refresh_from_db()
    assert second.consent == "share" and "pourra aussi être proposée" in reply
    assert Voicemail.objects.count() == 2
    # "OUI" to nothing is not a request.
    assert "Décrivez votre besoin" in phone.text(TRACKING, CALLER, "oui").replies[0]
    assert Voicemail.objects.count() == 2


@pytest.mark.django_db
def test_the_operator_edits_the_hours_in_the_admin(client, operator, tracking):
    client.force_login(operator)
    listing = tracking.listing
    url = f"/admin/pros/listing/{listing.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200 and 'name="opening_hours"' in page.content.decode()
    form = {"establishment": listing.establishment_id, "professional": listing.professional_id,
            "status": "approved", "forward_number": "06 12 34 56 78",
            "service_radius_km": 30, "notify": "instant", "opening_hours": "lun 18h-8h"}
    page = client.post(url, form)
    assert page.status_code == 200 and "Plage horaire à l&#x27;envers" in page.content.decode()
    form["opening_hours"] = "lun-sam 7h-19h"
    page = client.post(url, form)
    assert page.status_code == 302, page.context["adminform"].form.errors
    listing.refresh_from_db()
    assert listing.opening_hours == "lun-sam 07:00-19:00"


@pytest.mark.django_db
@pytest.mark.parametrize(("recording", "expected"), [("completed", "receipt"),
                                                     ("absent", "invitation")])
def test_a_recording_reported_after_the_call_decides_receipt_or_invitation(
        client, tracking, recording, expected, django_capture_on_commit_callbacks):
    """Twilio may report the recording after the call's end: nothing is texted until it
    does; then the receipt, or — a recording without sound — the invitation."""
    from tests.helpers import call_params

    def post(name, **extra):
        with django_capture_on_commit_callbacks(execute=True):
            response = post_signed(client, reverse(name), call_params(**extra))
        assert response.status_code in (200, 204), response.content
        return response

    post("calls:voice")
    post("calls:dial", DialCallStatus="no-answer", DialCallDuration="0")
    post("voicemail_webhooks:record", RecordingSid="RE" + "d" * 32, RecordingDuration="3",
         Digits="#")
    post("calls:status", CallStatus="completed", CallDuration="30")
    assert not OutboxMessage.objects.filter(kind="sms").exists()  # the recording is awaited
    url = f"http://127.0.0.1:8000/telephony/local/recordings/RE{'d' * 32}"
    extra = {"RecordingUrl": url, "RecordingDuration": "3"} if recording == "completed" else {}
    post("calls:recording_status", RecordingSid="RE" + "d" * 32, RecordingStatus=recording,
         **extra)
    [text] = OutboxMessage.objects.filter(kind="sms", to=CALLER)
    vm = Voicemail.objects.get()
    if expected == "receipt":
        assert vm.reference in text.body and text.sender == ""
    else:
        assert "sans laisser de message" in text.body and text.sender == TRACKING


@pytest.mark.parametrize(("body", "said"), [
    ("oui", "yes"), ("Oui merci !", "yes"), ("OK", "yes"), ("non merci", "no"),
    ("Non", "no"), ("Non urgent, fuite sous l'évier", ""),
    ("Oui bonjour, j'ai une fuite sous l'évier", ""), ("Une fuite", "")])
def test_only_a_short_text_is_an_answer(body, said):
    from relais.texts.services import answer

    assert answer(sms.keyword(body)) == said


@pytest.mark.django_db
def test_a_long_text_starting_with_oui_or_non_is_a_new_request_not_an_answer(phone, tracking):
    phone.text(TRACKING, CALLER, "Une fuite sous l'évier.")
    [reply] = phone.text(TRACKING, CALLER, "Non urgent, la chasse d'eau fuit aussi.").replies
    first, second = Voicemail.objects.order_by("created_at")
    assert second.transcript == "Non urgent, la chasse d'eau fuit aussi."
    assert second.reference in reply
    assert (first.consent, second.consent_recorded_at) == ("private", None)
    phone.text(TRACKING, CALLER, "Oui bonjour, j'ai aussi une fuite au garage.")
    assert Voicemail.objects.count() == 3
    assert Voicemail.objects.order_by("created_at").last().transcript.startswith("Oui bonjour")


@pytest.mark.django_db
def test_sms_pumping_one_invitation_a_day_and_replies_only_to_french_mobiles(
        phone, tracking, settings, django_capture_on_commit_callbacks):
    for _ in range(3):  # hang up again and again: one invitation a day
        with django_capture_on_commit_callbacks(execute=True):
            phone.call(TRACKING, CALLER, hangup_before_message=True)
    assert OutboxMessage.objects.filter(kind="sms", to=CALLER).count() == 1
    # A foreign number writing: its request is kept, nothing is texted back.
    foreign = "+447700900123"
    assert phone.text(TRACKING, foreign, "Une fuite sous l'évier.").replies == []
    assert Voicemail.objects.get(caller_e164=foreign).transcript == "Une fuite sous l'évier."
    # Replies are counted: at most 3 × the callers' limit an hour to one number.
    settings.RELAIS_CALLER_RATE_LIMIT = 1
    other = "+33612345671"
    replies = [phone.text(TRACKING, other, "oui").replies for _ in range(4)]
    assert [len(r) for r in replies] == [1, 1, 1, 0]
