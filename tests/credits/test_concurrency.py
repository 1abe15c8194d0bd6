"""Unlocks racing for the last slot, or the last credit, in threads with their own
database connections (PostgreSQL: row locks; SQLite: IMMEDIATE transactions)."""

import threading

import pytest
from django.db import connection

from relais.credits import services
from relais.credits.models import CreditEntry, Unlock
from relais.routing import services as routing
from relais.routing.models import Delivery
from tests import factories as f
from tests.factories import NANTES, offset


def race(calls):
    """Run the callables at the same moment in threads; return results or exceptions."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, fn):
        try:
            barrier.wait()
            results[i] = fn()
        except Exception as exc:  # collected for the assertions
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, fn)) for i, fn in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("reveal_numbers")
def test_five_professionals_racing_for_three_slots(settings):
    settings.RELAIS_UNLOCK_CAP = 3
    settings.RELAIS_UNLOCK_COST = 1
    operator = f.superuser()
    called = f.listing(*NANTES, ["plombier"])
    for i in range(5):
        f.listing(*offset(*NANTES, 2 + i), ["plombier"])
    vm = f.voicemail(called)
    _own, shared = f.route(vm)
    assert len(shared) == 5
    for d in shared:
        services.grant(d.listing.professional, 1, by=operator)

    results = race([lambda d=d: services.unlock(d, d.listing.professional.user)
                    for d in shared])

    won = [r for r in results if isinstance(r, Unlock)]
    refused = [r for r in results if isinstance(r, services.UnlockRefused)]
    assert len(won) == 3, results
    assert len(refused) == 2 and all(r.code == "cap" for r in refused), results
    assert Unlock.objects.filter(voicemail=vm).count() == 3
    assert CreditEntry.objects.filter(kind="unlock").count() == 3
    charged = {e.professional_id for e in CreditEntry.objects.filter(kind="unlock")}
    assert charged == {u.professional_id for u in won}
    for d in shared:
        expected = 0 if d.listing.professional_id in charged else 1
        assert services.balance(d.listing.professional) == expected


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("reveal_numbers")
def test_one_credit_cannot_pay_two_unlocks_at_once(settings):
    settings.RELAIS_UNLOCK_COST = 1
    operator = f.superuser()
    pro = f.professional()
    mine = f.listing(*offset(*NANTES, 3), ["plombier"], pro=pro)
    deliveries = []
    for i in range(4):
        vm = f.voicemail(f.listing(*offset(*NANTES, 0, i), ["plombier"]))
        routing.route_voicemail(vm)
        deliveries.append(Delivery.objects.select_related("listing").get(
            voicemail=vm, listing=mine))
    services.grant(pro, 1, by=operator)

    results = race([lambda d=d: services.unlock(d, pro.user) for d in deliveries])

    assert sum(isinstance(r, Unlock) for r in results) == 1, results
    assert all(r.code == "balance" for r in results
               if isinstance(r, services.UnlockRefused)), results
    assert services.balance(pro) == 0
    assert CreditEntry.objects.filter(kind="unlock").count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("reveal_numbers")
def test_a_display_and_a_refund_never_both_happen(settings):
    """The caller withdraws while the professional opens the number: either the number
    was shown (no refund) or the unlock was refunded (the number is refused)."""
    from relais.core import audit

    settings.RELAIS_UNLOCK_COST = 1
    operator = f.superuser()
    outcomes = set()
    for i in range(6):
        called = f.listing(*offset(*NANTES, 0, 300 * i), ["plombier"])
        f.listing(*offset(*NANTES, 2, 300 * i), ["plombier"])
        vm = f.voicemail(called)
        routing.route_voicemail(vm)
        d = Delivery.objects.select_related("listing__professional__user").get(
            voicemail=vm, kind="shared")
        user = d.listing.professional.user
        services.grant(d.listing.professional, 1, by=operator)
        item = services.unlock(d, user)

        def withdraw(vm=vm):
            routing.revoke_shared(vm, "retrait")
            return services.refund_unshown(vm, reason="retrait")

        shown, refunded = race([
            lambda item=item, d=d, user=user: services.reveal(
                item, audit.Actor.professional(user, d.listing)),
            withdraw,
        ])
        item.refresh_from_db()
        if isinstance(shown, str):  # displayed first: kept, not refunded
            assert refunded == 0 and item.shown_at and item.refunded_at is None
            assert services.balance(d.listing.professional) == 0
            outcomes.add("shown")
        else:
            assert isinstance(shown, services.UnlockRefused), shown
            assert refunded == 1 and item.shown_at is None and item.refunded_at
            assert services.balance(d.listing.professional) == 1
            outcomes.add("refunded")
    assert outcomes  # each round ended in exactly one consistent state
