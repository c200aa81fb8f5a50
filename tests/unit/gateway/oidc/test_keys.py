"""Signing keys (gateway/oidc/keys.py): a rotation is recorded by the operation itself."""

from __future__ import annotations

from gateway.models import Event
from gateway.oidc.keys import current_key_row, ensure_signing_key, rotate_key


def test_rotation_signs_with_the_new_key_and_records_it(app):
    first = ensure_signing_key()
    rotated = rotate_key("RS256")
    assert current_key_row().kid == rotated.kid != first.kid
    [event] = Event.query.filter_by(name="key.rotated").all()
    assert event.data == {"kid": rotated.kid, "alg": "RS256"}
