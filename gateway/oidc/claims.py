"""Which claims each scope releases. The social-insurance number only under scope `bhxh`."""

from __future__ import annotations

from gateway.models import Account

SCOPE_CLAIMS = {
    "profile": ("name", "birthdate", "gender"),
    "email": ("email", "email_verified"),
    "phone": ("phone_number", "phone_number_verified"),
    "bhxh": ("bhxh_number", "identity_level"),
}
CLAIMS_SUPPORTED = sorted(
    {"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid"}
    | {c for claims in SCOPE_CLAIMS.values() for c in claims}
)


def user_claims(account: Account, scope: str) -> dict:
    scopes = set((scope or "").split())
    claims: dict = {"sub": account.sub}
    if "profile" in scopes:
        claims["name"] = account.full_name
        claims["birthdate"] = account.dob.isoformat()
        if account.sex:
            claims["gender"] = account.sex
    if "email" in scopes and account.email:
        claims["email"] = account.email
        claims["email_verified"] = False  # declared, never proven to us
    if "phone" in scopes:
        claims["phone_number"] = account.phone
        claims["phone_number_verified"] = account.level >= 2
    if "bhxh" in scopes:
        claims["bhxh_number"] = account.bhxh
        claims["identity_level"] = account.level
    return claims
