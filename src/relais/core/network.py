"""The client's network: what rate limits are keyed on, rather than the exact address.

One machine easily rotates addresses within its provider's allocation (an IPv6 /64 is a
single subscriber's; neighbouring IPv4 addresses are usually one provider's pool), so a
limit keyed on the exact address is no limit. :func:`client_network` groups addresses by
IPv4 /24 and IPv6 /64. ``REMOTE_ADDR`` must be the client's address (behind a reverse
proxy, the proxy must set it; see docs/deployment.md).
"""

import ipaddress

IPV4_PREFIX = 24
IPV6_PREFIX = 64
INVALID = "invalid"  # one shared bucket for anything that is not an address


def network_of(address: str) -> str:
    """``"203.0.113.0/24"`` for ``"203.0.113.57"``, ``"2001:db8:1:2::/64"`` for an address
    of that /64; IPv4-mapped IPv6 addresses count as IPv4; anything else is ``"invalid"``."""
    try:
        ip = ipaddress.ip_address((address or "").strip())
    except ValueError:
        return INVALID
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = IPV4_PREFIX if ip.version == 4 else IPV6_PREFIX
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def client_network(request) -> str:
    """The network of the request's client address (``REMOTE_ADDR``)."""
    return network_of(request.META.get("REMOTE_ADDR", ""))
