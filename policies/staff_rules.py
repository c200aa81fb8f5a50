"""Staff accounts of the console: what a username may be, who needs an office, who may do what,
and which TOTP step a code belongs to. Pure: no I/O, no import of the gateway.

Usernames are ASCII so that one name is one string in a form, a log line and the audit trail
(no look-alike letters, no normalisation question): 3-32 characters, lower-case letters,
digits, and ``.``, ``_``, ``-`` between them, starting with a letter (so a username can never
look like a social-insurance number). Upper-case input is refused, not folded: the operator
sees exactly the name the clerk will type.

Who may do what at the console (docs/security.md, "The staff console")::

    action                         office_staff  post_office_agent  supervisor
    sign in, sign out                   yes            yes              yes
    find and show an account            yes            -                yes
    show / clear the active device      yes            -                yes
    issue a one-time password           yes            -                yes
    sign an account out everywhere      yes            -                yes
    change the registered phone         yes            -                yes
    VNeID link review queue: read,      yes            -                yes
      link a case to an account or
      reject it (with a reason)
    the audit trail (read, verify)      -              -                yes

A post-office agent only records that they saw an applicant (policies/applications.py); they
act on no existing account. Office staff act on any account, because a person may go to any
BHXH office; what keeps this in bounds is that every action needs a reason, names the clerk
and their office in the audit trail, and the phone change needs the person's CCCD in front of
the clerk. Reading the trail is the supervisor's.

The VNeID link review queue (/staff/links) is one national queue, not an office's: a case comes
from a sign-in, which has no office. Office staff and supervisors decide it, each decision with
a reason and an audit record (gateway/services/links.resolve_case); a post-office agent, who
acts on no existing account, does not.
"""

from __future__ import annotations

import hmac
import re

from policies.applications import OFFICE_STAFF, POST_OFFICE_AGENT, ROLES, SUPERVISOR

# Roles that work one office's counter or round: an office is required for them.
OFFICE_ROLES = frozenset({OFFICE_STAFF, POST_OFFICE_AGENT})

USERNAME_MIN, USERNAME_MAX = 3, 32
_USERNAME_RE = re.compile(r"[a-z](?:[a-z0-9]|[._-](?=[a-z0-9]))*")

# The console's account actions and the roles allowed to take each.
ACCOUNT_ACTIONS = ("view", "clear_device", "issue_password", "sign_out", "change_phone")
ACCOUNT_ROLES = frozenset({OFFICE_STAFF, SUPERVISOR})
AUDIT_ROLES = frozenset({SUPERVISOR})
LINK_REVIEW_ROLES = frozenset({OFFICE_STAFF, SUPERVISOR})

# A staff member's reason for an action: required, kept as typed (after trimming).
REASON_MIN, REASON_MAX = 5, 500

# RFC 6238 with the defaults every authenticator app uses.
TOTP_PERIOD = 30
TOTP_DIGITS = 6
TOTP_WINDOW = 1  # steps either side of now: a clock off by up to 30 s still works
_TOTP_CODE_RE = re.compile(r"[0-9]{6}")


class StaffRuleError(ValueError):
    """An input refused; ``code`` is stable, ``field`` names the input."""

    def __init__(self, field: str, code: str):
        super().__init__(code)
        self.field = field
        self.code = code


def parse_username(value: object) -> str:
    """The username as given, or StaffRuleError(``username``, ``invalid_username``)."""
    if (not isinstance(value, str) or not USERNAME_MIN <= len(value) <= USERNAME_MAX
            or not _USERNAME_RE.fullmatch(value)):
        raise StaffRuleError("username", "invalid_username")
    return value


def check_role_office(role: object, office: str | None) -> None:
    """A known role; an office for the roles that work one office (a supervisor may have
    one or none). StaffRuleError ``invalid_role`` or ``office_required``."""
    if role not in ROLES:
        raise StaffRuleError("role", "invalid_role")
    if role in OFFICE_ROLES and not office:
        raise StaffRuleError("office", "office_required")


def may_act_on_accounts(role: str) -> bool:
    return role in ACCOUNT_ROLES


def may_read_audit(role: str) -> bool:
    return role in AUDIT_ROLES


def may_review_links(role: str) -> bool:
    return role in LINK_REVIEW_ROLES


def parse_reason(value: object) -> str:
    """A staff member's reason, trimmed: 5-500 characters, no control characters except
    line breaks. StaffRuleError(``reason``, ``reason_required`` or ``invalid_reason``)."""
    text = value.strip() if isinstance(value, str) else ""
    if len(text) < REASON_MIN:
        raise StaffRuleError("reason", "reason_required")
    if len(text) > REASON_MAX or any(
            (ord(ch) < 32 and ch not in "\r\n\t") or ord(ch) == 127 for ch in text):
        raise StaffRuleError("reason", "invalid_reason")
    return text


def totp_code(value: object) -> str | None:
    """The six ASCII digits typed (spaces around and inside ignored), or None."""
    if not isinstance(value, str) or len(value) > 16:
        return None
    code = "".join(value.split())
    return code if _TOTP_CODE_RE.fullmatch(code) else None


def totp_step(timestamp: int) -> int:
    return timestamp // TOTP_PERIOD


def matching_step(code: str, now_step: int, code_at) -> int | None:
    """The step within ±TOTP_WINDOW of ``now_step`` whose code is ``code`` (the latest if
    several), or None. ``code_at(step)`` computes a step's code; every candidate is computed
    and compared in constant time, so the answer's timing says nothing about which matched."""
    found = None
    for step in range(now_step - TOTP_WINDOW, now_step + TOTP_WINDOW + 1):
        if hmac.compare_digest(code_at(step).encode(), code.encode()):
            found = step
    return found
