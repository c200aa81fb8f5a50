"""Passkeys: the pure rules around a person's WebAuthn credentials (gateway/methods/webauthn.py
runs the ceremonies, gateway/services/passkeys.py keeps the rows).

* A name is what the person calls the passkey ("Điện thoại của An"): NFC, trimmed, inner
  whitespace folded, 1–64 characters, no control characters; empty means the default name.
* At most ``MAX_PASSKEYS`` per account: a bound on rows and on the options' exclude list.
* The signature counter (WebAuthn §6.1.1): when either the stored or the presented counter is
  non-zero, the presented one must be greater. A counter that did not grow means two copies
  of the private key are in use (a cloned authenticator): the sign-in is refused and audited.
  Both zero is an authenticator that keeps no counter (most synced passkeys): allowed.
* Adding a passkey gives lasting access that survives a password change, so it needs a
  recent sign-in: a session at most ``RECENT_SIGN_IN`` seconds old, or the password typed
  again (a stolen session cookie or token alone cannot plant a passkey).
* The strong factors of an account are its passkeys: each lets the person sign in at the
  phishing-resistant level and without the password. Removing the LAST one lowers what the
  account can reach, so it needs a fresh password check; removing one of several does not
  (the signed-in session suffices, and an SMS notice goes out either way).
"""

from __future__ import annotations

import unicodedata

MAX_PASSKEYS = 10
RECENT_SIGN_IN = 600  # seconds: a sign-in this recent may add a passkey without the password
# How long a ceremony's challenge lives (the browser's timeout says the same).
CEREMONY_SECONDS = 300
NAME_MAX = 64


class PasskeyNameError(ValueError):
    code = "invalid_passkey_name"


def clean_name(value: str | None, default: str) -> str:
    """The name to keep; PasskeyNameError when it is too long or holds control characters."""
    text = unicodedata.normalize("NFC", value or "")
    if any(unicodedata.category(c) in ("Cc", "Cf") and c not in " \t\n" for c in text):
        raise PasskeyNameError(value)
    text = " ".join(text.split())
    if len(text) > NAME_MAX:
        raise PasskeyNameError(value)
    return text or default


def counter_went_back(stored: int, presented: int) -> bool:
    """True when the presented signature counter proves a cloned credential."""
    return (stored > 0 or presented > 0) and presented <= stored


def registration_needs_password(session_age: float) -> bool:
    """Adding a passkey on a sign-in older than RECENT_SIGN_IN needs the password again."""
    return session_age > RECENT_SIGN_IN


def removal_needs_password(passkeys_left_after: int) -> bool:
    """Removing the account's last strong factor (no passkey left) needs the password."""
    return passkeys_left_after <= 0
