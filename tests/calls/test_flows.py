"""Complete calls through the real webhooks, with the local phone playing the provider."""

import pytest

from relais.calls import prompts
from relais.calls.models import BlockedCaller, Call, TrackingNumber
from relais.voicemail.models import PipelineStep, Voicemail
from tests.factories import FORWARD, TRACKING, make_listing
from tests.factories import PHONE_CALLER as CALLER

pytestmark = pytest.mark.django_db

INTRO = prompts.text("voicemail_intro")
QUESTION = prompts.text("consent_question")


def spoken(reference: str) -> str:
    return prompts.text("reference", digits=prompts.spell_digits(reference))


def test_answered_call_is_logged_and_leaves_no_message(phone, tracking):
    result = phone.call(TRACKING, CALLER, answer="answer")
    assert result.errors == []
    assert result.dialed == FORWARD
    assert result.heard == []
    assert result.voicemail_reference is None
    call = Call.objects.get(call_sid=result.call_sid)
    assert call.outcome == Call.Outcome.ANSWERED
    assert call.listing == tracking.listing
    assert call.tracking_number == tracking
    assert call.caller_e164 == CALLER
    assert call.dial_status == "completed" and call.dial_duration > 0
    assert call.ended_at is not None
    assert not Voicemail.objects.exists()


@pytest.mark.parametrize("consent", ["share", "private"])
def test_no_answer_message_with_consent(phone, tracking, wav, consent):
    result = phone.call(TRACKING, CALLER, wav, answer="no-answer", consent=consent)
    assert result.errors == []
    vm = Voicemail.objects.get()
    assert result.voicemail_reference == vm.reference
    assert result.heard == [INTRO, "[bip]", QUESTION, prompts.text(f"consent_{consent}"),
                            spoken(vm.reference)]
    assert vm.consent == consent
    assert vm.consent_recorded_at is not None
    assert vm.listing == tracking.listing
    assert vm.caller_e164 == CALLER
    assert vm.recording_sid == result.recording_sid
    assert vm.recording_url.endswith(f"/telephony/local/recordings/{result.recording_sid}")
    assert vm.recording_duration == 2
    assert vm.status == Voicemail.Status.PROCESSING
    assert list(PipelineStep.objects.filter(voicemail=vm).values_list("name", "status")) == [
        ("fetch", "pending")
    ]
    call = vm.call
    assert call.call_sid == result.call_sid
    assert (call.outcome, call.dial_status, call.reason) == ("voicemail", "no-answer", "no-answer")
    assert call.ended_at is not None


def test_no_input_after_the_question_means_private(phone, tracking, wav):
    result = phone.call(TRACKING, CALLER, wav, consent="none")
    vm = Voicemail.objects.get()
    assert vm.consent == Voicemail.Consent.PRIVATE and vm.consent_recorded_at is not None
    assert result.heard[-2:] == [prompts.text("consent_private"), spoken(vm.reference)]
    gather = [params for url, params in result.sent if url.endswith("/twilio/gather")]
    assert len(gather) == 1 and "Digits" not in gather[0]


def test_hanging_up_during_the_recording_keeps_a_private_message(phone, tracking, wav):
    result = phone.call(TRACKING, CALLER, wav, consent="share", hangup_during_recording=True)
    assert result.errors == []
    assert result.heard == [INTRO, "[bip]"]  # no question, no reference: nobody is there
    assert not any(url.endswith("/twilio/gather") for url, _ in result.sent)
    vm = Voicemail.objects.get()
    assert vm.consent == Voicemail.Consent.PRIVATE and vm.consent_recorded_at is not None
    assert vm.recording_sid == result.recording_sid
    assert vm.status == Voicemail.Status.PROCESSING  # the message itself is processed
    assert vm.call.outcome == Call.Outcome.VOICEMAIL


def test_busy_professional_gets_a_message_too(phone, tracking, wav):
    result = phone.call(TRACKING, CALLER, wav, answer="busy", consent="share")
    vm = Voicemail.objects.get()
    assert result.voicemail_reference == vm.reference
    assert vm.consent == "share"
    assert (vm.call.outcome, vm.call.reason) == ("voicemail", "busy")


def test_late_recording_callback_converges_to_the_same_message(phone, tracking, wav):
    result = phone.call(TRACKING, CALLER, wav, consent="share", recording_callback="late")
    assert result.errors == []
    urls = [url.rsplit("/", 1)[-1] for url, _ in result.sent]
    assert urls == ["voice", "dial", "record", "gather", "recording-status", "status"]
    vm = Voicemail.objects.get()
    assert vm.reference == result.voicemail_reference
    assert vm.consent == "share" and vm.recording_sid == result.recording_sid
    assert vm.status == Voicemail.Status.PROCESSING
    assert PipelineStep.objects.filter(voicemail=vm).count() == 1


@pytest.mark.parametrize("case", ["unknown", "unassigned", "unclaimed", "released",
                                  "no_forward_number", "forward_loop"])
def test_calls_that_cannot_be_put_through_are_refused_politely(phone, db, case):
    expected_prompt, reason = "unavailable", case
    if case == "unknown":
        expected_prompt, reason = "unknown_number", "unknown_number"
    elif case == "unassigned":
        TrackingNumber.objects.create(e164=TRACKING)
    elif case == "unclaimed":
        TrackingNumber.objects.create(e164=TRACKING, listing=make_listing(status="pending"))
    elif case == "no_forward_number":  # missing, or not a number one can dial
        TrackingNumber.objects.create(e164=TRACKING, listing=make_listing(forward="à voir"))
    elif case == "forward_loop":  # a tracking number (saved before they were refused)
        TrackingNumber.objects.create(e164=TRACKING, listing=make_listing(forward="01 99 00 00 02"))
        TrackingNumber.objects.create(e164="+33199000002")
        reason = "no_forward_number"
    elif case == "released":
        from django.utils import timezone

        TrackingNumber.objects.create(e164=TRACKING, released_at=timezone.now())
        expected_prompt, reason = "unknown_number", "unknown_number"
    result = phone.call(TRACKING, CALLER, b"unused")
    assert result.heard == [prompts.text(expected_prompt)]
    assert result.dialed is None
    call = Call.objects.get(call_sid=result.call_sid)
    assert (call.outcome, call.reason) == ("rejected", reason)
    assert call.ended_at is not None
    assert not Voicemail.objects.exists()


def test_blocked_caller_is_refused(phone, tracking):
    BlockedCaller.objects.create(e164=CALLER, reason="harcèlement")
    result = phone.call(TRACKING, CALLER, b"unused")
    assert result.heard == [prompts.text("blocked")] and result.dialed is None
    assert Call.objects.get().reason == "blocked"
    # Another caller still gets through.
    assert phone.call(TRACKING, "+33639980002", answer="answer").dial_status == "completed"


def test_rate_limited_caller(phone, tracking, settings):
    settings.RELAIS_CALLER_RATE_LIMIT = 2
    for _ in range(2):
        assert phone.call(TRACKING, CALLER, answer="answer").dialed == FORWARD
    third = phone.call(TRACKING, CALLER, answer="answer")
    assert third.heard == [prompts.text("rate_limited")] and third.dialed is None
    assert Call.objects.get(call_sid=third.call_sid).reason == "rate_limited"
    assert phone.call(TRACKING, "+33639980002", answer="answer").dialed == FORWARD


def test_withheld_callers_may_leave_a_message_and_share_one_counter(phone, tracking, wav,
                                                                     settings):
    settings.RELAIS_CALLER_RATE_LIMIT = 2
    result = phone.call(TRACKING, "anonymous", wav, consent="private")
    assert result.voicemail_reference
    vm = Voicemail.objects.get()
    assert vm.caller_e164 == "" and vm.call.caller_e164 == ""
    dial = [p for url, p in result.sent if url.endswith("/twilio/voice")]
    assert dial and dial[0]["From"] == "anonymous"
    assert phone.call(TRACKING, "+266696687", answer="answer").dialed == FORWARD
    refused = phone.call(TRACKING, "anonymous", answer="answer")
    assert refused.heard == [prompts.text("rate_limited")]


def test_operator_prompt_recording_replaces_the_spoken_announcement(phone, tracking, wav,
                                                                   client):
    from django.core.files.base import ContentFile

    from relais.calls.models import Prompt

    prompt = Prompt(key="voicemail_intro")
    prompt.audio.save("annonce.wav", ContentFile(wav))
    result = phone.call(TRACKING, CALLER, wav, consent="share")
    assert result.heard[0].startswith("[annonce enregistrée : http://")
    assert "/telephony/prompts/voicemail_intro?v=" in result.heard[0]
    assert result.voicemail_reference
    # The provider fetches it without credentials: a prompt is not personal data.
    response = client.get("/telephony/prompts/voicemail_intro")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == wav
    assert client.get("/telephony/prompts/blocked").status_code == 404
