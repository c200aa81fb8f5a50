"""Assurance: which `acr` a sign-in earns, from the account's identity level and the methods.

Level 2 accounts were verified in person (or against the population register); their `acr`
says so only when the sign-in itself used a method bound to that verification. A password
alone on a level-2 account still earns level 2 today, as VssID does.

Above it stands a phishing-resistant level, ``urn:vssid:acr:level2:phr``: a level-2 account
signed in with a passkey (WebAuthn) whose authenticator verified the person (UV: a PIN or a
biometric on the device). The key is bound to the gateway's origin by the browser, so a
look-alike site can neither use nor relay it — what a password or an SMS code cannot say. A
level-1 account earns level 1 with a passkey too: the method is strong, the identity behind
it is not verified.

The values, weakest first (a relying party asking for one accepts any stronger):

    urn:vssid:acr:level1        any sign-in of a level-1 account
    urn:vssid:acr:level2        a level-2 account (password, VNeID level 2, …)
    urn:vssid:acr:level2:phr    a level-2 account with a user-verified passkey

`amr` (RFC 8176) says what happened: ``pwd`` a password, ``otp``/``sms`` a code by SMS,
``hwk`` a passkey kept on one device (not backup-eligible), ``swk`` a synced passkey (its key
may leave the device in a cloud keychain), ``user`` the authenticator's user verification.
"""

ACR_LEVEL_1 = "urn:vssid:acr:level1"
ACR_LEVEL_2 = "urn:vssid:acr:level2"
ACR_LEVEL_2_PHR = "urn:vssid:acr:level2:phr"
ACR_VALUES = (ACR_LEVEL_1, ACR_LEVEL_2, ACR_LEVEL_2_PHR)

PASSKEY_METHODS = frozenset({"hwk", "swk"})


def passkey_amr(*, backup_eligible: bool) -> list[str]:
    """The `amr` of a passkey sign-in; user verification is always required, hence ``user``."""
    return ["swk" if backup_eligible else "hwk", "user"]


def phishing_resistant(amr: list[str]) -> bool:
    return bool(PASSKEY_METHODS.intersection(amr)) and "user" in amr


def acr_for(level: int, amr: list[str]) -> str:
    if level >= 2 and amr:
        return ACR_LEVEL_2_PHR if phishing_resistant(amr) else ACR_LEVEL_2
    return ACR_LEVEL_1


def reachable_acr(level: int, *, has_passkey: bool) -> str:
    """The best `acr` a new sign-in of this account could earn: with a passkey registered,
    the phishing-resistant level is within reach (step-up asks for it); else a password's."""
    return acr_for(level, passkey_amr(backup_eligible=False) if has_passkey else ["pwd"])


def requires_passkey(acr_values: tuple[str, ...]) -> bool:
    """Whether the weakest of the requested values we define is the phishing-resistant level,
    so the login page asks for a passkey first (a password sign-in would not be enough)."""
    known = [ACR_VALUES.index(v) for v in acr_values if v in ACR_VALUES]
    return bool(known) and ACR_VALUES[min(known)] == ACR_LEVEL_2_PHR
