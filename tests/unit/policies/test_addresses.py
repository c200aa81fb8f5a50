"""Which addresses share one per-address counter (policies/addresses.py), as properties."""

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from policies.addresses import INVALID, address_key

ipv4 = st.ip_addresses(v=4)
ipv6 = st.ip_addresses(v=6).filter(lambda ip: ip.ipv4_mapped is None)
low64 = st.integers(min_value=0, max_value=2**64 - 1)
high64 = st.integers(min_value=0, max_value=2**64 - 1)


def v6(high: int, low: int) -> str:
    return str(ipaddress.IPv6Address((high << 64) | low))


@given(high64, low64, low64)
def test_one_ipv6_64_is_one_key(high, a, b):
    assert address_key(v6(high, a)) == address_key(v6(high, b))


@given(high64, high64, low64, low64)
def test_different_ipv6_64s_are_different_keys(h1, h2, a, b):
    if h1 != h2:
        assert address_key(v6(h1, a)) != address_key(v6(h2, b))


@given(ipv4, ipv4)
def test_each_ipv4_address_is_its_own_key(a, b):
    assert (address_key(str(a)) == address_key(str(b))) == (a == b)


@given(ipv4)
def test_ipv4_mapped_ipv6_is_the_ipv4_address(ip):
    mapped = ipaddress.IPv6Address(f"::ffff:{ip}")
    assert address_key(str(mapped)) == address_key(str(ip))
    assert address_key(mapped.exploded) == address_key(str(ip))


@given(ipv4, ipv6)
def test_ipv4_and_ipv6_keys_never_meet(a, b):
    assert address_key(str(a)) != address_key(str(b))


@given(ipv6)
def test_any_spelling_of_an_ipv6_address_is_one_key(ip):
    key = address_key(str(ip))
    assert address_key(ip.exploded) == key
    assert address_key(ip.exploded.upper()) == key
    assert key == f"v6:{ipaddress.IPv6Network((int(ip) >> 64 << 64, 64))}"


@given(st.text(max_size=60))
def test_never_raises_and_junk_shares_one_key(text):
    key = address_key(text)
    try:
        ipaddress.ip_address(text.strip())
    except ValueError:
        assert key == INVALID
    else:
        assert key.startswith(("v4:", "v6:"))


@pytest.mark.parametrize("value", ["unknown", "", "1.2.3", "01.2.3.4", "1.2.3.4, 5.6.7.8",
                                   "2001:db8::1/64", "::ffff:999.1.1.1", None, 17, b"1.2.3.4"])
def test_what_is_not_an_address_is_invalid(value):
    assert address_key(value) == INVALID


def test_examples():
    assert address_key("203.0.113.7") == "v4:203.0.113.7"
    assert address_key("::ffff:203.0.113.7") == "v4:203.0.113.7"
    assert address_key("2001:db8:aa:bb:1:2:3:4") == "v6:2001:db8:aa:bb::/64"
    assert address_key("2001:db8:aa:bb::9") == "v6:2001:db8:aa:bb::/64"
    assert address_key("fe80::1%eth0") == "v6:fe80::/64"
