"""gateway.store.access: what rides with the next store call inside carrying(), and that a
refused claim is known before anything is written."""

from __future__ import annotations

import secrets

import pytest

from gateway.store.access import carrying, claim, later, store


class Refused(Exception):
    pass


@pytest.fixture
def k(app):
    prefix = f"access:{secrets.token_hex(6)}:"
    with app.app_context():
        yield lambda name: prefix + name


def test_outside_a_block_a_claim_and_a_later_write_happen_at_once(k):
    assert claim(k("jti"), "1", 60, Refused) is True
    assert claim(k("jti"), "1", 60, Refused) is False
    later("put", k("x"), "v", 60)
    assert store().get(k("x")) == "v"


def test_a_claim_rides_with_the_next_read(k):
    with carrying():
        assert claim(k("jti"), "1", 60, Refused) is True
        assert store().get(k("jti")) == "1"  # the claim went first, in the same call
    with pytest.raises(Refused), carrying():
        claim(k("jti"), "1", 60, Refused)
        store().get(k("other"))


def test_a_refused_claim_stops_a_write_before_it_is_made(k):
    store().add(k("jti"), "1", 60)
    with pytest.raises(Refused), carrying():
        claim(k("jti"), "1", 60, Refused)
        store().put(k("written"), "no", 60)
    assert store().get(k("written")) is None


def test_later_writes_ride_with_the_next_call_or_the_end_of_the_block(k):
    with carrying():
        later("put", k("a"), "1", 60)
        later("incr_many", [(k("n"), 60)])
        assert store().get_many([k("a"), k("n")]) == ["1", "1"]
        later("delete", k("a"))
    assert store().get_many([k("a"), k("n")]) == [None, "1"]


def test_a_block_that_ends_with_an_error_still_settles_its_claim(k):
    with pytest.raises(KeyError), carrying():
        claim(k("jti"), "1", 60, Refused)
        raise KeyError("the step failed")
    assert store().get(k("jti")) == "1"
