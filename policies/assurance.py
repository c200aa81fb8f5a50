"""Assurance: which `acr` a sign-in earns, from the account's identity level and the methods.

Level 2 accounts were verified in person (or against the population register); their `acr`
says so only when the sign-in itself used a method bound to that verification. A password
alone on a level-2 account still earns level 2 today, as VssID does; when OTP or WebAuthn
arrive, `amr` carries them and relying services can ask for more.
"""

ACR_LEVEL_1 = "urn:vssid:acr:level1"
ACR_LEVEL_2 = "urn:vssid:acr:level2"
ACR_VALUES = (ACR_LEVEL_1, ACR_LEVEL_2)


def acr_for(level: int, amr: list[str]) -> str:
    if level >= 2 and amr:
        return ACR_LEVEL_2
    return ACR_LEVEL_1
