"""The health-insurance card as a short-lived signed presentation: the QR the app shows at a
hospital counter, and its online check (docs/health-card.md).

A presentation is a compact JWS (RFC 7515) signed with the gateway's signing key (ES256 by
default, `kid` in the header, the key in /jwks.json), `typ` ``vssid-hc+jwt`` so it can never
be taken for an access or ID token (RFC 8725 §3.11), with a JSON payload written without
spaces and with UTF-8 as is (a Vietnamese name costs 2–3 bytes a letter, not a 6-byte
``\\uXXXX``): every byte is a module of the QR code. Claims:

    iss        the gateway's issuer            iat, exp   issued at, HEALTH_CARD_TTL later
    jti        16 random characters            sub        the account's subject (public: the
                                                          `sub` every relying service gets)
    hcn        the 15-character card number    name       as printed on the card (OIDC name)
    birthdate  yyyy-mm-dd (OIDC birthdate)     hcv        [valid_from, valid_to], yyyy-mm-dd
    hcf        the primary-care facility code  cnf        {"jkt": the device key's RFC 7638
                                                          thumbprint} (RFC 7800, RFC 9449)

Issued only to the account's current active device (services/devices.py): the DPoP key of
the access token presented must be the active device's key, and its session the device's
session. Offline, a verifier checks the signature with the JWKS, `typ`, `iss` and `exp`.
Online (`verify`), the gateway also says whether the presentation's device is still the
active one: a takeover ends every presentation of the device it replaced at once.

Exceptions::

    HealthCardNotFoundError   404  the account has no card in the card source
    DeviceNotActiveError      403  the token asking is not the account's active device's
    PresentationError         400  a presentation that is not ours, tampered, or expired
    PresentationRevokedError  409  its device is no longer the account's active device
    VerifierRequiredError     403  the authenticated client is not a registered verifier
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import timedelta, timezone

from flask import current_app
from joserfc import jws
from joserfc.errors import JoseError

from gateway.clock import clock, utcnow
from gateway.errors import GatewayError
from gateway.extensions import db
from gateway.models import Account
from gateway.oidc.keys import signing_key, verification_keys
from gateway.oidc.tokens import ACCEPTED_ALGS
from gateway.services import devices
from gateway.services.events import emit

TYP = "vssid-hc+jwt"
VIETNAM = timezone(timedelta(hours=7), "ICT")
MAX_LENGTH = 2048  # a presentation is ~650 bytes (ES256); far longer is not one of ours


class HealthCardNotFoundError(GatewayError):
    status = 404
    code = "health_card_not_found"


class DeviceNotActiveError(GatewayError):
    status = 403
    code = "device_not_active"


class PresentationError(GatewayError):
    status = 400
    code = "presentation_invalid"  # or presentation_expired


class PresentationRevokedError(PresentationError):
    status = 409
    code = "presentation_revoked"


class VerifierRequiredError(GatewayError):
    status = 403
    code = "verifier_required"


# A verifier (a hospital's system) is a `service` client registered with this scope.
VERIFIER_SCOPE = "health_card"


def check_verifier(client) -> None:
    if client.type != "service" or VERIFIER_SCOPE not in (client.scopes or []):
        raise VerifierRequiredError()


@dataclass(frozen=True)
class Presentation:
    value: str
    expires_in: int


@dataclass(frozen=True)
class VerifiedPresentation:
    claims: dict
    account: Account
    facility_name: str | None  # from the card source, while it holds the same card


def _cards():
    return current_app.extensions["gateway.health_cards"]


def _compact_json(data: dict) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def issue(account: Account, token_claims: dict) -> Presentation:
    """The card of `account` for the device the DPoP-bound access token `token_claims`
    belongs to; DeviceNotActiveError unless it is the account's active device."""
    jkt = (token_claims.get("cnf") or {}).get("jkt")
    active = devices.active_device(account.id)
    if active is None or not jkt or active.jkt != jkt or active.sid != token_claims.get("sid"):
        raise DeviceNotActiveError()
    card = _cards().card_for(account.bhxh)
    if card is None:
        raise HealthCardNotFoundError()
    ttl = current_app.config["HEALTH_CARD_TTL"]
    now = clock().timestamp()
    claims = {
        "iss": current_app.config["ISSUER"], "iat": now, "exp": now + ttl,
        "jti": secrets.token_urlsafe(12), "sub": account.sub,
        "hcn": card.card_number, "name": card.full_name,
        "birthdate": card.date_of_birth.isoformat(),
        "hcv": [card.valid_from.isoformat(), card.valid_to.isoformat()],
        "hcf": card.facility_code, "cnf": {"jkt": jkt},
    }
    alg, key = signing_key()
    value = jws.serialize_compact({"alg": alg, "kid": key.kid, "typ": TYP},
                                  _compact_json(claims), key, algorithms=[alg])
    emit("health_card.presented", account_id=account.id,
         client_id=token_claims.get("client_id"), commit=True)
    return Presentation(value, ttl)


def _claims(value) -> dict:
    """The payload of a genuine presentation of ours (signature, typ, iss, exp); else
    PresentationError (`presentation_expired` for one that was genuine but is past)."""
    if not isinstance(value, str) or len(value) > MAX_LENGTH or value.count(".") != 2:
        raise PresentationError()
    try:
        header = jws.extract_compact(value.encode()).protected
        kid = header.get("kid")
        token = jws.deserialize_compact(value, verification_keys(
            kid if isinstance(kid, str) else None), algorithms=ACCEPTED_ALGS)
        claims = json.loads(token.payload)
    except (JoseError, ValueError, TypeError):
        raise PresentationError() from None
    if token.protected.get("typ") != TYP or not isinstance(claims, dict):
        raise PresentationError()
    if claims.get("iss") != current_app.config["ISSUER"]:
        raise PresentationError()
    exp = claims.get("exp")
    if not isinstance(exp, int) or isinstance(exp, bool):
        raise PresentationError()
    if exp <= clock().timestamp():
        raise PresentationError("presentation_expired")
    return claims


def verify(value, *, verifier_id: str) -> VerifiedPresentation:
    """The online check a hospital's system asks for: the presentation is ours and current,
    and the device it was made on is still the account's active device."""
    try:
        claims = _claims(value)
    except PresentationError as exc:
        emit("health_card.verified", client_id=verifier_id, result=exc.code, commit=True)
        raise
    account = Account.query.filter_by(sub=claims.get("sub")).first() if isinstance(
        claims.get("sub"), str) else None
    active = devices.active_device(account.id) if account is not None else None
    cnf = claims.get("cnf")
    jkt = cnf.get("jkt") if isinstance(cnf, dict) else None
    if account is None or not account.is_active or active is None or active.jkt != jkt:
        emit("health_card.verified", account_id=account.id if account else None,
             client_id=verifier_id, result="presentation_revoked", commit=True)
        raise PresentationRevokedError()
    emit("health_card.verified", account_id=account.id, client_id=verifier_id, result="valid")
    db.session.commit()
    card = _cards().card_for(account.bhxh)
    same = card is not None and card.card_number == claims.get("hcn")
    return VerifiedPresentation(claims, account, card.facility_name if same else None)


def card_valid_today(claims: dict) -> bool:
    """Whether today — a day in Vietnam (UTC+7, no daylight saving), where the card's dates
    are days — lies within the card's validity the presentation states."""
    validity = claims.get("hcv")
    today = utcnow().astimezone(VIETNAM).date().isoformat()
    return (isinstance(validity, list) and len(validity) == 2
            and all(isinstance(day, str) for day in validity)
            and validity[0] <= today <= validity[1])
