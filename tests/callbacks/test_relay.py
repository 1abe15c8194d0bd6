"""Call-backs through Relais, end to end through the real webhooks (Django's full request
stack, signatures checked), the local provider playing both legs."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from relais.callbacks import services
from relais.callbacks.models import Callback
from relais.calls.models import TrackingNumber
from relais.calls.providers import local
from relais.credits import services as credits
from relais.credits.models import CreditEntry, Unlock
from relais.demo.callback_phone import play
from relais.demo.phone import InProcess, sign
from tests import factories as f
from tests.factories import CALLER, NANTES, offset

pytestmark = pytest.mark.django_db


def call_back(delivery, *, pro="answers", caller="answers", seconds=45):
    """The professional clicks "Rappeler via Relais"; the provider plays both legs."""
    with local.manual_dialing():
        local.take_placed()
        cb = services.start(delivery, delivery.listing.professional.user)
        (call, sid), = local.take_placed()
    result = play(InProcess(), call, sid, pro=pro, caller=caller, seconds=seconds)
    assert result.errors == []
    return Callback.objects.get(pk=cb.pk), result, call


def test_a_connected_call_back_of_45_s_is_charged_once_then_free(routed, operator):
    vm, _own, shared = routed
    d = shared[0]
    pro = d.listing.professional
    credits.grant(pro, 5, by=operator)
    cb, result, call = call_back(d, seconds=45)
    # Relais called the professional's forward number from its own tracking number…
    assert (call.to, call.from_) == (d.listing.forward_number, d.listing.tracking_number.e164)
    assert result.pro_leg == {"to": d.listing.forward_number,
                              "caller_id": d.listing.tracking_number.e164}
    # …then the caller, showing the tracking number, never the professional's own number.
    assert result.caller_leg == {"to": CALLER, "caller_id": d.listing.tracking_number.e164}
    assert "plombier" in result.pro_heard[0]
    assert "Voisin 0 vous rappelle" in result.caller_heard[0]
    assert "appuyez sur 9" in result.caller_heard[0]
    assert "appuyez sur 1" in result.caller_heard[0]
    assert d.listing.forward_number not in " ".join(result.caller_heard)
    assert (cb.status, cb.bridge_seconds, cb.charged_credits) == ("completed", 45, 2)
    assert cb.bridged_at is not None
    assert credits.balance(pro) == 3
    entry = CreditEntry.objects.get(professional=pro, kind="callback")
    assert entry.amount == -2 and entry.unlock == cb.unlock and "45 s" in entry.note
    # A second connected call-back of the same message costs nothing.
    cb2, _, _ = call_back(d, seconds=120)
    assert (cb2.status, cb2.charged_credits) == ("completed", 0)
    assert credits.balance(pro) == 3
    assert Unlock.objects.filter(voicemail=vm, professional=pro).count() == 1


@pytest.mark.parametrize(("pro_leg", "caller_leg", "seconds", "status"), [
    ("answers", "answers", 5, "too_short"),
    ("answers", "answers", 29, "too_short"),
    ("answers", "no-answer", 0, "caller_no_answer"),
    ("answers", "busy", 0, "caller_busy"),
    ("no-answer", "answers", 45, "pro_no_answer"),
])
def test_short_unanswered_or_busy_call_backs_cost_nothing(routed, operator, pro_leg,
                                                          caller_leg, seconds, status):
    _vm, _own, shared = routed
    d = shared[1]
    credits.grant(d.listing.professional, 5, by=operator)
    cb, result, _ = call_back(d, pro=pro_leg, caller=caller_leg, seconds=seconds)
    assert (cb.status, cb.charged_credits, cb.unlock) == (status, 0, None)
    assert not result.connected or seconds < 30
    assert credits.balance(d.listing.professional) == 5
    assert not CreditEntry.objects.filter(kind="callback").exists()


def test_the_own_professional_calls_back_for_free(routed):
    _vm, own, _shared = routed
    cb, result, _ = call_back(own, seconds=60)
    assert (cb.status, cb.charged_credits) == ("completed", 0)
    assert result.caller_leg["caller_id"] == own.listing.tracking_number.e164


def test_the_cap_of_three_professionals_per_message_holds(routed, operator):
    _vm, _own, shared = routed
    for d in shared:
        credits.grant(d.listing.professional, 5, by=operator)
    for d in shared[:3]:
        assert call_back(d)[0].charged_credits == 2
    with pytest.raises(services.CallbackRefused) as refused:
        call_back(shared[3])
    assert refused.value.code == "cap"
    assert credits.balance(shared[3].listing.professional) == 5


def test_no_credits_no_call_back(routed):
    _vm, _own, shared = routed
    with pytest.raises(services.CallbackRefused) as refused:
        call_back(shared[0])
    assert refused.value.code == "balance"
    assert not Callback.objects.exists()


def test_attempts_per_professional_message_and_day_are_limited(routed, operator, settings):
    settings.RELAIS_CALLBACK_MAX_PER_DAY = 2
    _vm, _own, shared = routed
    d = shared[0]
    credits.grant(d.listing.professional, 5, by=operator)
    call_back(d, caller="no-answer")
    call_back(d, caller="busy")
    with pytest.raises(services.CallbackRefused) as refused:
        call_back(d)
    assert refused.value.code == "too_many"


def test_only_the_recipient_may_call_back(routed, operator):
    _vm, _own, shared = routed
    credits.grant(shared[1].listing.professional, 5, by=operator)
    with pytest.raises(services.CallbackRefused) as refused:
        services.start(shared[0], shared[1].listing.professional.user)
    assert refused.value.code == "not_yours"


def test_webhooks_refuse_a_bad_signature_and_another_call(routed, operator):
    _vm, _own, shared = routed
    d = shared[0]
    credits.grant(d.listing.professional, 5, by=operator)
    with local.manual_dialing():
        cb = services.start(d, d.listing.professional.user)
        (call, sid), = local.take_placed()
    client = Client()
    path = call.url.split("127.0.0.1:8000", 1)[1]
    params = {"AccountSid": "AC" + "0" * 32, "CallSid": sid, "CallStatus": "in-progress"}
    assert client.post(path, params, headers={"X-Twilio-Signature": "forged"}).status_code == 403
    other = dict(params, CallSid="CA" + "1" * 32)
    response = client.post(path, other, headers={"X-Twilio-Signature": sign(call.url, other)})
    assert response.status_code == 404
    response = client.post(path, params, headers={"X-Twilio-Signature": sign(call.url, params)})
    # The professional's phone answered: a whisper and a <Gather>, nothing dialled yet.
    assert response.status_code == 200 and b"<Gather" in response.content
    assert b"<Dial" not in response.content and CALLER.encode() not in response.content
    assert Callback.objects.get(pk=cb.pk).status == "calling_pro"
    key_url = services.webhook_url("pro_key", cb)
    key_path = key_url.split("127.0.0.1:8000", 1)[1]
    pressed = dict(params, Digits="1")
    response = client.post(key_path, pressed,
                           headers={"X-Twilio-Signature": sign(key_url, pressed)})
    assert response.status_code == 200 and b"<Dial" in response.content
    assert Callback.objects.get(pk=cb.pk).status == "calling_caller"


def test_answering_machines_are_never_bridged_nor_charged(routed, operator):
    """A voicemail greeting on either leg presses no key: the pro's greeting gets nothing
    dialled; the caller's greeting (which could say a number) is never bridged."""
    _vm, _own, shared = routed
    d = shared[0]
    credits.grant(d.listing.professional, 5, by=operator)
    cb, result, _ = call_back(d, pro="voicemail", seconds=60)
    assert (cb.status, cb.charged_credits, cb.answered_at) == ("pro_no_answer", 0, None)
    assert result.caller_leg == {} and not result.connected
    assert "appuyez sur 1" in " ".join(result.pro_heard).lower()
    cb, result, _ = call_back(d, caller="voicemail", seconds=60)
    assert (cb.status, cb.charged_credits, cb.bridged_at) == ("caller_no_answer", 0, None)
    assert not result.connected
    assert "aucune touche" in " ".join(result.caller_heard)
    assert credits.balance(d.listing.professional) == 5
    assert not Unlock.objects.exists() and not CreditEntry.objects.filter(kind="callback")


def test_call_backs_in_progress_never_overdraw_the_balance(operator, settings):
    """2 credits, cost 2: while one call-back of a request rings, another request may not
    be called back (both could connect)."""
    settings.RELAIS_UNLOCK_COST = 2
    mine = f.listing(*offset(*NANTES, 3), ["plombier"], name="Moi", email="moi@example.org")
    mine.forward_number = "+33639987777"
    mine.save(update_fields=["forward_number"])
    TrackingNumber.objects.create(e164="+33199007777", listing=mine)
    called = f.listing(*NANTES, ["plombier"], name="Appelé", email="a@example.org")
    first, second = (next(d for d in f.route(f.voicemail(called, caller=c))[1]
                          if d.listing_id == mine.pk) for c in ("+33612340001", "+33612340002"))
    credits.grant(mine.professional, 2, by=operator)
    with local.manual_dialing():
        services.start(first, mine.professional.user)
        (call, sid), = local.take_placed()
        with pytest.raises(services.CallbackRefused) as refused:
            services.start(second, mine.professional.user)
    assert refused.value.code == "balance"
    assert play(InProcess(), call, sid, seconds=40).connected
    assert credits.balance(mine.professional) == 0


def _webhook(name, cb, params):
    url = services.webhook_url(name, cb)
    return Client().post(url.split("127.0.0.1:8000", 1)[1], params,
                         headers={"X-Twilio-Signature": sign(url, params)})


def _pro_presses_1(cb, sid):
    """The professional's phone answers and they press 1 (the caller is being dialled)."""
    params = {"AccountSid": "AC" + "0" * 32, "CallSid": sid, "CallStatus": "in-progress"}
    assert b"<Gather" in _webhook("pro", cb, params).content
    return _webhook("pro_key", cb, dict(params, Digits="1"))


def test_concurrent_call_backs_never_exceed_the_cap(routed, operator):
    """2 paid, 3 more start at once: the third connecting call-back fills the cap; a fourth
    cannot start and one already ringing is stopped before the caller is dialled."""
    vm, _own, shared = routed
    for d in shared:
        credits.grant(d.listing.professional, 5, by=operator)
    for d in shared[:2]:
        assert call_back(d)[0].charged_credits == 2
    with local.manual_dialing():
        local.take_placed()
        third = services.start(shared[2], shared[2].listing.professional.user)
        fourth = services.start(shared[3], shared[3].listing.professional.user)
        (_, sid3), (_, sid4) = local.take_placed()
        response = _pro_presses_1(third, sid3)
        assert b"<Dial" in response.content and CALLER.encode() in response.content
        with pytest.raises(services.CallbackRefused) as refused:
            services.start(shared[4], shared[4].listing.professional.user)
        assert refused.value.code == "cap"
        response = _pro_presses_1(fourth, sid4)
    assert b"<Dial" not in response.content and CALLER.encode() not in response.content
    assert "maximum" in response.content.decode()
    fourth.refresh_from_db()
    assert (fourth.status, fourth.error, fourth.charged_credits) == ("stopped", "cap", 0)
    assert Unlock.objects.filter(voicemail=vm, refunded_at__isnull=True).count() == 2
    assert credits.balance(shared[3].listing.professional) == 5


def test_the_minimum_counts_the_bridged_conversation_not_the_whisper(routed, operator):
    """DialCallDuration 45 s, of which 20 s of whisper before the caller's 1: 25 s of
    conversation, under the 30 s minimum: nothing charged. A provider's DialBridged=false
    is never charged either."""
    _vm, _own, shared = routed
    d = shared[0]
    credits.grant(d.listing.professional, 5, by=operator)
    for bridged, whisper in (("true", 20), ("false", 0)):
        with local.manual_dialing():
            local.take_placed()
            cb = services.start(d, d.listing.professional.user)
            (_, sid), = local.take_placed()
        assert b"<Dial" in _pro_presses_1(cb, sid).content
        base = {"AccountSid": "AC" + "0" * 32, "CallSid": "CA" + "7" * 32,
                "ParentCallSid": sid, "CallStatus": "in-progress"}
        assert b"<Gather" in _webhook("caller", cb, base).content
        Callback.objects.filter(pk=cb.pk).update(
            caller_answered_at=timezone.now() - timedelta(seconds=whisper))
        assert _webhook("key", cb, dict(base, Digits="1")).status_code == 200
        end = {"AccountSid": "AC" + "0" * 32, "CallSid": sid, "CallStatus": "in-progress",
               "DialCallSid": "CA" + "7" * 32, "DialCallStatus": "completed",
               "DialCallDuration": "45", "DialBridged": bridged}
        assert _webhook("dial", cb, end).status_code == 200
        cb.refresh_from_db()
        expected = ("too_short", 25) if bridged == "true" else ("caller_no_answer", None)
        assert (cb.status, cb.bridge_seconds, cb.charged_credits) == (*expected, 0)
    assert credits.balance(d.listing.professional) == 5
    assert not Unlock.objects.exists()


def test_a_long_connected_call_back_still_holds_its_credits(operator, settings):
    """The 10-minute staleness applies to a call still ringing the professional, never to
    one connected to the caller (a 15-minute conversation may still be charged)."""
    settings.RELAIS_UNLOCK_COST = 2
    mine = f.listing(*offset(*NANTES, 3), ["plombier"], name="Moi", email="moi@example.org")
    mine.forward_number = "+33639987777"
    mine.save(update_fields=["forward_number"])
    TrackingNumber.objects.create(e164="+33199007777", listing=mine)
    called = f.listing(*NANTES, ["plombier"], name="Appelé", email="a@example.org")
    first, second = (next(d for d in f.route(f.voicemail(called, caller=c))[1]
                          if d.listing_id == mine.pk) for c in ("+33612340001", "+33612340002"))
    credits.grant(mine.professional, 2, by=operator)
    with local.manual_dialing():
        local.take_placed()
        cb = services.start(first, mine.professional.user)
        (_, sid), = local.take_placed()
        assert b"<Dial" in _pro_presses_1(cb, sid).content
        Callback.objects.filter(pk=cb.pk).update(
            created_at=timezone.now() - timedelta(minutes=15))
        with pytest.raises(services.CallbackRefused) as refused:
            services.start(second, mine.professional.user)
        assert refused.value.code == "balance"
        # Still ringing the professional after 15 minutes: stale, the credits are free.
        Callback.objects.filter(pk=cb.pk).update(status="calling_pro")
        services.start(second, mine.professional.user)
