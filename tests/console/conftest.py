"""The console's world: a hand-counted month of calls and messages (see ``traffic``)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from relais.calls.models import Call
from relais.credits.models import CreditEntry, Unlock
from relais.directory.models import Commune
from relais.routing import services as routing
from relais.routing.models import Delivery, RoutingDecision
from relais.voicemail.models import Voicemail
from tests import factories as f

LYON = (45.7640, 4.8357)


def _place(listing, code):
    est = listing.establishment
    est.commune = Commune.objects.get(code_insee=code)
    est.save(update_fields=["commune"])
    return listing


def _at(vm, moment):
    Voicemail.objects.filter(pk=vm.pk).update(created_at=moment)
    Delivery.objects.filter(voicemail=vm).update(created_at=moment, sent_at=None)


@pytest.fixture
def traffic(db):
    """Calls and messages whose figures are counted by hand in the tests.

    Nantes (44), plumbers: vm1 shared with the neighbour (emailed after 45 s, opened by
    the neighbour after 20 min, "pas mon métier → électricien", unlocked for 3 credits
    then refunded); vm2 private (emailed after 200 s); vm3 under the threshold (pending
    moderation); vm4 under the threshold, rejected by an operator. Lyon (69): an
    electrician's private message. 40 days ago: one more private message in Nantes.
    Calls today: 3 to the Nantes plumber, 1 answered.
    """
    now = timezone.now().replace(microsecond=0) - timedelta(hours=1)
    ops = f.superuser("moderateur")
    called = _place(f.listing(*f.NANTES, ["plombier"], email="appele@example.fr"), "44109")
    neighbour = _place(f.listing(*f.offset(*f.NANTES, 6), ["plombier"],
                                 email="voisin@example.fr"), "44109")
    lyon = _place(f.listing(*LYON, ["electricien"], email="lyon@example.fr"), "69123")

    vm1 = f.voicemail(called, audio=False)
    own1, (shared1,) = f.route(vm1)
    vm2 = f.voicemail(called, consent="private", audio=False)
    own2, _ = f.route(vm2)
    vm3 = f.voicemail(called, confidence=0.5)
    f.route(vm3)
    vm4 = f.voicemail(called, confidence=0.5, audio=False)
    f.route(vm4)
    routing.reject_moderation(RoutingDecision.objects.get(voicemail=vm4), ops)
    vm5 = f.voicemail(lyon, consent="private", metier="electricien", audio=False)
    f.route(vm5)
    old = f.voicemail(called, consent="private", audio=False)
    f.route(old)

    for vm in (vm1, vm2, vm3, vm4, vm5):
        _at(vm, now)
    _at(old, now - timedelta(days=40))
    Delivery.objects.filter(pk=own1.pk).update(sent_at=now + timedelta(seconds=45))
    Delivery.objects.filter(pk=shared1.pk).update(
        sent_at=now + timedelta(seconds=90), first_opened_at=now + timedelta(minutes=20))
    Delivery.objects.filter(pk=own2.pk).update(sent_at=now + timedelta(seconds=200))
    routing.record_feedback(shared1, "wrong_metier",
                            suggested_metier=f.Metier.objects.get(slug="electricien"))
    unlock = Unlock.objects.create(delivery=shared1, voicemail=vm1,
                                   professional=neighbour.professional, cost=3,
                                   refunded_at=now)
    CreditEntry.objects.create(professional=neighbour.professional, amount=10, kind="grant")
    CreditEntry.objects.create(professional=neighbour.professional, amount=-3, kind="unlock",
                               unlock=unlock)
    CreditEntry.objects.create(professional=neighbour.professional, amount=3, kind="refund",
                               unlock=unlock)
    for i, outcome in enumerate(["answered", "voicemail", "voicemail"]):
        call = Call.objects.create(call_sid=f"CA{i:032d}", listing=called, outcome=outcome,
                                   to_e164=f.TRACKING)
        Call.objects.filter(pk=call.pk).update(started_at=now)
    return {"called": called, "neighbour": neighbour, "lyon": lyon, "ops": ops,
            "vms": [vm1, vm2, vm3, vm4, vm5], "old": old, "now": now}
