"""The caller portal: proving the reference and the number, then seeing the message."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from relais.core.models import AuditEvent, OutboxMessage
from relais.privacy import services
from relais.privacy.models import PortalChallenge
from tests.factories import CALLER, CALLER_FR, TRANSCRIPT
from tests.helpers import last_code

pytestmark = pytest.mark.django_db

START, CODE, MESSAGE = reverse("privacy:start"), reverse("privacy:code"), \
    reverse("privacy:message")


def ask(client, reference, number=CALLER_FR):
    return client.post(START, {"reference": reference, "number": number})


def sms_count():
    return OutboxMessage.objects.filter(kind="sms").count()


def test_the_right_reference_and_number_open_the_message(client, shared_message):
    vm, _, _ = shared_message
    response = ask(client, f"{vm.reference[:4]} {vm.reference[4:]}", CALLER_FR)
    assert response.status_code == 302 and response["Location"] == CODE
    code = last_code(CALLER)
    stored = PortalChallenge.objects.get()
    assert stored.voicemail_id == vm.pk and code not in stored.code_hash  # hashed only
    response = client.post(CODE, {"code": code})
    assert response.status_code == 302 and response["Location"] == MESSAGE
    page = client.get(MESSAGE)
    html = page.content.decode()
    assert page.status_code == 200 and page["Cache-Control"].startswith("private, no-store")
    assert "Nadia Bensa" in html and "fuite d" in html  # their own transcript
    for name in ("Plomberie Appelée", "Plomberie Voisine", "Plomberie Lointaine"):
        assert name in html
    assert reverse("privacy:audio") in html
    audio = client.get(reverse("privacy:audio"))
    assert audio.status_code == 200 and b"".join(audio.streaming_content)[:4] == b"RIFF"
    actions = list(AuditEvent.objects.filter(voicemail_id=vm.pk, actor_kind="caller")
                   .values_list("action", flat=True))
    assert sorted(actions) == ["audio.read", "portal.opened", "transcript.read"]
    # The journal shown to the caller lists those reads.
    assert "ouverture de votre espace appelant" in client.get(MESSAGE).content.decode()


def test_a_wrong_reference_or_number_gets_the_same_answer_and_no_sms(client, shared_message):
    vm, _, _ = shared_message
    other_ref = str(int(vm.reference) + 1 if vm.reference != "99999999" else 10000000)
    answers = []
    for reference, number in ((vm.reference, CALLER_FR), (other_ref, CALLER_FR),
                              (vm.reference, "07 00 00 00 01")):
        c = client.__class__()
        response = ask(c, reference, number)
        follow = c.get(response["Location"])
        answers.append((response.status_code, response["Location"],
                        escape(services.CODE_SENT) in follow.content.decode()))
    assert answers == [(302, CODE, True)] * 3
    assert sms_count() == 1  # only the real caller got a code
    # The wrong pair cannot be opened, whatever the code.
    c = client.__class__()
    ask(c, other_ref, CALLER_FR)
    code = last_code(CALLER)
    response = c.post(CODE, {"code": code})
    assert response.status_code == 400 and "Code incorrect" in response.content.decode()
    assert c.get(MESSAGE).status_code == 302


def test_malformed_input_is_refused_clearly(client, shared_message):
    response = ask(client, "1234", CALLER_FR)
    assert response.status_code == 400 and "8 chiffres" in response.content.decode()
    response = ask(client, "12345678", "pas un numéro")
    assert response.status_code == 400 and "pas valide" in response.content.decode()
    assert PortalChallenge.objects.count() == 0 and sms_count() == 0


def test_wrong_codes_lock_the_challenge_after_the_limit(client, shared_message, settings):
    vm, _, _ = shared_message
    ask(client, vm.reference)
    code = last_code(CALLER)
    wrong = f"{(int(code) + 1) % 1000000:06d}"
    messages = []
    for _ in range(settings.RELAIS_OTP_MAX_ATTEMPTS):
        messages.append(client.post(CODE, {"code": wrong}).content.decode())
    assert "Il vous reste 4 essais" in messages[0]
    assert "Il vous reste 1 essai." in messages[3]
    assert "bloqué" in messages[4]
    # Even the right code no longer works: the challenge is locked.
    response = client.post(CODE, {"code": code})
    assert response.status_code == 400 and "bloqué" in response.content.decode()
    assert client.get(MESSAGE).status_code == 302
    assert PortalChallenge.objects.get().attempts == settings.RELAIS_OTP_MAX_ATTEMPTS


def test_an_expired_code_is_refused(client, shared_message, settings):
    vm, _, _ = shared_message
    ask(client, vm.reference)
    code = last_code(CALLER)
    PortalChallenge.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.post(CODE, {"code": code})
    assert response.status_code == 400 and "expiré" in response.content.decode()
    assert client.get(MESSAGE).status_code == 302


def test_a_code_works_once(client, shared_message):
    vm, _, _ = shared_message
    ask(client, vm.reference)
    challenge = PortalChallenge.objects.get()
    code = last_code(CALLER)
    services.verify_code(challenge.pk, code)
    with pytest.raises(services.PortalError, match="déjà été utilisé"):
        services.verify_code(challenge.pk, code)


def test_codes_per_reference_and_number_are_limited_per_hour(client, shared_message, settings):
    vm, _, _ = shared_message
    limit = settings.RELAIS_OTP_MAX_SENDS_PER_HOUR
    for _ in range(limit):
        assert ask(client, vm.reference).status_code == 302
    response = ask(client, vm.reference)
    assert response.status_code == 400 and "Trop de demandes" in response.content.decode()
    assert sms_count() == limit
    # A reference that does not exist is limited exactly the same way (nothing revealed).
    other = "10000000" if vm.reference != "10000000" else "10000001"
    codes = [ask(client, other).status_code for _ in range(limit + 1)]
    assert codes == [302] * limit + [400]
    # An hour later the caller may ask again.
    later = timezone.now() + timedelta(hours=1, seconds=1)
    for _ in range(settings.RELAIS_OTP_MAX_SENDS_PER_DAY - limit):
        services.request_code(vm.reference, CALLER_FR, now=later)
    assert sms_count() == settings.RELAIS_OTP_MAX_SENDS_PER_DAY
    # …up to the daily cap, which bounds guessing over weeks.
    with pytest.raises(services.PortalError, match="aujourd'hui"):
        services.request_code(vm.reference, CALLER_FR, now=later + timedelta(hours=2))
    services.request_code(vm.reference, CALLER_FR, now=later + timedelta(days=1))
    assert sms_count() == settings.RELAIS_OTP_MAX_SENDS_PER_DAY + 1


def test_the_verified_session_opens_only_its_own_message_and_expires(client, shared_message,
                                                                      settings):
    vm, _, _ = shared_message
    ask(client, vm.reference)
    client.post(CODE, {"code": last_code(CALLER)})
    assert client.get(MESSAGE).status_code == 200
    session = client.session
    data = session["relais.portal"]
    assert data == {"voicemail": str(vm.pk), "until": data["until"]}
    data["until"] = 0
    session["relais.portal"] = data
    session.save()
    response = client.get(MESSAGE)
    assert response.status_code == 302 and response["Location"] == START
    assert client.get(reverse("privacy:audio")).status_code == 302


def test_the_session_key_changes_when_the_caller_is_verified(client, shared_message):
    vm, _, _ = shared_message
    ask(client, vm.reference)
    before = client.session.session_key
    client.post(CODE, {"code": last_code(CALLER)})
    assert client.session.session_key != before


def test_the_transcript_read_is_audited_on_every_page_view(client, shared_message):
    vm, _, _ = shared_message
    ask(client, vm.reference)
    client.post(CODE, {"code": last_code(CALLER)})
    for _ in range(2):
        assert TRANSCRIPT[:20] in client.get(MESSAGE).content.decode().replace("&#x27;", "'")
    assert AuditEvent.objects.filter(voicemail_id=vm.pk, actor_kind="caller",
                                     action="transcript.read").count() == 2


def test_an_sms_failure_gives_the_usual_answer_and_is_logged(client, shared_message, settings,
                                                             caplog, monkeypatch):
    """The provider is down: the caller gets the same answer as always (an error only for
    matching pairs would reveal who left a message); the operator finds it in the logs."""
    vm, _, _ = shared_message
    settings.RELAIS_SMS_BACKEND = "twilio"
    settings.TWILIO_ACCOUNT_SID = "AC" + "9" * 32
    from relais.core import sms

    real = sms.TwilioBackend.client

    def unreachable(self):
        c = real.fget(self)
        c.api.base_url = "http://127.0.0.1:9"
        return c

    # The real Twilio client, pointed at a port where nothing answers.
    monkeypatch.setattr(sms.TwilioBackend, "client", property(unreachable))
    response = ask(client, vm.reference)
    assert response.status_code == 302 and response["Location"] == CODE
    assert "could not be sent" in caplog.text
    assert not AuditEvent.objects.filter(action="portal.code_sent").exists()


def test_code_requests_per_client_network_are_limited(client, shared_message, settings):
    vm, _, _ = shared_message
    cache.clear()
    settings.RELAIS_PORTAL_MAX_REQUESTS_PER_NETWORK = 3
    here, elsewhere = "198.51.100.7", "198.51.101.7"  # two networks (/24)

    def ask_from(address, reference):
        return client.post(START, {"reference": reference, "number": CALLER_FR},
                           REMOTE_ADDR=address)

    for i in range(3):  # three wrong references
        assert ask_from(here, str(10_000_000 + i)).status_code == 302
    refused = ask_from(here, vm.reference)  # even the right pair, from this network
    assert refused.status_code == 429
    assert "Trop de demandes de code depuis cette connexion" in refused.content.decode()
    assert sms_count() == 0 and PortalChallenge.objects.count() == 3
    # Another network is not affected.
    assert ask_from(elsewhere, vm.reference).status_code == 302 and sms_count() == 1
