"""`flask --app wsgi links list|show|resolve|unlink`: the review queue and unlinking for
operators, JSON out, refusals on stderr with status 2 and nothing changed."""

from __future__ import annotations

import json

import pytest

from gateway.extensions import db
from gateway.models import AuditRecord, VneidLink
from gateway.services import links
from tests.helpers.links import CCCD, account_for, identity, sms_templates


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


@pytest.fixture
def case(app):
    """An open case: two accounts hold the citizen's CCCD."""
    account_for("0000000001", level=1)
    account_for("0000000002")
    return links.settle(identity(), register_knows=False).case.id


def test_list_and_show_both_sides_masked(app, case):
    result = run(app, "links", "list", "--status", "open", "--json")
    assert result.exit_code == 0, result.output
    [listed] = json.loads(result.output)["cases"]
    assert listed["id"] == case and listed["reason"] == "several_candidates"
    assert listed["vneid"]["id_number"] == "********2345"
    assert [c["bhxh"] for c in listed["candidates"]] == ["******0001", "******0002"]
    assert CCCD not in result.output and "0000000001" not in result.output
    assert json.loads(run(app, "links", "list", "--status", "resolved").output) == {"cases": []}
    shown = run(app, "links", "show", str(case), "--json")
    assert shown.exit_code == 0 and json.loads(shown.output) == listed


def test_resolve_by_linking_then_unlink(app, case):
    result = run(app, "links", "resolve", str(case), "--account", "0000000001",
                 "--reason", "Đối chiếu giấy tờ tại quầy", "--json")
    assert result.exit_code == 0, result.output
    resolved = json.loads(result.output)
    assert (resolved["status"], resolved["resolution"], resolved["resolved_by"],
            resolved["resolution_reason"]) == ("resolved", "linked", "cli:links",
                                               "Đối chiếu giấy tờ tại quầy")
    assert VneidLink.query.one().how == "staff"
    again = run(app, "links", "resolve", str(case), "--reject", "--reason", "x")
    assert again.exit_code == 2 and again.stderr == "error: case: case_not_open (already " \
        "resolved)\n"

    result = run(app, "links", "unlink", "0000000001", "--reason", "Khách hàng yêu cầu",
                 "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "account_id": resolved["resolved_account_id"], "how": "staff", "level": 1,
        "revoked": 0, "bhxh": "******0001"}
    assert VneidLink.query.count() == 0
    assert [t for t, _ in sms_templates()] == ["vneid_linked", "vneid_unlinked"]
    assert [r.actor for r in AuditRecord.query.order_by(AuditRecord.seq)][-3:] == [
        "cli:links"] * 3


def test_resolve_by_rejecting(app, case):
    result = run(app, "links", "resolve", str(case), "--reject", "--reason", "Không khớp")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["resolution"] == "rejected"
    assert VneidLink.query.count() == 0


@pytest.mark.parametrize(("args", "stderr"), [
    (["resolve", "{case}", "--reason", "x"], "error: account: account_or_reject"),
    (["resolve", "{case}", "--account", "0000000001", "--reject", "--reason", "x"],
     "error: account: account_or_reject"),
    (["resolve", "{case}", "--reject", "--reason", " "], "error: reason: reason_required"),
    (["resolve", "{case}", "--account", "0000000009", "--reason", "x"],
     "error: account: unknown_account"),
    (["resolve", "999999", "--reject", "--reason", "x"], "error: case: unknown_case"),
    (["show", "999999"], "error: case: unknown_case"),
    (["unlink", "0000000001", "--reason", "x"], "error: account: not_linked"),
    (["unlink", "0000000009", "--reason", "x"], "error: bhxh: unknown_account"),
])
def test_refusals_exit_2_and_change_nothing(app, case, args, stderr):
    before = AuditRecord.query.count()
    result = run(app, "links", *(a.format(case=case) for a in args))
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(stderr), result.stderr
    db.session.expire_all()
    assert AuditRecord.query.count() == before and VneidLink.query.count() == 0
    assert links.settle(identity(), register_knows=False).case.id == case  # still open


def test_a_reason_is_required(app, case):
    result = run(app, "links", "resolve", str(case), "--reject")
    assert result.exit_code == 2 and "--reason" in result.output


def test_help_texts(app):
    assert "links" in run(app, "--help").output
    assert "review" in run(app, "links", "--help").output
    assert "oldest first" in run(app, "links", "list", "--help").output
    assert "agree" in run(app, "links", "show", "--help").output
    assert "--reject" in run(app, "links", "resolve", "--help").output
    assert "signed out" in run(app, "links", "unlink", "--help").output
