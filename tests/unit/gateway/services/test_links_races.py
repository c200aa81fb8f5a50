"""The one-to-one rule under concurrency (gateway/services/links.py): threads released at once
by a barrier, on each backend. The database decides every race; the losers' transactions —
their SMS, events and audit records — leave nothing behind."""

from __future__ import annotations

from collections import Counter
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.orm import Session

from gateway.extensions import db
from gateway.models import Account, LinkReview, VneidLink
from gateway.services import audit, link_reviews, links
from policies.linking import LinkDecision
from tests.helpers import in_thread, race
from tests.helpers.links import account_for, events, identity, sms_templates

RACERS = 4
CLI = audit.Actor("cli:links")


def _in_context(app, fn):
    """fn() in an app context of the thread's own, its session given back afterwards; a
    GatewayError is returned rather than raised, so every racer's outcome can be counted."""
    from gateway.errors import GatewayError

    def run(i):
        with app.app_context():
            try:
                return fn(i)
            except GatewayError as exc:
                db.session.rollback()
                return exc.code
            finally:
                db.session.remove()

    return run


def _settled(result):
    return (result.decision.kind, result.account.id if result.account else None)


def test_identities_racing_for_one_account_one_wins_the_others_go_to_review(app):
    account_id = account_for().id

    outcomes = race(RACERS, _in_context(app, lambda i: _settled(links.settle(
        identity(f"subject-{i}"), register_knows=False))))
    kinds = Counter(kind for kind, _ in outcomes)
    assert kinds == {"link": 1, "review": RACERS - 1}, outcomes
    db.session.expire_all()
    [row] = VneidLink.query.all()
    assert row.account_id == account_id
    assert len(events("vneid.linked")) == 1 and sms_templates() == [
        ("vneid_linked", "+84 9** *** *23")]
    cases = LinkReview.query.all()
    assert len(cases) == RACERS - 1 and {c.reason for c in cases} == {"linked_elsewhere"}
    assert row.subject not in {c.subject for c in cases}
    assert audit.verify()[1] is None


def test_direct_links_of_one_account_exactly_one_insert_succeeds(app):
    account_id = account_for().id

    def attempt(i):
        links.link(identity(f"subject-{i}"), db.session.get(Account, account_id), how="staff",
                   reason="staff_review", actor=CLI)
        return "linked"

    outcomes = Counter(race(RACERS, _in_context(app, attempt)))
    assert outcomes == {"linked": 1, "account_already_linked": RACERS - 1}
    assert VneidLink.query.count() == 1 and len(events("vneid.linked")) == 1


def test_one_identity_linking_two_accounts_at_once_gets_one(app):
    ids = [account_for("0000000001", cccd=None).id, account_for("0000000002", cccd=None).id]

    def attempt(i):
        links.link(identity(), db.session.get(Account, ids[i % 2]), how="staff",
                   reason="staff_review", actor=CLI)
        return "linked"

    outcomes = Counter(race(RACERS, _in_context(app, attempt)))
    assert outcomes["linked"] == 1
    assert set(outcomes) <= {"linked", "subject_already_linked", "account_already_linked"}
    assert VneidLink.query.count() == 1


def test_one_identity_signing_in_at_once_links_once(app):
    account_id = account_for().id

    outcomes = race(RACERS, _in_context(app, lambda i: _settled(links.settle(
        identity(), register_knows=False))))
    assert Counter(kind for kind, _ in outcomes) == {"link": 1, "sign_in": RACERS - 1}
    assert {settled for _, settled in outcomes} == {account_id}
    assert VneidLink.query.count() == 1 and len(sms_templates()) == 1
    assert LinkReview.query.count() == 0


def test_one_proof_submitted_at_once_links_once(app):
    # Ids, never the test's own objects: a thread touching them would use the test's session.
    account_id = account_for(level=1).id

    outcomes = race(RACERS, _in_context(app, lambda i: _settled(links.link_proven(
        identity(), account_id))))
    assert Counter(kind for kind, _ in outcomes) == {"prove": 1, "sign_in": RACERS - 1}
    assert VneidLink.query.count() == 1 and len(events("vneid.linked")) == 1


def test_one_identity_created_at_once_makes_one_account(app):
    outcomes = race(RACERS, _in_context(app, lambda i: _settled(links.settle(
        identity(), register_knows=True, bhxh="7912345678"))))
    assert Counter(kind for kind, _ in outcomes) == {"create": 1, "sign_in": RACERS - 1}
    [account] = Account.query.all()
    assert {account_id for _, account_id in outcomes} == {account.id}
    assert VneidLink.query.count() == 1 and len(events("account.created")) == 1
    assert sms_templates() == [("vneid_account_created", "+84 9** *** *21")]


def test_one_identity_opening_its_case_at_once_opens_one(app):
    account_for("0000000001")
    account_for("0000000002")

    outcomes = race(RACERS, _in_context(app, lambda i: links.settle(
        identity(), register_knows=False).case.id))
    assert len(set(outcomes)) == 1
    assert LinkReview.query.count() == 1 and len(events("link_review.opened")) == 1


def test_staff_resolving_one_case_at_once_one_decides(app):
    account_for("0000000001")
    account_for("0000000002")
    case_id = links.settle(identity(), register_knows=False).case.id

    def attempt(i):
        if i % 2:
            links.resolve_case(case_id, actor=CLI, reason=f"quyết định {i}", reject=True)
            return "rejected"
        links.resolve_case(case_id, actor=CLI, reason=f"quyết định {i}",
                           bhxh=f"000000000{1 + i // 2 % 2}")
        return "linked"

    outcomes = Counter(race(RACERS, _in_context(app, attempt)))
    assert outcomes["case_not_open"] == RACERS - 1, outcomes
    case = link_reviews.get_case(case_id)
    assert case.status == "resolved" and len(events("link_review.resolved")) == 1
    assert VneidLink.query.count() == (1 if case.resolution == "linked" else 0)
    assert audit.verify()[1] is None


# --- the race lost at the worst moment, every time -----------------------------------------


@contextmanager
def _competitor_commits_first(app, subject: str, account_id: int):
    """Just before this session's first link insert reaches the database, another connection
    (a thread of its own) commits a link of ``subject`` to ``account_id``: the decision was
    taken on facts that are gone by the time it is carried out."""
    fired = []

    def compete():
        with app.app_context():
            try:
                links.link(identity(subject), db.session.get(Account, account_id),
                           how="staff", reason="staff_review", actor=CLI)
            finally:
                db.session.remove()

    def before_flush(session, _context, _instances):
        if not fired and any(isinstance(o, VneidLink) for o in session.new):
            fired.append(True)
            in_thread(compete)

    event.listen(Session, "before_flush", before_flush)
    try:
        yield fired
    finally:
        event.remove(Session, "before_flush", before_flush)


def test_a_lost_race_to_another_identity_is_decided_again_into_review(app):
    account_id = account_for().id
    with _competitor_commits_first(app, "subject-fast", account_id) as fired:
        result = links.settle(identity(), register_knows=False)
    assert fired
    assert result.decision == LinkDecision("review", "linked_elsewhere", None, (account_id,))
    [row] = VneidLink.query.all()
    assert row.subject == "subject-fast"
    assert len(events("vneid.linked")) == 1 and len(sms_templates()) == 1


def test_a_lost_race_to_itself_is_decided_again_into_a_sign_in(app):
    account_id = account_for(level=1).id
    with _competitor_commits_first(app, identity().subject, account_id) as fired:
        result = links.link_proven(identity(), account_id)
    assert fired
    assert result.decision == LinkDecision("sign_in", "already_linked", account_id)
    assert VneidLink.query.count() == 1 and len(events("vneid.linked")) == 1
