"""`flask --app wsgi migrate import-legacy` on the suite's backend, run as an operator runs it.

On PostgreSQL the command defers its chunks to the task queue and starts its own worker
process (`--workers 1`); on the embedded default it does the work in place. Either way: the
counts and the report follow the generated file's manifest, class by class of dirty row; a
second run changes nothing; a dry run writes nothing; imported accounts sign in with their
old password and must change it.
"""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import text

from bench.legacy_export import password_of
from gateway.crypto.password_hashing import argon2_parameters
from gateway.extensions import db
from gateway.methods.password import check_password
from gateway.models import Account
from tests.helpers import new_account
from tests.helpers.migration import dump, export, report_lines, run, table_counts

ROWS = 401  # dirty rows are every 20th; the last row (index 400) is clean


def expected(manifest: dict) -> tuple[dict, dict]:
    """(rejected, conflicts) by reason, as the import must report them for this manifest."""
    rejected, conflicts = Counter(), Counter()
    for kind, reason in manifest["reasons"].items():
        if reason == "shared_id_number":
            conflicts[reason] += 2 * manifest["dirty"][kind]  # both accounts' lines
        elif reason is not None:
            rejected[reason] += manifest["dirty"][kind]
    return dict(rejected), dict(conflicts)


def test_every_dirty_class_is_reported_with_its_reason(app, tmp_path):
    path, manifest = export(tmp_path, ROWS, seed=11)
    code, result, _ = run(app, "import-legacy", path, "--json", "--chunk-rows", 150)
    assert code == 0
    rejected, conflicts = expected(manifest)
    assert set(rejected) == {"unknown_cccd_province", "cccd_dob_mismatch", "cccd_sex_mismatch",
                             "invalid_id_number", "duplicate_bhxh", "phone_not_mobile",
                             "invalid_phone", "missing_field", "wrong_column_count",
                             "invalid_dob", "invalid_status", "invalid_password_hash",
                             "invalid_email"}
    assert result["rejected"] == rejected and result["conflicts"] == conflicts
    refused = sum(rejected.values())
    assert (result["rows"], result["inserted"], result["updated"], result["unchanged"]) == (
        ROWS, ROWS - refused, 0, 0)
    assert Account.query.count() == ROWS - refused
    # The report: one line per refused or conflicting line, identifiers masked.
    lines = report_lines(result["report"])
    assert Counter(reason for _, reason, *_ in lines) == Counter(rejected) + Counter(conflicts)
    assert all(bhxh in ("", "***") or bhxh.startswith("******") for _, _, _, bhxh, _, _ in lines)
    raw = path.read_text(encoding="utf-8")
    for line, reason, _field, bhxh, _id_number, imported in lines:
        assert imported == ("yes" if reason == "shared_id_number" else "no")
        if len(bhxh) == 10:  # the masked number is the line's own
            assert raw.splitlines()[int(line) - 1].split(",")[0].endswith(bhxh[-4:])
    assert not db.session.execute(text("SELECT count(*) FROM legacy_rows")).scalar()


def test_an_imported_account_keeps_its_data_and_its_old_password(app, tmp_path):
    path, _ = export(tmp_path, 40, seed=5, dirty=0)
    code, result, _ = run(app, "import-legacy", path, "--json")
    assert code == 0 and result["inserted"] == 40
    import csv

    first = next(csv.DictReader(path.open(encoding="utf-8")))
    account = Account.query.filter_by(bhxh=first["bhxh_number"]).one()
    assert (account.full_name, account.dob.isoformat(), account.sex, account.status) == (
        first["full_name"], first["date_of_birth"], first["sex"], first["status"])
    assert account.password_hash == first["password_hash"]
    assert account.must_change_password and account.level == 1
    assert account.imported_at is not None and len(account.sub) >= 32
    if first["status"] != "active":
        account.status = "active"
        db.session.commit()
    # The old password signs in once, and is moved to Argon2id at once.
    check_password(account.bhxh, password_of(5, 0), address="127.0.0.9")
    db.session.refresh(account)
    argon2_parameters(account.password_hash)
    assert account.must_change_password  # the sign-in flow will ask for a new password


def test_a_second_run_changes_nothing(app, tmp_path):
    path, _ = export(tmp_path, ROWS, seed=12)
    code, first, _ = run(app, "import-legacy", path, "--json", "--chunk-rows", 100)
    before, counts = dump(), table_counts()
    code, again, _ = run(app, "import-legacy", path, "--json")
    assert code == 0 and again["already_done"] and again["inserted"] == first["inserted"]
    assert dump() == before and table_counts() == counts
    code, rerun, _ = run(app, "import-legacy", path, "--json", "--rerun")
    assert code == 0 and not rerun["already_done"] and rerun["job"] != first["job"]
    assert (rerun["inserted"], rerun["updated"], rerun["unchanged"]) == (
        0, 0, first["inserted"])
    assert rerun["rejected"] == first["rejected"]
    assert dump() == before  # every column of every account, ids and subjects included


def test_a_dry_run_writes_nothing_and_says_what_a_run_would_do(app, tmp_path):
    path, _ = export(tmp_path, ROWS, seed=13)
    before, counts = dump(), table_counts()
    code, dry, _ = run(app, "import-legacy", path, "--json", "--dry-run", "--chunk-rows", 100)
    assert code == 0 and dry["dry_run"]
    assert dump() == before and table_counts() == counts
    assert len(report_lines(dry["report"])) == sum(dry["rejected"].values()) + sum(
        dry["conflicts"].values())
    code, real, _ = run(app, "import-legacy", path, "--json", "--chunk-rows", 100)
    assert {k: real[k] for k in ("rows", "inserted", "updated", "unchanged", "rejected",
                                 "conflicts")} == {
        k: dry[k] for k in ("rows", "inserted", "updated", "unchanged", "rejected",
                            "conflicts")}


def test_bom_crlf_and_a_truncated_last_line(app, tmp_path):
    path, manifest = export(tmp_path, ROWS, seed=14, bom=True, crlf=True, truncate=True)
    assert path.read_bytes().startswith(b"\xef\xbb\xbfbhxh_number,")
    code, result, _ = run(app, "import-legacy", path, "--json", "--chunk-rows", 64)
    assert code == 0
    rejected, _ = expected(manifest)
    assert result["rejected"] == {**rejected, "truncated_line": 1}
    [last] = [line for line in report_lines(result["report"]) if line[1] == "truncated_line"]
    assert int(last[0]) == ROWS + 1  # the header is line 1
    # CRLF did not leak into the data: the status column parsed, and no name ends in \r.
    assert not Account.query.filter(Account.status.not_in(("active", "locked"))).count()


def test_nfd_names_are_stored_nfc(app, tmp_path):
    import unicodedata

    path, manifest = export(tmp_path, ROWS, seed=15)
    assert manifest["dirty"]["nfd_name"] > 0
    assert unicodedata.normalize("NFD", path.read_text("utf-8")) != path.read_text("utf-8")
    code, _, _ = run(app, "import-legacy", path, "--json")
    names = [a.full_name for a in Account.query.all()]
    assert all(unicodedata.is_normalized("NFC", name) for name in names)


def test_an_export_never_overwrites_an_account_made_here(app, tmp_path):
    path, _ = export(tmp_path, 30, seed=16, dirty=0)
    import csv

    first = next(csv.DictReader(path.open(encoding="utf-8")))
    mine = new_account(bhxh=first["bhxh_number"])
    kept = (mine.full_name, mine.password_hash, mine.phone)
    code, result, _ = run(app, "import-legacy", path, "--json")
    assert result["rejected"] == {"account_exists": 1} and result["inserted"] == 29
    db.session.refresh(mine)
    assert (mine.full_name, mine.password_hash, mine.phone) == kept and mine.imported_at is None


def test_an_account_made_here_during_a_merge_is_not_overwritten(app, tmp_path):
    """An account with one of a part's numbers committed while the part is merged: on
    PostgreSQL the one-statement merge (a plain INSERT) waits for it, fails on the unique
    number, and the part is merged again by the ON CONFLICT path — the account made here is
    kept and the line reported ``account_exists``, the rest imported. (SQLite has one writer
    at a time: there the account is simply made before the merge, to the same end.)"""
    import csv
    import threading
    import time

    from gateway.jobs.migration import bookkeeping, files, staging
    from gateway.models import ImportChunk
    from gateway.services.accounts import create_account
    from policies.migration_rows import LEGACY_HEADER

    path, _ = export(tmp_path, 30, seed=18, dirty=0)
    first = next(csv.DictReader(path.open(encoding="utf-8")))
    job, _ = bookkeeping.open_job("legacy", files.plan_file(str(path), LEGACY_HEADER, 10))
    job_id, parts = job.id, job.parts
    for number in bookkeeping.pending(ImportChunk, job_id):
        bookkeeping.stage_chunk(job_id, number)
    assert bookkeeping.start_merging(job_id)
    part = staging.part_of(first["bhxh_number"], parts)
    others = [n for n in range(parts) if n != part]
    outcome = {}

    def merge():
        with app.app_context():
            try:
                outcome["merged"] = bookkeeping.merge_part(job_id, part)
            except BaseException as exc:  # noqa: BLE001 — re-raised below
                outcome["error"] = exc

    postgresql = db.engine.dialect.name == "postgresql"
    mine = create_account(bhxh=first["bhxh_number"], name="Trần Thị Bình", dob="1990-02-03",
                          phone="0912345680", password="Mật-khẩu-của-tôi-2026", via="test")
    kept = (mine.id, mine.full_name, mine.password_hash, mine.phone)
    if postgresql:
        db.session.flush()  # not committed yet: the merge starts without seeing it
        thread = threading.Thread(target=merge)
        thread.start()
        with db.engine.connect() as watcher:  # until the merge waits on this transaction
            deadline = time.monotonic() + 60
            while not watcher.execute(text(
                    "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock' AND query LIKE 'WITH repeated%'")).first():
                assert time.monotonic() < deadline, "the merge never waited for the account"
                watcher.rollback()
                time.sleep(0.02)
        db.session.commit()
        thread.join(60)
        assert not thread.is_alive()
    else:
        db.session.commit()
        merge()
    if "error" in outcome:
        raise outcome["error"]
    assert outcome["merged"] is True
    for number in others:
        bookkeeping.merge_part(job_id, number)
    result = bookkeeping.finish_job(job_id)
    assert result["rejected"] == {"account_exists": 1}
    assert (result["inserted"], result["updated"], result["unchanged"]) == (29, 0, 0)
    account = Account.query.filter_by(bhxh=first["bhxh_number"]).one()
    assert (account.id, account.full_name, account.password_hash, account.phone) == kept
    assert account.imported_at is None
    assert db.session.execute(text(
        "SELECT reason FROM import_rejects WHERE job_id = :j AND line = 2"),
        {"j": job_id}).scalar() == "account_exists"


def test_a_changed_export_updates_imported_accounts_but_not_a_password_changed_here(
        app, tmp_path):
    path, _ = export(tmp_path, 30, seed=17, dirty=0)
    run(app, "import-legacy", path, "--json")
    lines = path.read_text("utf-8").splitlines(keepends=True)
    header, rows = lines[0], lines[1:]
    moved = rows[0].split(",")
    moved[5] = "0987654321"  # a new phone number
    rows[0] = ",".join(moved)
    signed_in = rows[1].split(",")
    account = Account.query.filter_by(bhxh=signed_in[0]).one()
    account.password_hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$" + "A" * 43
    db.session.commit()
    changed = path.with_name("changed.csv")
    changed.write_text(header + "".join(rows), encoding="utf-8")
    code, result, _ = run(app, "import-legacy", changed, "--json")
    assert (result["inserted"], result["updated"], result["unchanged"]) == (0, 1, 29)
    assert Account.query.filter_by(bhxh=moved[0]).one().phone == "+84987654321"
    db.session.refresh(account)
    assert account.password_hash.startswith("$argon2id$")  # the gateway's password now


@pytest.mark.parametrize("content,code", [
    (b"", "empty_file"),
    (b"bhxh,name\n1,2\n", "bad_header"),
    (b"\xff\xfe\x00b\n", "bad_encoding"),
])
def test_a_file_that_is_not_an_export_is_refused_with_nothing_written(app, tmp_path,
                                                                      content, code):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    counts = table_counts()
    status, _, stderr = run(app, "import-legacy", path, "--json")
    assert status == 2 and f"error: file: {code}" in stderr
    assert table_counts() == counts


def test_a_missing_file_is_refused(app, tmp_path):
    status, _, stderr = run(app, "import-legacy", tmp_path / "nowhere.csv")
    assert status == 2 and "error: file: unreadable" in stderr
