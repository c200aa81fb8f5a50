"""Signing keys (gateway/oidc/keys.py): a rotation is recorded by the operation itself, and a
rotated key is published before it signs."""

from __future__ import annotations

from datetime import timedelta

from gateway.clock import FixedClock
from gateway.models import Event
from gateway.oidc import keys
from gateway.oidc.keys import current_key_row, ensure_signing_key, rotate_key


def test_rotation_now_signs_with_the_new_key_and_records_it(app):
    first = ensure_signing_key()
    rotated = rotate_key("RS256", now=True)
    assert current_key_row().kid == rotated.kid != first.kid
    [event] = Event.query.filter_by(name="key.rotated").all()
    assert event.data == {"kid": rotated.kid, "alg": "RS256",
                          "active_from": rotated.active_from.isoformat()}


def test_a_rotated_key_is_published_first_and_signs_after_the_lead(make_app):
    clock = FixedClock()
    app = make_app(clock=clock, KEY_PUBLISH_LEAD=600)
    with app.app_context():
        first = ensure_signing_key()
        assert keys.signing_key()[1].kid == first.kid
        rotated = rotate_key("ES256")
        published = {k["kid"] for k in keys.public_jwks()["keys"]}
        assert published == {first.kid, rotated.kid}
        assert current_key_row().kid == keys.signing_key()[1].kid == first.kid
        clock.advance(seconds=599)
        assert keys.signing_key()[1].kid == first.kid
        clock.advance(seconds=1)  # the cached signing key knows when it retires: no stale second
        assert current_key_row().kid == keys.signing_key()[1].kid == rotated.kid
        # the old key stays published while a token it signed may live
        assert first.kid in {k["kid"] for k in keys.public_jwks()["keys"]}
        clock.advance(seconds=max(app.config["ACCESS_TOKEN_TTL"], app.config["ID_TOKEN_TTL"]) + 1)
        assert {k["kid"] for k in keys.public_jwks()["keys"]} == {rotated.kid}


def test_a_second_rotation_before_the_first_signs_supersedes_it(make_app):
    clock = FixedClock()
    app = make_app(clock=clock, KEY_PUBLISH_LEAD=600)
    with app.app_context():
        first = ensure_signing_key()
        pending = rotate_key("ES256")
        clock.advance(seconds=60)
        urgent = rotate_key("ES256", now=True)
        assert current_key_row().kid == keys.signing_key()[1].kid == urgent.kid
        clock.advance(seconds=600)  # the superseded key never signs
        assert current_key_row().kid == urgent.kid
        assert pending.retired_at is not None and first.retired_at is not None
        assert pending.retired_at - pending.active_from <= timedelta(0)
