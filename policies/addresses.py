"""Which clients share one per-address limit: the key a source address is counted under.

* IPv4: the whole address. Carrier-grade NAT already puts thousands of phones behind one, so
  nothing coarser (a /24 would join unrelated carriers' pools).
* IPv6: the /64. A subscriber (a phone, a home router) is given a whole /64 and may use any
  address in it, changing it at will (temporary addresses, RFC 8981); counting /128s would
  hand an attacker 2^64 fresh counters.
* IPv4-mapped IPv6 (``::ffff:192.0.2.1``, what a dual-stack socket reports for an IPv4
  client) is that IPv4 address: one client, one counter, whichever socket it arrived on.
* Anything that is not an address (a malformed ``X-Forwarded-For`` entry, ``"unknown"``)
  shares the single key ``invalid``: failing closed, never a fresh counter per junk string.
"""

from __future__ import annotations

import ipaddress

INVALID = "invalid"


def address_key(address: object) -> str:
    """``v4:<address>``, ``v6:<prefix>/64`` or ``invalid``; pure, never raises."""
    if not isinstance(address, str):
        return INVALID
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return INVALID
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return f"v4:{ip.ipv4_mapped}"
        prefix = ipaddress.IPv6Network((int(ip) >> 64 << 64, 64))
        return f"v6:{prefix}"
    return f"v4:{ip}"
