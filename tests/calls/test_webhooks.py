"""Webhook security, parameter validation, idempotency and callback order."""

import html
from datetime import timedelta

import pytest
from django.utils import timezone
from twilio.request_validator import RequestValidator

from relais.calls import prompts
from relais.calls.models import Call
from relais.voicemail import callbacks, consent
from relais.voicemail.models import PipelineStep, Voicemail
from tests.factories import PHONE_CALLER as CALLER
from tests.factories import TRACKING
from tests.helpers import CALL_SID, PUBLIC, task_count
from tests.helpers import call_params as base
from tests.helpers import post_signed as post

pytestmark = pytest.mark.django_db

RECORDING_SID = "RE" + "2" * 32


def recording(status="completed", sid=RECORDING_SID):
    from django.conf import settings

    return {"AccountSid": settings.TWILIO_ACCOUNT_SID, "CallSid": CALL_SID,
            "RecordingSid": sid, "RecordingStatus": status, "RecordingDuration": "7",
            "RecordingUrl": f"{PUBLIC}/telephony/local/recordings/{sid}"}


def missed_call(client):
    assert post(client, "/telephony/twilio/voice", base()).status_code == 200
    r = post(client, "/telephony/twilio/dial", base(DialCallStatus="no-answer"))
    assert r.status_code == 200 and b"<Record " in r.content


def state():
    return (
        list(Call.objects.values_list("call_sid", "outcome", "reason", "ended_at")),
        list(Voicemail.objects.values_list("reference", "consent", "consent_recorded_at",
                                           "recording_sid", "status")),
        PipelineStep.objects.count(),
    )


def test_twiml_of_an_incoming_call(client, tracking):
    r = post(client, "/telephony/twilio/voice", base())
    assert r.status_code == 200 and r["Content-Type"].startswith("text/xml")
    body = r.content.decode()
    assert (f'<Dial action="{PUBLIC}/telephony/twilio/dial" callerId="{CALLER}" '
            f'method="POST" timeout="20">+33639989999</Dial>') in body
    r = post(client, "/telephony/twilio/dial", base(DialCallStatus="no-answer"))
    body = r.content.decode()
    assert '<Say language="fr-FR">' in body
    assert (f'<Record action="{PUBLIC}/telephony/twilio/record" finishOnKey="#" '
            'maxLength="120" method="POST" playBeep="true" '
            f'recordingStatusCallback="{PUBLIC}/telephony/twilio/recording-status" '
            'recordingStatusCallbackEvent="completed absent" '
            'recordingStatusCallbackMethod="POST" />') in body


@pytest.mark.parametrize("alteration", ["param", "url", "query", "token", "unsigned", "garbage"])
def test_forged_or_unsigned_requests_are_refused_and_change_nothing(client, tracking,
                                                                    alteration):
    params = base()
    signed = RequestValidator("relais-local-phone-token").compute_signature(
        PUBLIC + "/telephony/twilio/voice", params)
    kwargs = {}
    if alteration == "param":  # signed, then one parameter changed
        kwargs["signature"] = signed
        params = {**params, "From": "+33639980099"}
    elif alteration == "url":
        kwargs["url"] = "https://relais.example.org/telephony/twilio/voice"
    elif alteration == "query":
        kwargs["signature"] = signed
    elif alteration == "token":
        kwargs["token"] = "not-the-token"
    elif alteration == "unsigned":
        kwargs["signature"] = ""
    else:
        kwargs["signature"] = "AAAA"
    path = "/telephony/twilio/voice" + ("?x=1" if alteration == "query" else "")
    r = post(client, path, params, **kwargs)
    assert r.status_code == 403
    assert state() == ([], [], 0)


def test_the_signature_is_checked_against_the_public_url_not_the_host(client, tracking,
                                                                      settings):
    settings.RELAIS_PUBLIC_URL = "https://relais.example.org"
    settings.ALLOWED_HOSTS = ["relais.example.org", "10.0.0.5"]
    # Behind a proxy Relais sees http://10.0.0.5:8080; Twilio signed the public URL.
    r = post(client, "/telephony/twilio/voice", base(),
             url="https://relais.example.org/telephony/twilio/voice", HTTP_HOST="10.0.0.5:8080")
    assert r.status_code == 200 and b"<Dial" in r.content
    r = post(client, "/telephony/twilio/voice", base(CallSid="CA" + "3" * 32),
             url="http://10.0.0.5:8080/telephony/twilio/voice", HTTP_HOST="10.0.0.5:8080")
    assert r.status_code == 403
    assert Call.objects.count() == 1


def test_outside_demo_mode_the_public_token_signs_nothing(client, tracking, settings):
    """The token written in the source (the settings' default) is trusted in demo mode
    only: a production left without TWILIO_AUTH_TOKEN refuses every webhook signed with it,
    and an empty token (whose HMAC anybody computes) is never trusted."""
    public_token = "relais-local-phone-token"  # as written in the source
    settings.RELAIS_DEMO = False
    assert settings.TWILIO_AUTH_TOKEN == public_token  # the misconfigured production
    r = post(client, "/telephony/twilio/voice", base(), token=public_token)
    assert r.status_code == 403
    settings.TWILIO_AUTH_TOKEN = ""
    r = post(client, "/telephony/twilio/voice", base(), signature=RequestValidator(
        "").compute_signature(PUBLIC + "/telephony/twilio/voice", base()))
    assert r.status_code == 403
    assert state() == ([], [], 0)
    # With the provider's own token, the same webhook is answered.
    settings.TWILIO_AUTH_TOKEN = "the-token-from-the-provider-console"
    assert post(client, "/telephony/twilio/voice", base()).status_code == 200
    # And in demo mode the public token is the local phone's, as before.
    settings.RELAIS_DEMO, settings.TWILIO_AUTH_TOKEN = True, public_token
    assert post(client, "/telephony/twilio/voice", base(CallSid="CA" + "4" * 32),
                token=public_token).status_code == 200


def test_webhooks_accept_post_only(client, tracking):
    assert client.get("/telephony/twilio/voice").status_code == 405


@pytest.mark.parametrize("path,params", [
    ("voice", base(From="hello")),
    ("voice", base(From="0639980001")),  # not E.164: providers send E.164
    ("voice", base(To="+33")),
    ("voice", base(CallSid="CA123")),
    ("voice", base(AccountSid="AC" + "9" * 32)),
    ("dial", base(DialCallStatus="maybe")),
    ("dial", base(DialCallStatus="completed", DialCallDuration="12s")),
    ("gather", base(Digits="1; DROP TABLE")),
    ("recording-status", {**recording(), "RecordingDuration": "-1"}),
    ("recording-status", {**recording(), "RecordingSid": "RE-bad"}),
    ("recording-status", {**recording(), "RecordingStatus": "weird"}),
    ("recording-status", {**recording(), "RecordingUrl": "https://evil.example.com/x"}),
    ("recording-status", {**recording(), "RecordingUrl": "file:///etc/passwd"}),
    ("status", base(CallStatus="exploded")),
])
def test_bad_parameters_get_400_and_change_nothing(client, tracking, path, params):
    if path != "voice":
        missed_call(client)
    before = state()
    r = post(client, f"/telephony/twilio/{path}", params)
    assert r.status_code == 400
    assert state() == before


@pytest.mark.parametrize("path,params", [
    ("dial", base(DialCallStatus="no-answer")),
    ("record", base(Digits="#", RecordingSid=RECORDING_SID, RecordingDuration="7")),
    ("gather", base(Digits="1")),
    ("recording-status", recording()),
    ("status", base(CallStatus="completed", CallDuration="30")),
])
def test_callbacks_for_unknown_calls_are_404_without_side_effect(client, tracking, path,
                                                                 params):
    r = post(client, f"/telephony/twilio/{path}", params)
    assert r.status_code == 404
    assert state() == ([], [], 0)


def test_duplicate_callbacks_create_nothing_new(phone, tracking, wav):
    result = phone.call(TRACKING, CALLER, wav, consent="share")
    before = state()
    tasks = task_count()
    for url, params in result.sent:  # the provider retries every request
        status, _body = phone.transport.post(url, params)
        assert status in (200, 204), url
    assert state() == before
    assert task_count() == tasks
    # A retried gather with another key cannot change a final consent.
    gather = next(p for url, p in result.sent if url.endswith("/gather"))
    status, body = phone.transport.post(PUBLIC + "/telephony/twilio/gather",
                                        {**gather, "Digits": "2"})
    assert status == 200 and html.unescape(prompts.text("consent_share")) in html.unescape(body)
    assert Voicemail.objects.get().consent == "share"


def test_callbacks_out_of_order_converge(client, tracking):
    missed_call(client)
    # The gather action first (no recording callback yet): the message exists.
    r = post(client, "/telephony/twilio/gather", base(Digits="1"))
    assert r.status_code == 200
    vm = Voicemail.objects.get()
    assert (vm.consent, vm.status, vm.recording_sid) == ("share", "recording", None)
    assert vm.reference in r.content.decode().replace(", ", "")
    # Then the recording, then the (late) record action: still one message.
    assert post(client, "/telephony/twilio/recording-status", recording()).status_code == 204
    r = post(client, "/telephony/twilio/record",
             base(Digits="#", RecordingSid=RECORDING_SID, RecordingDuration="7"))
    assert r.status_code == 200
    assert post(client, "/telephony/twilio/status", base(CallStatus="completed")).status_code == 204
    vm = Voicemail.objects.get()
    assert (vm.consent, vm.recording_sid, vm.recording_duration) == ("share", RECORDING_SID, 7)
    assert vm.status == Voicemail.Status.PROCESSING
    assert PipelineStep.objects.filter(voicemail=vm).count() == 1
    call = Call.objects.get()
    assert call.outcome == "voicemail" and call.ended_at is not None


def test_recording_callbacks_before_the_dial_action_keep_the_message(client, tracking):
    """The dial action retried late (or racing): the recording and the consent, arriving
    first, still make one message; the late dial action only completes the call log."""
    assert post(client, "/telephony/twilio/voice", base()).status_code == 200
    assert post(client, "/telephony/twilio/recording-status", recording()).status_code == 204
    assert post(client, "/telephony/twilio/gather", base(Digits="1")).status_code == 200
    r = post(client, "/telephony/twilio/dial", base(DialCallStatus="no-answer"))
    assert r.status_code == 200
    assert post(client, "/telephony/twilio/status", base(CallStatus="completed")).status_code == 204
    vm = Voicemail.objects.get()
    assert (vm.consent, vm.recording_sid, vm.status) == ("share", RECORDING_SID, "processing")
    assert PipelineStep.objects.filter(voicemail=vm).count() == 1
    call = Call.objects.get()
    assert (call.outcome, call.dial_status, call.reason) == ("voicemail", "no-answer",
                                                             "no-answer")


def test_hanging_up_before_answering_the_question_means_private(client, tracking):
    missed_call(client)
    r = post(client, "/telephony/twilio/record",
             base(Digits="#", RecordingSid=RECORDING_SID, RecordingDuration="7"))
    assert b"<Gather" in r.content
    vm = Voicemail.objects.get()
    assert not consent.is_final(vm)
    assert consent.pending_until(vm) == consent.deadline(vm)  # the route step would wait
    assert post(client, "/telephony/twilio/status", base(CallStatus="completed")).status_code == 204
    vm.refresh_from_db()
    assert vm.consent == "private" and consent.is_final(vm)
    assert consent.pending_until(vm) is None and vm.consent == "private"
    # A stray gather arriving after the call ended does not turn it into "share".
    post(client, "/telephony/twilio/gather", base(Digits="1"))
    vm.refresh_from_db()
    assert vm.consent == "private"


def test_consent_settles_to_private_after_the_wait(client, tracking, settings):
    missed_call(client)
    post(client, "/telephony/twilio/recording-status", recording())
    vm = Voicemail.objects.get()
    until = consent.pending_until(vm)
    assert until == vm.created_at + timedelta(seconds=settings.RELAIS_CONSENT_WAIT_SECONDS)
    assert not consent.is_final(vm)
    later = timezone.now() + timedelta(seconds=settings.RELAIS_CONSENT_WAIT_SECONDS + 1)
    assert consent.pending_until(vm, now=later) is None
    assert vm.consent == "private" and vm.consent_recorded_at == later
    assert Voicemail.objects.get().consent_recorded_at == later


@pytest.mark.parametrize("status,expected", [("absent", "rejected"), ("failed", "failed")])
def test_absent_or_failed_recordings_keep_the_message_with_a_status(client, tracking, status,
                                                                     expected):
    missed_call(client)
    params = {**recording(status), "ErrorCode": "13617" if status == "failed" else ""}
    params.pop("RecordingDuration")
    assert post(client, "/telephony/twilio/recording-status", params).status_code == 204
    vm = Voicemail.objects.get()
    assert vm.status == expected and vm.status_detail
    assert ("13617" in vm.status_detail) == (status == "failed")
    assert not PipelineStep.objects.exists()
    assert Call.objects.get().outcome == "missed"


def test_recordings_for_answered_calls_or_a_second_recording_conflict(client, tracking):
    post(client, "/telephony/twilio/voice", base())
    post(client, "/telephony/twilio/dial", base(DialCallStatus="completed", DialCallDuration="40"))
    assert post(client, "/telephony/twilio/recording-status", recording()).status_code == 409
    assert not Voicemail.objects.exists()

    other = "CA" + "4" * 32
    post(client, "/telephony/twilio/voice", base(CallSid=other))
    post(client, "/telephony/twilio/dial", base(CallSid=other, DialCallStatus="busy"))
    first = {**recording(), "CallSid": other}
    assert post(client, "/telephony/twilio/recording-status", first).status_code == 204
    second = {**recording(sid="RE" + "5" * 32), "CallSid": other}
    assert post(client, "/telephony/twilio/recording-status", second).status_code == 409
    assert Voicemail.objects.get().recording_sid == RECORDING_SID
    # Another call claiming that recording: refused, nothing changes.
    third = "CA" + "6" * 32
    post(client, "/telephony/twilio/voice", base(CallSid=third))
    post(client, "/telephony/twilio/dial", base(CallSid=third, DialCallStatus="no-answer"))
    before = state()
    r = post(client, "/telephony/twilio/recording-status", {**recording(), "CallSid": third})
    assert r.status_code == 409
    assert state() == before


def test_stale_messages_get_an_explicit_status(client, tracking):
    missed_call(client)
    post(client, "/telephony/twilio/record",
         base(Digits="#", RecordingSid=RECORDING_SID, RecordingDuration="7"))
    assert callbacks.settle_stale() == 0
    assert callbacks.settle_stale(now=timezone.now() + timedelta(hours=2)) == 1
    vm = Voicemail.objects.get()
    assert vm.status == "failed" and "Aucun enregistrement" in vm.status_detail
    assert vm.consent == "private" and vm.consent_recorded_at is not None
