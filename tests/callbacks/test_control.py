"""The caller stays in control (9 during the whisper, the portal's withdrawal, retention),
and charges come back automatically, each with its reason."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from relais.callbacks import services
from relais.callbacks.models import Callback, CallbackRefusal
from relais.calls.providers import local
from relais.core import audit
from relais.credits import services as credits
from relais.credits.models import CreditEntry, Unlock
from relais.demo.callback_phone import play
from relais.demo.phone import InProcess
from relais.privacy import services as privacy
from relais.routing.models import Feedback, RoutingDecision
from relais.routing.services import record_feedback
from relais.voicemail.models import Voicemail
from tests.factories import CALLER, CALLER_FR
from tests.helpers import last_code

pytestmark = pytest.mark.django_db


def call_back(delivery, *, pro="answers", caller="answers", seconds=45):
    with local.manual_dialing():
        local.take_placed()
        cb = services.start(delivery, delivery.listing.professional.user)
        (call, sid), = local.take_placed()
    result = play(InProcess(), call, sid, pro=pro, caller=caller, seconds=seconds)
    assert result.errors == []
    return Callback.objects.get(pk=cb.pk), result


@pytest.fixture
def funded(routed, operator):
    vm, own, shared = routed
    for d in shared:
        credits.grant(d.listing.professional, 10, by=operator)
    return vm, own, shared


def refunds(pro):
    return list(CreditEntry.objects.filter(professional=pro, kind="refund")
                .values_list("amount", "note"))


def test_the_callers_9_stops_every_call_back_and_returns_the_charges(funded):
    vm, own, shared = funded
    first, _ = call_back(shared[0])  # connected, charged
    assert first.charged_credits == 2
    cb, result = call_back(shared[1], caller="refuses", seconds=60)
    assert "plus aucun professionnel ne vous rappellera" in result.caller_heard[-1]
    assert not result.connected
    assert (cb.status, cb.charged_credits) == ("refused", 0)
    assert CallbackRefusal.objects.filter(voicemail=vm).exists()
    # Nobody may call back any more, not even the called professional.
    for d in (shared[0], shared[2], own):
        with pytest.raises(services.CallbackRefused) as refused:
            call_back(d)
        assert refused.value.code == "caller_refused"
    # The professional charged before is paid back, with the reason.
    pro = shared[0].listing.professional
    assert credits.balance(pro) == 10
    assert refunds(pro) == [(2, f"Déblocage n° {first.unlock_id} : {services.REASON_REFUSED}")]
    assert credits.balance(shared[1].listing.professional) == 10


def test_the_portals_withdrawal_stops_call_backs_and_returns_the_charges(funded):
    vm, own, shared = funded
    first, _ = call_back(shared[0])
    assert first.charged_credits == 2
    privacy.withdraw_sharing(vm)
    with pytest.raises(services.CallbackRefused) as refused:
        call_back(shared[1])
    assert refused.value.code in ("withdrawn", "not_yours")
    pro = shared[0].listing.professional
    assert credits.balance(pro) == 10
    assert refunds(pro)[0][1].endswith("L'appelant a retiré le partage.")
    # The called professional keeps its own message (withdrawal is of the sharing only).
    assert call_back(own)[0].status == "completed"


def test_a_withdrawal_while_the_professional_is_rung_stops_the_call(funded):
    vm, _own, shared = funded
    d = shared[0]
    with local.manual_dialing():
        cb = services.start(d, d.listing.professional.user)
        (call, sid), = local.take_placed()
    privacy.withdraw_sharing(vm)  # before the professional picks up
    result = play(InProcess(), call, sid, seconds=60)
    assert result.caller_leg == {}  # the caller is never dialed
    assert "n'est plus possible" in result.pro_heard[0]
    cb.refresh_from_db()
    assert (cb.status, cb.charged_credits) == ("stopped", 0)
    assert credits.balance(d.listing.professional) == 10


def test_two_pas_pour_moi_return_every_charge_with_the_reason(funded):
    _vm, _own, shared = funded
    for d in shared[:2]:
        assert call_back(d)[0].charged_credits == 2
    record_feedback(shared[2], Feedback.Kind.NOT_A_REQUEST)
    assert credits.balance(shared[0].listing.professional) == 8  # one opinion: nothing
    record_feedback(shared[3], Feedback.Kind.WRONG_METIER)
    for d in shared[:2]:
        pro = d.listing.professional
        assert credits.balance(pro) == 10
        assert "« pas pour moi » par 2 professionnels" in refunds(pro)[0][1]
    assert Unlock.objects.filter(refunded_at__isnull=True).count() == 0


def test_the_moderations_judgement_returns_the_charges(funded):
    vm, _own, shared = funded
    call_back(shared[0])
    row = RoutingDecision.objects.get(voicemail=vm)
    row.moderation = RoutingDecision.Moderation.REJECTED
    row.save()
    pro = shared[0].listing.professional
    assert credits.balance(pro) == 10
    assert "Jugée par la modération" in refunds(pro)[0][1]


def test_nothing_after_the_retention_period(funded, settings):
    vm, own, shared = funded
    Voicemail.objects.filter(pk=vm.pk).update(
        created_at=timezone.now() - timedelta(days=settings.RELAIS_RETENTION_METADATA_DAYS + 1))
    for d in (own, shared[0]):
        with pytest.raises(services.CallbackRefused) as refused:
            call_back(d)
        assert refused.value.code == "no_number"
    assert not Callback.objects.exists()


def test_the_callers_portal_says_who_called_back_and_that_the_number_stayed_hidden(
        funded, client):
    vm, _own, shared = funded
    call_back(shared[0])
    client.post(reverse("privacy:start"), {"reference": vm.reference, "number": CALLER_FR})
    client.post(reverse("privacy:code"), {"code": last_code(CALLER)})
    html = client.get(reverse("privacy:message")).content.decode()
    assert "Voisin 0" in html
    assert "vous a rappelé via Relais : votre numéro ne lui a pas été communiqué" in html
    assert "mise en relation par téléphone" in html  # the message's audit trail


def test_a_returned_message_is_never_charged_again(funded):
    """After the returns fire, a later call-back is refused, one already ringing connects
    free, and the lead card says why; a pro's own "pas pour moi" does not return their
    own charge."""
    vm, _own, shared = funded
    assert call_back(shared[0])[0].charged_credits == 2
    with local.manual_dialing():
        local.take_placed()
        ringing = services.start(shared[1], shared[1].listing.professional.user)
        (call, sid), = local.take_placed()
    record_feedback(shared[0], Feedback.Kind.NOT_A_REQUEST)  # their own opinion
    record_feedback(shared[3], Feedback.Kind.NOT_A_REQUEST)
    assert credits.balance(shared[0].listing.professional) == 8  # 1 other opinion
    record_feedback(shared[4], Feedback.Kind.WRONG_METIER)  # 2 others: returned
    assert credits.balance(shared[0].listing.professional) == 10
    assert play(InProcess(), call, sid, seconds=60).connected
    ringing.refresh_from_db()
    assert (ringing.status, ringing.charged_credits, ringing.unlock) == ("completed", 0, None)
    assert credits.balance(shared[1].listing.professional) == 10
    with pytest.raises(services.CallbackRefused) as refused:
        call_back(shared[2])
    assert refused.value.code == "returned"
    card = services.lead_card(shared[2])
    assert not card.can_call and "pas pour moi" in card.refusal
    assert not Unlock.objects.filter(voicemail=vm, refunded_at__isnull=True).exists()


def test_after_the_moderations_rejection_nothing_is_charged(funded):
    vm, _own, shared = funded
    row = RoutingDecision.objects.get(voicemail=vm)
    row.moderation = RoutingDecision.Moderation.REJECTED
    row.save()
    with pytest.raises(services.CallbackRefused) as refused:
        call_back(shared[0])
    assert refused.value.code == "returned"
    assert "modération" in services.lead_card(shared[0]).refusal
    assert credits.balance(shared[0].listing.professional) == 10


def test_the_portal_never_says_the_number_stayed_hidden_once_it_was_shown(
        funded, client, settings):
    """The operator reveals numbers: a professional who called back through Relais then
    displayed the number — the portal says it was shown."""
    settings.RELAIS_REVEAL_NUMBERS = True
    vm, _own, shared = funded
    cb, _ = call_back(shared[0])
    pro_user = shared[0].listing.professional.user
    assert credits.reveal(cb.unlock, audit.Actor.professional(pro_user, shared[0].listing))
    client.post(reverse("privacy:start"), {"reference": vm.reference, "number": CALLER_FR})
    client.post(reverse("privacy:code"), {"code": last_code(CALLER)})
    html = client.get(reverse("privacy:message")).content.decode()
    assert "Voisin 0" in html and "numéro affiché le" in html
    assert "votre numéro ne lui a pas été communiqué" not in html
