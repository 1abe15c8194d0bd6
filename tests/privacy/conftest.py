import pytest

from tests import factories as f
from tests.factories import NANTES, offset


@pytest.fixture
def shared_message(settings):
    """A shared request: the called plumber (A) and two neighbours (B, B2) received it."""
    settings.RELAIS_PUBLIC_URL = "http://testserver"
    called = f.listing(*NANTES, ["plombier"], email="appele@example.fr",
                       name="Plomberie Appelée")
    f.listing(*offset(*NANTES, 6), ["plombier"], email="voisin@example.fr",
              name="Plomberie Voisine")
    f.listing(*offset(*NANTES, 9), ["plombier"], email="voisin2@example.fr",
              name="Plomberie Lointaine", notify="digest")
    vm = f.voicemail(called)
    own, shared = f.route(vm)
    return vm, own, shared


@pytest.fixture(autouse=True)
def _no_portal_caps(settings):
    """The per-network and per-reference caps count in the shared cache across tests
    (from 127.0.0.1, for the factories' references); the tests of those caps set their
    own and empty the cache."""
    settings.RELAIS_PORTAL_MAX_REQUESTS_PER_NETWORK = 10**6
    settings.RELAIS_PORTAL_MAX_REQUESTS_PER_REFERENCE = 10**6
