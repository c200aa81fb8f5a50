"""Creating and finding accounts. Input is validated here, once, for CLI, API and jobs alike,
and the creation is recorded here (event account.created), not by each caller."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from gateway.clock import clock, utcnow
from gateway.crypto.password_hashing import hash_password
from gateway.crypto.secrets import new_secret
from gateway.errors import ConflictError, ValidationError
from gateway.extensions import db
from gateway.models import Account
from gateway.services.events import emit
from policies.identifiers import (
    IdentifierError,
    login_name,
    parse_bhxh,
    parse_cccd,
    parse_dob,
    parse_email,
    parse_phone,
)
from policies.password_rules import MAX_LENGTH, MIN_LENGTH, length_violations


def _check(parse, value, **kwargs):
    try:
        return parse(value, **kwargs)
    except IdentifierError as exc:
        raise ValidationError(exc.code, field=exc.field, detail=str(exc)) from None


def create_account(
    *,
    bhxh: str,
    name: str,
    dob: str,
    phone: str,
    password: str | None,
    email: str | None = None,
    cccd: str | None = None,
    sex: str | None = None,
    level: int = 1,
    must_change_password: bool = False,
    via: str,
) -> Account:
    """A new active account, flushed and its ``account.created`` event added, in the caller's
    transaction (the caller commits). ``via`` names who created it (``cli``, ``demo``, ...).

    ``password=None`` makes an account without a password (one made from a VNeID identity:
    VNeID is its sign-in). Its hash is a real Argon2id hash of a random secret that is thrown
    away — so a password tried against it costs the same time as against any account and can
    never match — and ``password_usable`` is false, which refuses password sign-in outright
    and spares it rotation reminders, until recovery (an SMS code) sets a password.
    """
    bhxh = _check(parse_bhxh, bhxh)
    name = " ".join((name or "").split())
    if not name or len(name) > 200:
        raise ValidationError("invalid_name", field="name", detail="1-200 characters")
    birth = _check(parse_dob, dob, today=clock().now().date())
    phone = _check(parse_phone, phone)
    email = _check(parse_email, email) if email else None
    if sex not in (None, "male", "female"):
        raise ValidationError("invalid_sex", field="sex", detail="male or female")
    cccd = _check(parse_cccd, cccd, dob=birth, sex=sex) if cccd else None
    if level not in (1, 2):
        raise ValidationError("invalid_level", field="level", detail="1 or 2")
    # The length bound of every password set (policies.password_rules); the other rules
    # judge a person's choice against their current password and are not applied here.
    if password is not None and (not isinstance(password, str) or length_violations(password)):
        raise ValidationError(
            "invalid_password", field="password",
            detail=f"{MIN_LENGTH} to {MAX_LENGTH} characters",
        )
    if Account.query.filter_by(bhxh=bhxh).first() is not None:
        raise ConflictError("account_exists", field="bhxh", detail="an account exists for it")
    now = utcnow()
    account = Account(
        bhxh=bhxh,
        full_name=name,
        dob=birth,
        sex=sex,
        cccd=cccd,
        phone=phone,
        email=email,
        level=level,
        status="active",
        password_hash=hash_password(password if password is not None else new_secret()),
        password_usable=password is not None,
        password_changed_at=now,
        must_change_password=must_change_password,
        created_at=now,
    )
    db.session.add(account)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise ConflictError("account_exists", field="bhxh", detail="an account exists") from None
    emit("account.created", account_id=account.id, level=level, via=via)
    return account


def find_by_login(username: str) -> Account | None:
    """The login name is the social-insurance number (policies.identifiers.login_name);
    malformed names find nothing."""
    bhxh = login_name(username)
    return Account.query.filter_by(bhxh=bhxh).first() if bhxh is not None else None


def find_by_sub(sub: str) -> Account | None:
    return Account.query.filter_by(sub=sub).first() if sub else None
