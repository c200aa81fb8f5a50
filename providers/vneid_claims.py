"""Which upstream claim holds which of our fields: the VNeID claim mapping, as configuration.

Why configuration and not code: the national public-service portal's SSO and the direct VNeID
channel name the same facts differently (``SoDinhDanh`` vs ``citizenPid``, ``HoVaTen`` vs
``fullName``), and an operator must be able to follow a change upstream without a release.
``GATEWAY_VNEID_CLAIMS`` is a JSON object from our field names to the upstream's claim names;
the default follows the portal (config/defaults.py).

This module parses that object (refusing anything the client could not use, so a typo stops
the gateway at start rather than silently dropping a field) and reads the mapped values from
the ID token's claims, then from userinfo's. Turning the raw values into dates, sexes and
levels is policies.linking's (the same parsers serve the batch linking of the migration).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

# Our fields, in the order people read them; `subject` falls back to the standard `sub`.
FIELDS = ("subject", "id_number", "full_name", "birthdate", "sex", "phone", "account_type",
          "level")
MAX_CLAIM_NAME = 100


class ClaimMapError(ValueError):
    """GATEWAY_VNEID_CLAIMS cannot be used; the message says why."""


def parse_claim_map(text: str) -> dict[str, str]:
    """Our field → the upstream's claim name. ClaimMapError for bad JSON, a value that is not
    a non-empty claim name, or a field we do not have (a misspelt key would otherwise drop
    the field without a word)."""
    try:
        value = json.loads(text)
    except (TypeError, ValueError) as exc:
        raise ClaimMapError(f"not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise ClaimMapError("must be a JSON object from our fields to claim names")
    unknown = sorted(set(value) - set(FIELDS))
    if unknown:
        raise ClaimMapError(f"unknown field(s) {', '.join(unknown)}; known: {', '.join(FIELDS)}")
    for field, claim in value.items():
        if not isinstance(claim, str) or not claim.strip() or len(claim) > MAX_CLAIM_NAME:
            raise ClaimMapError(f"{field}: the claim name must be a non-empty string "
                                f"of at most {MAX_CLAIM_NAME} characters")
    return {field: claim.strip() for field, claim in value.items()}


def missing_from(claims: Mapping[str, object], mapping: Mapping[str, str]) -> bool:
    """Whether some mapped claim is absent from ``claims`` (then userinfo is asked)."""
    return any(claims.get(name) in (None, "") for name in mapping.values())


def read_fields(mapping: Mapping[str, str], *sources: Mapping[str, object]) -> dict[str, object]:
    """Each field's raw value from the first source that has its claim (ID token first, then
    userinfo); ``subject`` falls back to ``sub`` when its own claim is absent everywhere.
    Fields without a mapping or without a value are None."""
    fields: dict[str, object] = {}
    for field in FIELDS:
        name = mapping.get(field)
        fields[field] = _first(name, sources) if name else None
    if fields["subject"] in (None, ""):
        fields["subject"] = _first("sub", sources)
    return fields


def _first(name: str, sources) -> object:
    for source in sources:
        value = source.get(name)
        if value not in (None, ""):
            return value
    return None
