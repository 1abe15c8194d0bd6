"""The caller portal's code requests: capped per client network and per reference.

Rotating addresses within a network (an IPv4 /24, an IPv6 /64) does not escape the
network's cap; asking one reference from many networks hits the reference's own cap;
and every refusal reads the same whether or not the reference exists.
"""

import re

import pytest
from django.core.cache import cache
from django.urls import reverse

from relais.core.models import OutboxMessage
from relais.privacy.models import PortalChallenge
from tests.factories import CALLER_FR

pytestmark = pytest.mark.django_db
START = reverse("privacy:start")
UNKNOWN = "19283746"  # no message has this reference


@pytest.fixture(autouse=True)
def _fresh_counters():
    cache.clear()
    yield
    cache.clear()


def ask(client, reference, address, number=CALLER_FR):
    return client.post(START, {"reference": reference, "number": number},
                       REMOTE_ADDR=address)


def sms_count():
    return OutboxMessage.objects.filter(kind="sms").count()


def page(response, reference: str) -> str:
    """The answer without what differs between any two requests: the CSRF token, and the
    reference the form shows back as typed."""
    html = response.content.decode().replace(reference, "REFERENCE")
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)


def test_addresses_of_one_ipv4_network_share_one_cap(client, shared_message, settings):
    vm, _, _ = shared_message
    settings.RELAIS_PORTAL_MAX_REQUESTS_PER_NETWORK = 20
    answers = [ask(client, str(20_000_000 + i), f"10.0.0.{i}").status_code
               for i in range(1, 31)]  # 10.0.0.1 … 10.0.0.30: one /24
    assert answers == [302] * 20 + [429] * 10
    assert PortalChallenge.objects.count() == 20
    refused = ask(client, vm.reference, "10.0.0.200")  # the right pair, from the network
    assert refused.status_code == 429 and sms_count() == 0
    assert "Trop de demandes de code depuis cette connexion" in refused.content.decode()
    # The next network is another one.
    assert ask(client, vm.reference, "10.0.1.1").status_code == 302 and sms_count() == 1


def test_addresses_of_one_ipv6_network_share_one_cap(client, shared_message, settings):
    settings.RELAIS_PORTAL_MAX_REQUESTS_PER_NETWORK = 2
    assert ask(client, "30000001", "2001:db8:1:2::1").status_code == 302
    assert ask(client, "30000002", "2001:db8:1:2:ffff:ffff:ffff:ffff").status_code == 302
    assert ask(client, "30000003", "2001:db8:1:2::abcd").status_code == 429
    assert ask(client, "30000004", "2001:db8:1:3::1").status_code == 302  # another /64


def test_one_reference_asked_from_many_networks_hits_its_own_cap(client, shared_message,
                                                                 settings):
    vm, _, _ = shared_message
    settings.RELAIS_PORTAL_MAX_REQUESTS_PER_REFERENCE = 4
    settings.RELAIS_OTP_MAX_SENDS_PER_HOUR = 100  # not the (reference, number) cap
    numbers = ["06 39 98 00 11", "06 39 98 00 12", "06 39 98 00 13", "06 39 98 00 14"]
    for i, number in enumerate(numbers):  # guesses of the number, each from elsewhere
        assert ask(client, vm.reference, f"198.{18 + i}.0.1", number).status_code == 302
    refused = ask(client, vm.reference, "203.0.113.9")  # the right number, a fresh network
    assert refused.status_code == 400
    assert "Trop de demandes de code pour cette référence" in refused.content.decode()
    assert sms_count() == 0  # nothing sent past the cap, not even to the right number
    # Other references are not affected.
    assert ask(client, "40000001", "203.0.113.9").status_code == 302


def test_the_answers_are_the_same_whether_or_not_the_reference_exists(client, shared_message,
                                                                      settings):
    vm, _, _ = shared_message
    settings.RELAIS_PORTAL_MAX_REQUESTS_PER_REFERENCE = 2
    settings.RELAIS_PORTAL_MAX_REQUESTS_PER_NETWORK = 6
    wrong = "06 39 98 00 99"  # neither reference is asked with its caller's number
    for reference, net in ((vm.reference, "198.51.100"), (UNKNOWN, "198.51.101")):
        client.cookies.clear()
        asked = [ask(client, reference, f"{net}.{i}", wrong) for i in (1, 2, 3)]
        assert [r.status_code for r in asked] == [302, 302, 400]
        if reference == vm.reference:
            known = [r["Location"] for r in asked[:2]] + [page(asked[2], reference)]
        else:
            assert [r["Location"] for r in asked[:2]] + [page(asked[2], reference)] == known
    # And the network cap reads the same for both.
    for net in ("198.51.100", "198.51.101"):
        for i in (4, 5, 6):
            ask(client, "50000000", f"{net}.{i}")
    client.cookies.clear()
    over_known = ask(client, vm.reference, "198.51.100.7")
    client.cookies.clear()
    over_unknown = ask(client, UNKNOWN, "198.51.101.7")
    assert over_known.status_code == over_unknown.status_code == 429
    assert page(over_known, vm.reference) == page(over_unknown, UNKNOWN)
    assert sms_count() == 0
