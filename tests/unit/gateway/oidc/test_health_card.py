"""The presentation reader refuses what is not a current presentation of ours, whatever is
forged about it; the card's validity is read in Vietnam's days; only services verify."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from gateway.clock import FixedClock
from gateway.errors import ValidationError
from gateway.oidc import health_card
from gateway.oidc.keys import ensure_signing_key, public_jwks
from gateway.oidc.tokens import sign_jwt
from gateway.services.clients import create_client
from tests.helpers.oidc import hmac_signed, unsigned


@pytest.fixture
def at_new_year(make_app):
    """An app whose clock reads 2026-12-31 17:30 UTC: already 1 January 2027 in Vietnam."""
    app = make_app(clock=FixedClock(datetime(2026, 12, 31, 17, 30, tzinfo=UTC)))
    with app.app_context():
        yield app


def _claims(app, **changes) -> dict:
    now = app.extensions["clock"].timestamp()
    claims = {"iss": app.config["ISSUER"], "iat": now, "exp": now + 300, "jti": "j",
              "sub": "s", "hcn": "DN4010123456789", "name": "An", "birthdate": "1985-04-12",
              "hcv": ["2026-01-01", "2026-12-31"], "hcf": "01001", "cnf": {"jkt": "k"}}
    claims.update(changes)
    return claims


def _code(value) -> str:
    with pytest.raises(health_card.PresentationError) as info:
        health_card.verify(value, verifier_id="v")
    return info.value.code


def test_only_a_current_presentation_of_ours_is_read(at_new_year):
    app = at_new_year
    ensure_signing_key()
    header = {"typ": health_card.TYP, "kid": public_jwks()["keys"][0]["kid"]}
    public = json.dumps(public_jwks()["keys"][0]).encode()
    forged = [
        sign_jwt("at+jwt", _claims(app)),                              # another kind of token
        sign_jwt(None, _claims(app)),                                  # no typ: an ID token's
        sign_jwt(health_card.TYP, _claims(app, iss="https://elsewhere.example.vn")),
        sign_jwt(health_card.TYP, _claims(app, exp="never")),
        unsigned(header, _claims(app)),                                # alg none
        hmac_signed(header, _claims(app), public),                     # the public key as a secret
        None, 42, "x" * 3000,
    ]
    assert [_code(value) for value in forged] == ["presentation_invalid"] * len(forged)
    expired = sign_jwt(health_card.TYP, _claims(app, exp=app.extensions["clock"].timestamp()))
    assert _code(expired) == "presentation_expired"
    # Genuine and current, but its subject is no account (or its device is gone): revoked.
    with pytest.raises(health_card.PresentationRevokedError):
        health_card.verify(sign_jwt(health_card.TYP, _claims(app)), verifier_id="v")


def test_the_cards_validity_is_read_in_vietnam(at_new_year):
    assert not health_card.card_valid_today({"hcv": ["2026-01-01", "2026-12-31"]})
    assert health_card.card_valid_today({"hcv": ["2027-01-01", "2027-12-31"]})
    assert not health_card.card_valid_today({"hcv": "2027-01-01"})


def test_only_a_service_with_the_scope_is_a_verifier(at_new_year):
    for type_, uris in (("web", ["https://portal.example.vn/cb"]),
                        ("app", ["http://127.0.0.1:9/cb"])):
        with pytest.raises(ValidationError, match="health_card"):
            create_client(name="x", type=type_, redirect_uris=uris, scopes=["health_card"])
    hospital, _ = create_client(name="h", type="service", scopes=["health_card"])
    health_card.check_verifier(hospital)
    other, _ = create_client(name="o", type="service")
    with pytest.raises(health_card.VerifierRequiredError):
        health_card.check_verifier(other)
