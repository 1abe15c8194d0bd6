"""The fair paid unlock: cap, balance, once per professional, refunds, audit."""

import pytest

from relais.core import audit
from relais.core.models import AuditEvent
from relais.credits import services
from relais.credits.models import CreditEntry, Unlock
from relais.routing import services as routing
from relais.routing.models import Delivery
from relais.voicemail.models import Voicemail
from tests import factories as f
from tests.factories import CALLER, NANTES, offset

# Unlocking shows the number only where the operator enables it (RELAIS_REVEAL_NUMBERS).
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("reveal_numbers")]


@pytest.fixture
def routed(settings):
    """A shared plumbing request: the called plumber and 5 nearby plumbers."""
    settings.RELAIS_UNLOCK_CAP = 3
    settings.RELAIS_UNLOCK_COST = 2
    called = f.listing(*NANTES, ["plombier"], name="Appelé")
    for i in range(5):
        f.listing(*offset(*NANTES, 2 + i), ["plombier"], name=f"Voisin {i}")
    vm = f.voicemail(called)
    own, shared = f.route(vm)
    assert len(shared) == 5
    return vm, own, shared


def user_of(delivery):
    return delivery.listing.professional.user


def test_unlock_charges_the_cost_once_and_records_who(routed, operator):
    vm, _own, shared = routed
    d = shared[0]
    pro = d.listing.professional
    services.grant(pro, 5, by=operator)
    item = services.unlock(d, user_of(d))
    assert services.balance(pro) == 3
    assert (item.cost, item.listing_name, item.voicemail_id, item.shown_at) == (
        2, "Voisin 0", vm.pk, None)
    entry = CreditEntry.objects.get(kind="unlock")
    assert (entry.amount, entry.unlock, entry.created_by) == (-2, item, user_of(d))
    assert AuditEvent.objects.filter(action=services.UNLOCKED, delivery_id=d.pk).count() == 1
    rows = list(services.unlocks_for(vm))
    assert [(u.listing_name, u.shown_at, u.refunded_at) for u in rows] == [
        ("Voisin 0", None, None)]
    assert rows[0].created_at is not None


def test_unlock_without_credits_is_refused_and_charges_nothing(routed, operator):
    _vm, _own, shared = routed
    d = shared[0]
    with pytest.raises(services.UnlockRefused, match="Crédits insuffisants") as e:
        services.unlock(d, user_of(d))
    assert e.value.code == "balance"
    services.grant(d.listing.professional, 1, by=operator)  # cost is 2
    with pytest.raises(services.UnlockRefused, match="votre solde est de 1"):
        services.unlock(d, user_of(d))
    assert services.balance(d.listing.professional) == 1
    assert not Unlock.objects.exists()


def test_unlocking_twice_charges_once(routed, operator):
    _vm, _own, shared = routed
    d = shared[0]
    services.grant(d.listing.professional, 10, by=operator)
    first = services.unlock(d, user_of(d))
    with pytest.raises(services.AlreadyUnlocked, match="déjà débloqué") as e:
        services.unlock(d, user_of(d))
    assert e.value.unlock.pk == first.pk
    assert services.balance(d.listing.professional) == 8
    assert Unlock.objects.count() == 1


def test_the_cap_is_enforced_and_the_next_is_not_charged(routed, operator):
    _vm, _own, shared = routed
    for d in shared:
        services.grant(d.listing.professional, 10, by=operator)
    for d in shared[:3]:
        services.unlock(d, user_of(d))
    fourth = shared[3]
    status = services.unlock_status(fourth)
    assert (status.taken, status.remaining, status.can_unlock) == (3, 0, False)
    with pytest.raises(services.UnlockRefused, match="maximum") as e:
        services.unlock(fourth, user_of(fourth))
    assert e.value.code == "cap"
    assert services.balance(fourth.listing.professional) == 10
    assert Unlock.objects.count() == 3


def test_own_message_needs_no_unlock(routed, operator):
    _vm, own, _shared = routed
    services.grant(own.listing.professional, 10, by=operator)
    with pytest.raises(services.UnlockRefused, match="propre message") as e:
        services.unlock(own, user_of(own))
    assert e.value.code == "own"
    assert services.balance(own.listing.professional) == 10


def test_someone_else_cannot_unlock_a_delivery(routed, operator):
    _vm, _own, shared = routed
    a, b = shared[0], shared[1]
    services.grant(b.listing.professional, 10, by=operator)
    with pytest.raises(services.UnlockRefused, match="pas adressée"):
        services.unlock(a, user_of(b))
    assert services.balance(b.listing.professional) == 10


def test_withdrawn_or_erased_requests_cannot_be_unlocked(routed, operator):
    vm, _own, shared = routed
    a, b = shared[0], shared[1]
    for d in (a, b):
        services.grant(d.listing.professional, 10, by=operator)
    routing.revoke_delivery(a, "retiré par l'appelant")
    a.refresh_from_db()
    with pytest.raises(services.UnlockRefused, match="retiré") as e:
        services.unlock(a, user_of(a))
    assert e.value.code == "withdrawn"
    Voicemail.objects.filter(pk=vm.pk).update(status=Voicemail.Status.ERASED)
    with pytest.raises(services.UnlockRefused, match="effacé"):
        services.unlock(b, user_of(b))
    assert services.balance(a.listing.professional) == 10
    assert services.balance(b.listing.professional) == 10


def test_reveal_keeps_the_first_time_and_audits_every_read(routed, operator):
    _vm, _own, shared = routed
    d = shared[0]
    services.grant(d.listing.professional, 10, by=operator)
    item = services.unlock(d, user_of(d))
    actor = audit.Actor.professional(user_of(d), d.listing)
    assert services.reveal(item, actor) == CALLER
    first = Unlock.objects.get(pk=item.pk).shown_at
    assert first is not None
    assert services.reveal(item, actor) == CALLER
    assert Unlock.objects.get(pk=item.pk).shown_at == first
    reads = AuditEvent.objects.filter(action=audit.READ_CALLER_NUMBER, delivery_id=d.pk)
    assert reads.count() == 2
    assert reads.first().actor_user_id == user_of(d).pk


def test_refund_unshown_refunds_only_numbers_never_shown(routed, operator):
    vm, _own, shared = routed
    a, b, c = shared[:3]
    for d in (a, b, c):
        services.grant(d.listing.professional, 10, by=operator)
        services.unlock(d, user_of(d))
    services.reveal(Unlock.objects.get(delivery=a),
                    audit.Actor.professional(user_of(a), a.listing))
    routing.revoke_shared(vm, "retrait de l'appelant", audit.Actor.caller())
    refunded = services.refund_unshown(vm, reason="retrait de l'appelant",
                                       actor=audit.Actor.caller())
    assert refunded == 2
    assert services.balance(a.listing.professional) == 8  # shown: not refunded
    assert services.balance(b.listing.professional) == 10
    assert services.balance(c.listing.professional) == 10
    refunds = CreditEntry.objects.filter(kind="refund")
    assert sorted(e.professional_id for e in refunds) == sorted(
        [b.listing.professional_id, c.listing.professional_id])
    rows = {u.listing_name: u for u in services.unlocks_for(vm)}
    assert rows["Voisin 0"].refunded_at is None and rows["Voisin 0"].shown_at is not None
    assert rows["Voisin 1"].refunded_at is not None and rows["Voisin 1"].shown_at is None
    assert AuditEvent.objects.filter(action=services.UNLOCK_REFUNDED).count() == 2
    # Idempotent; and a refunded unlock can no longer reveal the number.
    assert services.refund_unshown(vm, reason="encore", actor=audit.Actor.caller()) == 0
    with pytest.raises(services.UnlockRefused, match="remboursé"):
        services.reveal(Unlock.objects.get(delivery=b),
                        audit.Actor.professional(user_of(b), b.listing))
    assert services.balance(b.listing.professional) == 10


def test_a_refunded_slot_frees_the_cap_only_while_the_request_is_live(routed, operator):
    """Refunds happen on withdrawal: the request is gone, so nobody takes the slot."""
    vm, _own, shared = routed
    for d in shared:
        services.grant(d.listing.professional, 10, by=operator)
    for d in shared[:3]:
        services.unlock(d, user_of(d))
    routing.revoke_shared(vm, "retrait")
    services.refund_unshown(vm, reason="retrait")
    late = Delivery.objects.get(pk=shared[3].pk)
    with pytest.raises(services.UnlockRefused, match="retiré"):
        services.unlock(late, user_of(late))
