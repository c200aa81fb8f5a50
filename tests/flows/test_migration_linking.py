"""`migrate import-verification` and `migrate link-vneid` after `import-legacy`, on the suite's
backend: the population flag the linking rules read, and links decided by the same rules as a
VNeID sign-in (gateway/services/links.decide_for), conflicts in the staff review queue."""

from __future__ import annotations

import csv
from datetime import date

from sqlalchemy import text

from gateway.extensions import db
from gateway.models import Account, LinkReview, VneidLink
from gateway.services.links import decide_for
from policies.linking import VneidIdentity
from tests.helpers import new_account
from tests.helpers.migration import dump, export, report_lines, run, table_counts


def _import(app, tmp_path, rows=120, seed=31, dirty=0.0):
    path, manifest = export(tmp_path, rows, seed=seed, dirty=dirty)
    code, result, _ = run(app, "import-legacy", path, "--json")
    assert code == 0
    return path, manifest


def _write(path, header, rows):
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _people(path):
    return [row for row in csv.DictReader(path.open(encoding="utf-8"))
            if len(row["id_number"]) == 12]


def test_verification_sets_the_flag_of_the_accounts_it_describes(app, tmp_path):
    legacy, _ = _import(app, tmp_path)
    people = _people(legacy)
    a, b, c, d = people[:4]
    file = _write(tmp_path / "verification.csv", ["id_number", "full_name", "date_of_birth",
                                                   "verified", "verified_at"], [
        [a["id_number"], a["full_name"].upper(), a["date_of_birth"], "true",
         "2024-03-01T08:00:00Z"],                                    # names agree ignoring case
        [b["id_number"], b["full_name"], b["date_of_birth"], "false", ""],
        [c["id_number"], "Người Khác Hẳn", c["date_of_birth"], "true", "2024-03-01T08:00:00Z"],
        ["001099999999", "Không Có Ai", "1999-01-01", "true", "2024-03-01T08:00:00Z"],
        [a["id_number"], a["full_name"], a["date_of_birth"], "false", ""],  # a second line
        [d["id_number"], d["full_name"], d["date_of_birth"], "maybe", ""],
    ])
    code, result, _ = run(app, "import-verification", file, "--json", "--chunk-rows", 10)
    assert code == 0
    assert (result["rows"], result["inserted"], result["updated"], result["unchanged"]) == (
        6, 0, 1, 1)
    assert result["rejected"] == {"name_mismatch": 1, "no_account": 1,
                                  "duplicate_id_number": 1, "invalid_verified": 1}
    flagged = {x.bhxh: x.population_verified_at for x in Account.query.all()}
    assert flagged[a["bhxh_number"]] is not None and flagged[b["bhxh_number"]] is None
    assert sum(v is not None for v in flagged.values()) == 1
    assert [r[1] for r in report_lines(result["report"])] == [
        "name_mismatch", "no_account", "duplicate_id_number", "invalid_verified"]
    # Run again as a new job: nothing changes.
    before = dump()
    code, again, _ = run(app, "import-verification", file, "--json", "--rerun")
    assert (again["updated"], again["unchanged"]) == (0, 2) and dump() == before


def test_generated_verification_and_vneid_files_follow_the_rules(app, tmp_path):
    legacy, _ = _import(app, tmp_path, rows=300, seed=32)
    stem = legacy.with_suffix("")
    code, verified, _ = run(app, "import-verification", f"{stem}-verification.csv", "--json")
    assert code == 0 and verified["rejected"] == {}
    code, linked, _ = run(app, "link-vneid", f"{stem}-vneid.csv", "--json", "--chunk-rows", 40)
    assert code == 0
    assert linked["inserted"] == VneidLink.query.count() > 0
    assert linked["inserted"] + sum(linked["rejected"].values()) == linked["rows"]
    assert set(linked["rejected"]) <= {"identity_level_1", "account_unverified"}
    # Every link agrees with what a sign-in would decide now: the subject signs in to it.
    for row in csv.DictReader(open(f"{stem}-vneid.csv", encoding="utf-8")):
        identity = VneidIdentity(row["vneid_subject"], row["id_number"], row["full_name"],
                                 date.fromisoformat(row["date_of_birth"]), None, None,
                                 int(row["level"]), None)
        decision = decide_for(identity, register_knows=False)
        link = VneidLink.query.filter_by(subject=row["vneid_subject"]).first()
        if link is not None:
            assert (decision.kind, decision.account_id) == ("sign_in", link.account_id)
            assert db.session.get(Account, link.account_id).level == max(1, int(row["level"]))
        else:
            assert decision.kind == "prove"
    before, counts = dump(), table_counts()
    code, again, _ = run(app, "link-vneid", f"{stem}-vneid.csv", "--json", "--rerun")
    assert (again["inserted"], again["unchanged"]) == (0, linked["inserted"])
    assert dump() == before and VneidLink.query.count() == linked["inserted"]
    assert table_counts()["accounts"] == counts["accounts"]


def test_conflicts_go_to_the_review_queue(app, tmp_path):
    legacy, _ = _import(app, tmp_path, rows=60, seed=33)
    people = _people(legacy)
    a, b, c = people[:3]
    # Verified accounts, so that only the conflicts below stop a link.
    db.session.execute(text("UPDATE accounts SET population_verified_at = created_at"))
    db.session.commit()
    # A second account holding a's CCCD (the same person imported twice, say).
    twin = new_account(bhxh="9999999999", cccd=None, phone="0912000001")
    twin.cccd, twin.full_name = a["id_number"], a["full_name"]
    twin.dob = date.fromisoformat(a["date_of_birth"])
    db.session.commit()
    file = _write(tmp_path / "vneid.csv", ["vneid_subject", "id_number", "full_name",
                                           "date_of_birth", "level"], [
        ["subject-a", a["id_number"], a["full_name"], a["date_of_birth"], "2"],
        ["subject-b", b["id_number"], "Tên Khác", b["date_of_birth"], "2"],
        ["subject-c", c["id_number"], c["full_name"], c["date_of_birth"], "2"],
        ["subject-c2", c["id_number"], c["full_name"], c["date_of_birth"], "2"],
        ["subject-c", b["id_number"], b["full_name"], b["date_of_birth"], "2"],
        ["subject-x", "001099999999", "Không Có Ai", "1999-01-01", "2"],
        ["subject-y", c["id_number"], c["full_name"], c["date_of_birth"], "3"],
    ])
    code, result, _ = run(app, "link-vneid", file, "--json")
    assert code == 0
    assert result["inserted"] == 1
    assert result["rejected"] == {"several_candidates": 1, "name_mismatch": 1,
                                  "linked_elsewhere": 1, "duplicate_subject": 1,
                                  "no_account": 1, "invalid_level": 1}
    [link] = VneidLink.query.all()
    assert link.subject == "subject-c" and link.how == "auto"
    cases = {case.subject: case for case in LinkReview.query.all()}
    assert {s: cases[s].reason for s in cases} == {
        "subject-a": "several_candidates", "subject-b": "name_mismatch",
        "subject-c2": "linked_elsewhere"}
    assert sorted(cases["subject-a"].candidate_ids) == sorted(
        [twin.id, Account.query.filter_by(bhxh=a["bhxh_number"]).one().id])
    assert cases["subject-a"].status == "open"
    # Run again: the open cases stay one per subject, nothing is linked twice.
    code, again, _ = run(app, "link-vneid", file, "--json", "--rerun")
    assert LinkReview.query.count() == 3 and VneidLink.query.count() == 1
    assert again["unchanged"] == 1 and again["inserted"] == 0


def test_a_dry_run_links_nothing(app, tmp_path):
    legacy, _ = _import(app, tmp_path, rows=100, seed=34)
    stem = legacy.with_suffix("")
    run(app, "import-verification", f"{stem}-verification.csv", "--json")
    before, counts = dump(), table_counts()
    code, dry, _ = run(app, "link-vneid", f"{stem}-vneid.csv", "--json", "--dry-run")
    assert code == 0 and dry["inserted"] > 0
    assert dump() == before and table_counts() == counts and VneidLink.query.count() == 0
