import pytest

from relais.calls.models import TrackingNumber
from tests import factories as f
from tests.factories import NANTES, offset


@pytest.fixture
def routed(db, settings, calls_settings):
    """A shared plumbing request: the called plumber and 5 nearby plumbers, each with a
    forward number and a tracking number; cost 2, cap 3, 30 s to count."""
    settings.RELAIS_UNLOCK_CAP = 3
    settings.RELAIS_UNLOCK_COST = 2
    settings.RELAIS_CALLBACK_MIN_SECONDS = 30
    called = f.listing(*NANTES, ["plombier"], name="Appelé", email="appele@example.org")
    listings = [called] + [f.listing(*offset(*NANTES, 2 + i), ["plombier"], name=f"Voisin {i}",
                                     email=f"voisin{i}@example.org") for i in range(5)]
    for i, item in enumerate(listings):
        item.forward_number = f"+3363998{i:04d}"
        item.save(update_fields=["forward_number"])
        TrackingNumber.objects.create(e164=f"+3319900{i:04d}", listing=item)
    vm = f.voicemail(called)
    own, shared = f.route(vm)
    assert len(shared) == 5
    return vm, own, shared
