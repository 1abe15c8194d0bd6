"""Rate limits are keyed on the client's network, not on its exact address."""

import pytest
from django.test import RequestFactory

from relais.core.network import client_network, network_of


@pytest.mark.parametrize("address,network", [
    ("10.0.0.1", "10.0.0.0/24"),
    ("10.0.0.255", "10.0.0.0/24"),
    ("10.0.1.0", "10.0.1.0/24"),
    ("203.0.113.57", "203.0.113.0/24"),
    ("::ffff:203.0.113.57", "203.0.113.0/24"),  # IPv4-mapped: the same machine
    ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
    ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
    ("2001:DB8:1:2::abcd", "2001:db8:1:2::/64"),
    ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
    ("fe80::1%eth0", "fe80::/64"),
    ("", "invalid"),
    ("not an address", "invalid"),
    ("198.51.100.7:4242", "invalid"),  # never one bucket per made-up value
])
def test_network_of(address, network):
    assert network_of(address) == network


def test_client_network_reads_remote_addr():
    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.200")
    assert client_network(request) == "192.0.2.0/24"
    request.META.pop("REMOTE_ADDR")
    assert client_network(request) == "invalid"
