"""RFC 6749 §3.1 and §3.2: request parameters MUST NOT be included more than once.

Authlib checks five parameters at /authorize; a second ``prompt``, ``nonce`` or ``max_age``
passed, and the first one won, so a proxy and the gateway could read one request two ways.
Every protocol endpoint refuses any repeated parameter (query and body counted together),
except ``resource``, which RFC 8707 §2 lets a client repeat (and which the grants then refuse
with ``invalid_target`` when more than one is sent).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MAY_REPEAT = frozenset({"resource"})
DESCRIPTION = "A request parameter is repeated."

# What an app says about itself, at the challenge endpoint and at /authorize?idp=vneid alike.
DEVICE_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
MAX_DEVICE_NAME = 100
# RFC 9449 §10: dpop_jkt is the base64url SHA-256 thumbprint of the DPoP key (43 characters).
DPOP_JKT = re.compile(r"^[A-Za-z0-9_-]{43}$")


def device_name(value) -> str | None:
    """The app's name for the device, whitespace folded; None when it is not 1-100 printable
    characters."""
    name = " ".join(value.split()) if isinstance(value, str) else ""
    return name if name and len(name) <= MAX_DEVICE_NAME and name.isprintable() else None


def has_repeated_parameter(lists: Iterable[tuple[str, list]]) -> bool:
    """True when a name other than those in MAY_REPEAT carries more than one value.

    ``lists`` is ``MultiDict.lists()`` (or Authlib's ``datalist.items()``)."""
    return any(len(values) > 1 and name not in MAY_REPEAT for name, values in lists)
