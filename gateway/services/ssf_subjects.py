"""Who a Shared Signals stream hears about (OpenID SSF 1.0 §8.1.3, ``default_subjects``
"ALL"): every person appropriate for the stream — every person who signed in to the stream's
client — plus the people the receiver added (``add_subject``), minus those it removed
(``remove_subject``). A person who never used a service is not announced to it unless the
service names them by the ``sub`` it already knows: no stream reveals who else has an account,
and ``add_subject`` answers the same whether or not a ``sub`` names one.

Public surface::

    add_subject(stream, subject) / remove_subject(stream, subject)   ValidationError
    streams_for(account_id, event, *, sid=None) -> list[SsfStream]   who must hear of it
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from gateway.clock import utcnow
from gateway.errors import ValidationError
from gateway.extensions import db
from gateway.models import Account, LoginSession, SessionClient, SsfStream, SsfSubject
from gateway.services.events import emit
from gateway.services.ssf_streams import events_delivered


def _account_of(subject) -> Account | None:
    """The person an ``iss_sub`` subject names (SSF §3, RFC 9493 §3.2.6); only our issuer's
    subjects exist here. ValidationError for anything that is not such a subject."""
    if not isinstance(subject, dict) or subject.get("format") != "iss_sub":
        raise ValidationError("invalid_subject", field="subject")
    iss, sub = subject.get("iss"), subject.get("sub")
    if not isinstance(iss, str) or not isinstance(sub, str) or len(sub) > 64:
        raise ValidationError("invalid_subject", field="subject")
    if iss != current_app.config["ISSUER"]:
        return None
    return db.session.scalar(select(Account).where(Account.sub == sub))


def _choose(stream: SsfStream, subject, included: bool) -> None:
    account = _account_of(subject)
    if account is not None:
        row = db.session.get(SsfSubject, (stream.id, account.id))
        if row is None:
            db.session.add(SsfSubject(stream_id=stream.id, account_id=account.id,
                                      included=included, updated_at=utcnow()))
        else:
            row.included, row.updated_at = included, utcnow()
    # The same event and answer whether or not the sub names an account (no enumeration).
    emit("ssf_stream.subject_added" if included else "ssf_stream.subject_removed",
         account_id=account.id if account else None, client_id=stream.client_id,
         stream_id=stream.stream_id)
    try:
        db.session.commit()
    except IntegrityError:  # a concurrent add of the same person: theirs stands
        db.session.rollback()


def add_subject(stream: SsfStream, subject) -> None:
    """SSF §8.1.3.2: the person is in the stream from now on (silently nothing for a
    subject that names no account: the answer is the same)."""
    _choose(stream, subject, True)


def remove_subject(stream: SsfStream, subject) -> None:
    """SSF §8.1.3.3: no more events about the person on this stream."""
    _choose(stream, subject, False)


def streams_for(account_id: int, event: str, *, sid: str | None = None) -> list[SsfStream]:
    """The streams that must hear ``event`` about the person: not disabled, the event
    delivered, and the person a subject (chosen by the receiver, or a user of its client).

    With ``sid`` (a session that ended), a client counts as used only if it received tokens
    under that session: a portal hears that *its* session ended, not that the person's
    session at another service did; a service that added the person hears of every one.
    """
    streams = [s for s in db.session.scalars(select(SsfStream).where(
        SsfStream.status != "disabled")) if event in events_delivered(s)]
    if not streams:
        return []
    chosen = dict(db.session.execute(
        select(SsfSubject.stream_id, SsfSubject.included)
        .where(SsfSubject.account_id == account_id)).all())
    clients = select(SessionClient.client_id).distinct()
    if sid is not None:
        clients = clients.where(SessionClient.sid == sid)
    else:
        clients = clients.join(LoginSession, LoginSession.sid == SessionClient.sid).where(
            LoginSession.account_id == account_id)
    used = set(db.session.scalars(clients))
    return [s for s in streams if chosen.get(s.id, s.client_id in used)]
