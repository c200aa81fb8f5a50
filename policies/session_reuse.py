"""May the browser's session answer this authorization request, or must the person sign in?

One pure decision for /authorize (OIDC Core §3.1.2.1, §3.1.2.3, §5.5.1.1 and the Unmet
Authentication Requirements extension), so that every rule sits in one place and is tested
without HTTP:

* ``prompt=login`` and ``max_age`` ask for a sign-in newer than the session; ``max_age=0``
  is ``prompt=login`` even within the second the session started;
* ``id_token_hint`` names who the client expects: a session of someone else is not used;
* ``acr_values`` names the levels the client wants: a session below them is not used, and a
  level the account cannot reach by signing in again is refused, never answered with a code
  for a weaker level;
* ``prompt=none`` turns every "sign in" into ``login_required``.

A ``fresh`` session is the one the login page just made for this very request: it satisfies
``prompt=login`` and ``max_age``, and what it still lacks cannot be mended by asking again.
"""

from __future__ import annotations

from dataclasses import dataclass

ISSUE = "issue"
SIGN_IN = "sign_in"
LOGIN_REQUIRED = "login_required"
UNMET = "unmet_authentication_requirements"


@dataclass(frozen=True)
class Request:
    prompts: frozenset[str] = frozenset()
    max_age: int | None = None
    acr_values: tuple[str, ...] = ()
    hint_sub: str | None = None  # `sub` of a valid id_token_hint of ours


@dataclass(frozen=True)
class Session:
    sub: str
    age: int  # seconds since auth_time
    acr: str
    reachable_acr: str  # the best a new sign-in of this account could earn
    fresh: bool = False


def acr_rank(acr: str, levels: tuple[str, ...]) -> int:
    """Position of `acr` among `levels` (weakest first); -1 when unknown."""
    return levels.index(acr) if acr in levels else -1


def _acr_met(acr: str, wanted: tuple[str, ...], levels: tuple[str, ...]) -> bool:
    known = [acr_rank(v, levels) for v in wanted if v in levels]
    # Only values we do not define: a voluntary request we answer with the honest acr.
    return not known or acr_rank(acr, levels) >= min(known)


def decide(request: Request, session: Session | None, levels: tuple[str, ...]) -> str:
    """ISSUE, SIGN_IN, or an OAuth error code to send back to the client."""
    if session is None:
        return LOGIN_REQUIRED if "none" in request.prompts else SIGN_IN
    other_person = request.hint_sub is not None and request.hint_sub != session.sub
    if not _acr_met(session.reachable_acr, request.acr_values, levels):
        return UNMET
    if session.fresh:
        # Signed in just now for this request: asking again would change nothing.
        if not _acr_met(session.acr, request.acr_values, levels):
            return UNMET
        return LOGIN_REQUIRED if other_person else ISSUE
    too_old = request.max_age is not None and (
        request.max_age == 0 or session.age > request.max_age)
    if ("login" in request.prompts or too_old or other_person
            or not _acr_met(session.acr, request.acr_values, levels)):
        return LOGIN_REQUIRED if "none" in request.prompts else SIGN_IN
    return ISSUE
