"""Passkeys as a way to prove who you are: the WebAuthn ceremonies, on the `webauthn` library.

The Relying Party is the gateway itself: the RP ID is the host of ``ISSUER`` and the only
origin accepted is the issuer's own (scheme, host, port), so a credential made for another
site, or an assertion relayed from a look-alike page, is refused by the library's checks of
``rpIdHash`` and ``clientDataJSON.origin``. User verification is required in both ceremonies
(a PIN or a biometric on the authenticator); attestation is ``none`` (we do not restrict
models, and a statement we did not ask for is still verified by the library).

Challenges are one-time store values: the options put ``webauthn:<purpose>:<binding>:<hash
of the challenge>`` (add, a few minutes), and the response's challenge — read from its
clientDataJSON — must take that very key (GETDEL / DELETE … RETURNING): of any number of
concurrent responses to one challenge, exactly one goes on, and a challenge issued for one
account or one browser's login flow is worth nothing for another (the binding is in the key).

Sign-in options never depend on who is signing in: ``allowCredentials`` is empty and the
authenticator offers the discoverable credentials it holds for our RP ID, so the options say
nothing about which accounts exist or have passkeys. The response names its credential;
an unknown one, a bad signature, a wrong origin or RP ID, a missing UV flag and a counter
gone back are all the same ``passkey_refused`` to the caller (the counter is audited:
gateway/services/passkeys.py).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, parse_client_data_json
from webauthn.helpers.cose import COSEAlgorithmIdentifier
from webauthn.helpers.exceptions import (
    InvalidAuthenticationResponse,
    InvalidJSONStructure,
    InvalidRegistrationResponse,
)
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    CredentialDeviceType,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from gateway.methods.password import check_password
from gateway.models import Account, Passkey
from gateway.services import passkeys
from gateway.services.passkeys import PasskeyError
from gateway.store.access import store
from policies.identifiers import mask_bhxh
from policies.passkeys import CEREMONY_SECONDS, registration_needs_password

RP_NAME = "VssID"
# ES256 first (every platform authenticator), EdDSA, then RS256 (Windows Hello).
ALGORITHMS = [COSEAlgorithmIdentifier.ECDSA_SHA_256, COSEAlgorithmIdentifier.EDDSA,
              COSEAlgorithmIdentifier.RSASSA_PKCS1_v1_5_SHA_256]
REGISTER, SIGN_IN = "register", "sign_in"


def rp_id() -> str:
    return urlsplit(current_app.config["ISSUER"]).hostname or ""


def origin() -> str:
    parts = urlsplit(current_app.config["ISSUER"])
    return f"{parts.scheme}://{parts.netloc}"


def _key(purpose: str, binding: str, challenge: bytes) -> str:
    digest = hashlib.sha256(challenge).hexdigest()
    return f"webauthn:{purpose}:{hashlib.sha256(binding.encode()).hexdigest()}:{digest}"


def _remember(purpose: str, binding: str, challenge: bytes, value: str = "1") -> None:
    store().add(_key(purpose, binding, challenge), value, CEREMONY_SECONDS)


def _take_challenge(purpose: str, binding: str, credential: dict) -> tuple[bytes, str]:
    """The challenge the response answers, consumed once, and what was kept with it;
    PasskeyError otherwise."""
    try:
        raw = base64url_to_bytes(credential["response"]["clientDataJSON"])
        challenge = parse_client_data_json(raw).challenge
    except Exception:  # noqa: BLE001 - anything malformed is the same refusal
        raise PasskeyError("passkey_refused" if purpose == SIGN_IN else "passkey_invalid",
                           detail="clientDataJSON unreadable") from None
    kept = store().take(_key(purpose, binding, challenge))
    if kept is None:
        raise PasskeyError("passkey_expired")
    return challenge, kept


def registration_options(account: Account, binding: str, *, session_age: float,
                         password: str, address: str) -> dict:
    """Options for navigator.credentials.create(), for ``account`` (``binding``: who may
    answer them, e.g. the account and session). A sign-in older than policies/passkeys.py's
    RECENT_SIGN_IN needs the ``password`` (PasskeyError ``reauth_required`` without it,
    AuthenticationError/LockedError/ThrottledError as check_password raises them). The
    person's name is what the authenticator shows; the login name is the masked
    social-insurance number, never the full one."""
    if registration_needs_password(session_age):
        if not password:
            raise PasskeyError("reauth_required")
        check_password(account.bhxh, password, address=address)
    existing = passkeys.list_for(account)
    if len(existing) >= passkeys.MAX_PASSKEYS:
        raise PasskeyError("passkey_limit")
    # The WebAuthn user handle: random, kept with each passkey and reused for the account's
    # next ones, neither the `sub` nor the social-insurance number. (Two first registrations
    # at once may draw two: each row keeps its own, and an assertion is checked against its.)
    handle = existing[0].user_handle if existing else bytes_to_base64url(secrets.token_bytes(32))
    options = generate_registration_options(
        rp_id=rp_id(), rp_name=RP_NAME, user_id=base64url_to_bytes(handle),
        user_name=mask_bhxh(account.bhxh), user_display_name=account.full_name or RP_NAME,
        timeout=CEREMONY_SECONDS * 1000,
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED),
        exclude_credentials=[PublicKeyCredentialDescriptor(id=base64url_to_bytes(p.credential_id))
                             for p in existing],
        supported_pub_key_algs=ALGORITHMS,
    )
    _remember(REGISTER, binding, options.challenge, handle)
    return json.loads(options_to_json(options))


def register(account: Account, binding: str, credential, name: str | None) -> Passkey:
    """Verifies the authenticator's answer and keeps the passkey (services/passkeys.add:
    event, audit record, SMS notice)."""
    if not isinstance(credential, dict):
        raise PasskeyError("passkey_invalid", detail="credential is not an object")
    challenge, handle = _take_challenge(REGISTER, binding, credential)
    try:
        verified = verify_registration_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=rp_id(),
            expected_origin=origin(), require_user_verification=True,
            supported_pub_key_algs=ALGORITHMS)
    except (InvalidRegistrationResponse, InvalidJSONStructure, ValueError, TypeError) as exc:
        raise PasskeyError("passkey_invalid", detail=str(exc)) from None
    transports = (credential.get("response") or {}).get("transports") or []
    return passkeys.add(
        account, credential_id=bytes_to_base64url(verified.credential_id),
        public_key=verified.credential_public_key, sign_count=verified.sign_count,
        backup_eligible=verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE,
        aaguid=verified.aaguid, transports=[t for t in transports if isinstance(t, str)][:8],
        name=name, user_handle=handle)


def sign_in_options(binding: str) -> dict:
    """Options for navigator.credentials.get(): the same for everyone (no allowCredentials)."""
    options = generate_authentication_options(
        rp_id=rp_id(), timeout=CEREMONY_SECONDS * 1000,
        user_verification=UserVerificationRequirement.REQUIRED)
    _remember(SIGN_IN, binding, options.challenge)
    return json.loads(options_to_json(options))


def _same_user(credential: dict, passkey: Passkey) -> bool:
    """A discoverable credential's assertion names its user: it must be the passkey's."""
    handle = (credential.get("response") or {}).get("userHandle")
    if handle is None:
        return True
    try:
        return base64url_to_bytes(handle) == base64url_to_bytes(passkey.user_handle)
    except (ValueError, TypeError, AttributeError):
        return False


@dataclass(frozen=True)
class Assertion:
    account: Account
    passkey: Passkey
    amr: list[str]


def sign_in(binding: str, credential) -> Assertion:
    """Verifies an assertion: the challenge (once), the credential (registered, its account
    active), the signature, origin, RP ID, UV flag and the counter. PasskeyError
    ``passkey_refused`` (or ``passkey_expired``) for every failure."""
    if not isinstance(credential, dict) or not isinstance(credential.get("id"), str):
        raise PasskeyError("passkey_refused", detail="credential is not an object")
    challenge, _ = _take_challenge(SIGN_IN, binding, credential)
    found = passkeys.find(credential["id"])
    if found is None:
        raise PasskeyError("passkey_refused", detail="unknown credential")
    passkey, account = found
    if not _same_user(credential, passkey):
        raise PasskeyError("passkey_refused", detail="userHandle of another account")
    try:
        # The counter is compared by services/passkeys.record_use (compare-and-set, audited);
        # the library is given 0 so that a clone reaches that check, after its signature.
        verified = verify_authentication_response(
            credential=credential, expected_challenge=challenge, expected_rp_id=rp_id(),
            expected_origin=origin(), credential_public_key=passkey.public_key,
            credential_current_sign_count=0, require_user_verification=True)
    except (InvalidAuthenticationResponse, InvalidJSONStructure, ValueError,
            TypeError) as exc:
        raise PasskeyError("passkey_refused", detail=str(exc)) from None
    if not passkeys.record_use(passkey, verified.new_sign_count):
        raise PasskeyError("passkey_refused", detail="signature counter went back")
    return Assertion(account, passkey, passkeys.amr_of(passkey))
