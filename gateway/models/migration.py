"""The migration jobs' bookkeeping (gateway/jobs/migration/): what survives a crash of any
process, so a re-run resumes exactly where the committed work ends.

* ``ImportJob`` — one run over one file, found again by its SHA-256: its chunks and parts,
  its state, and at the end its counts.
* ``ImportChunk`` — a slice of the file, byte offsets at line starts, with the slice's own
  SHA-256 (a worker on another host checks it has the same bytes) and its first line's
  number. Staged in one transaction: the valid rows into the staging table, the refused
  ones into ``ImportReject``, and the chunk's state, together.
* ``ImportPart`` — a share of the staged rows by a hash of their key (the social-insurance
  number): merged into the accounts in one transaction, so a key's rows are always decided
  together, whichever worker stages which chunk, in whatever order.
* ``ImportReject`` — every refused or conflicting line: line number, stable reason, the
  column, and the identifiers masked (the report CSV is written from it).
* ``LegacyRow`` — the staging table of ``import-legacy``: a valid record waiting for its
  part's merge; deleted when the job ends (it holds personal data in clear). The staging
  tables have no foreign key to their job (migration 0022): checked per row, it cost more
  than the staging COPY itself, and only the job's own steps write them.
* ``StagedChunk`` — a mark per staged chunk, written with the chunk's rows.

The staging tables and the marks are UNLOGGED on PostgreSQL (migration 0020: no write-ahead
log, so staging writes a fraction of the bytes). PostgreSQL's crash recovery empties every
unlogged table, the marks with the rows: a chunk recorded ``staged`` without its mark has lost
its rows, and the job stages it again (bookkeeping.recover_staging) before anything reads
them.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from gateway.extensions import db


class ImportJob(db.Model):
    __tablename__ = "import_jobs"
    __table_args__ = (UniqueConstraint("kind", "file_sha256", "run",
                                       name="uq_import_jobs_kind_file_run"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # legacy | verification | vneid
    file_path: Mapped[str] = mapped_column(String(1000))
    file_size: Mapped[int] = mapped_column(BigInteger)
    file_sha256: Mapped[str] = mapped_column(String(64))
    run: Mapped[int] = mapped_column(Integer, default=1)  # 2, 3, …: `--rerun` of a done file
    # staging → merging → done
    state: Mapped[str] = mapped_column(String(16), default="staging")
    lines: Mapped[int] = mapped_column(BigInteger)  # data lines of the file (header excluded)
    parts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The final report, once done: rows, inserted, updated, unchanged, rejected, conflicts.
    result: Mapped[dict | None] = mapped_column(JSON)


class ImportChunk(db.Model):
    __tablename__ = "import_chunks"

    job_id: Mapped[int] = mapped_column(ForeignKey("import_jobs.id"), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    start_offset: Mapped[int] = mapped_column(BigInteger)
    end_offset: Mapped[int] = mapped_column(BigInteger)
    first_line: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending | staged
    rows: Mapped[int] = mapped_column(Integer, default=0)  # data lines read
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    staged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ImportPart(db.Model):
    __tablename__ = "import_parts"

    job_id: Mapped[int] = mapped_column(ForeignKey("import_jobs.id"), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending | merged
    inserted: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    merged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ImportReject(db.Model):
    __tablename__ = "import_rejects"

    job_id: Mapped[int] = mapped_column(ForeignKey("import_jobs.id"), primary_key=True)
    line: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    reason: Mapped[str] = mapped_column(String(32), primary_key=True)
    field: Mapped[str] = mapped_column(String(32), default="")
    bhxh: Mapped[str] = mapped_column(String(16), default="")  # masked: ******1234
    id_number: Mapped[str] = mapped_column(String(16), default="")  # masked: ********1234
    # True: the line was not imported; False: imported, and reported (a conflict).
    refused: Mapped[bool] = mapped_column(Boolean, default=True)


class StagedChunk(db.Model):
    """The staging rows of this chunk are there (UNLOGGED: gone with them after a crash)."""

    __tablename__ = "import_staged_chunks"
    job_id: Mapped[int] = mapped_column(ForeignKey("import_jobs.id"), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)


class LegacyRow(db.Model):
    __tablename__ = "legacy_rows"
    job_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # no foreign key: 0022
    # (job, part, line): one index both finds a part's rows and keeps a line staged once.
    part: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    line: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    sub: Mapped[str] = mapped_column(String(64))
    bhxh: Mapped[str] = mapped_column(String(10))
    full_name: Mapped[str] = mapped_column(String(200))
    dob: Mapped[date] = mapped_column(Date)
    sex: Mapped[str | None] = mapped_column(String(6))
    cccd: Mapped[str | None] = mapped_column(String(12))
    old_id_number: Mapped[str | None] = mapped_column(String(9))
    phone: Mapped[str] = mapped_column(String(16))
    email: Mapped[str | None] = mapped_column(String(254))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16))



class VerificationRow(db.Model):
    """The staging table of ``import-verification`` (deleted when the job ends)."""

    __tablename__ = "verification_rows"
    job_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # no foreign key: 0022
    # (job, part, line): one index both finds a part's rows and keeps a line staged once.
    part: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    line: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    id_number: Mapped[str] = mapped_column(String(12))
    full_name: Mapped[str] = mapped_column(String(200))
    dob: Mapped[date] = mapped_column(Date)
    verified: Mapped[bool] = mapped_column(Boolean)
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class VneidRow(db.Model):
    """The staging table of ``link-vneid`` (deleted when the job ends)."""

    __tablename__ = "vneid_rows"
    job_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # no foreign key: 0022
    # (job, part, line): one index both finds a part's rows and keeps a line staged once.
    part: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    line: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    subject: Mapped[str] = mapped_column(String(255))
    id_number: Mapped[str] = mapped_column(String(12))
    full_name: Mapped[str] = mapped_column(String(200))
    dob: Mapped[date] = mapped_column(Date)
    level: Mapped[int] = mapped_column(SmallInteger)
