"""One migration job's life in the database: open it, stage a chunk, merge a part, finish it.

Past 250 lines on purpose: every step's transaction and its record of having happened are
what resumability rests on, and they are read together when a crash is reasoned about.

Each step is one transaction that also records that it happened, so a process killed at any
moment (kill -9 included) leaves either the whole step or none of it, and a step run twice
— a queue job retried after its worker died, a second worker, a second command — does its
work once:

* a chunk (or part) row is locked (``SELECT … FOR UPDATE``) and its state read before any
  work; a run that finds it done does nothing. A dead worker's lock goes with its
  connection, so the next run never waits for a stalled queue job;
* the job is found again by (kind, file SHA-256): the same file resumes its unfinished job or
  reports the finished one.

The kinds' own work (what a line becomes, how a part is merged) lives beside this module
(legacy.py); the coordinator (coordinator.py) decides who runs the steps.
"""

from __future__ import annotations

from collections.abc import Iterator

from flask import current_app
from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from gateway.clock import utcnow
from gateway.extensions import db
from gateway.jobs.migration import files, legacy, staging, verification, vneid
from gateway.models import ImportChunk, ImportJob, ImportPart, ImportReject, StagedChunk
from gateway.services.events import emit

KINDS = {"legacy": legacy, "verification": verification, "vneid": vneid}
MAX_PARTS = 4096


class StagingLost(RuntimeError):
    """Chunks recorded staged whose rows are gone: PostgreSQL emptied its UNLOGGED staging
    tables in a crash recovery. Nothing reads the staging rows while it is so; the next run
    of the command stages those chunks again (recover_staging)."""


def kind_module(kind: str):
    return KINDS[kind]


def find_job(kind: str, sha256: str) -> ImportJob | None:
    """The latest job of this kind over a file with this SHA-256."""
    return db.session.scalars(select(ImportJob).where(
        ImportJob.kind == kind, ImportJob.file_sha256 == sha256,
    ).order_by(ImportJob.run.desc()).limit(1)).first()


def open_job(kind: str, plan: files.FilePlan, *, rerun: bool = False, fresh: bool = False,
             commit: bool = True) -> tuple[ImportJob, bool]:
    """(job, created): the unfinished job over this file, or the finished one (unless
    ``rerun``: then a new run over the same file), or a new one with its chunks and parts.
    ``fresh``: a new run whatever exists (a dry run, which is rolled back)."""
    latest = find_job(kind, plan.sha256)
    if latest is not None and not fresh and (latest.state != "done" or not rerun):
        return latest, False
    parts = max(1, min(len(plan.chunks), MAX_PARTS))
    job = ImportJob(kind=kind, file_path=plan.path, file_size=plan.size,
                    file_sha256=plan.sha256, run=(latest.run + 1) if latest else 1,
                    state="staging", lines=plan.lines, parts=parts, created_at=utcnow())
    db.session.add(job)
    try:
        db.session.flush()
    except IntegrityError:  # another command opened it at the same moment: use theirs
        db.session.rollback()
        return find_job(kind, plan.sha256), False
    db.session.add_all(ImportChunk(job_id=job.id, number=c.number, start_offset=c.start,
                                   end_offset=c.end, first_line=c.first_line, sha256=c.sha256,
                                   state="pending", rows=0, rejected=0) for c in plan.chunks)
    db.session.add_all(ImportPart(job_id=job.id, number=n, state="pending", inserted=0,
                                  updated=0, unchanged=0, rejected=0) for n in range(parts))
    emit("import_job.started", kind=kind, job_id=job.id, run=job.run, size=plan.size,
         lines=plan.lines, chunks=len(plan.chunks))
    _end(commit)
    return job, True


def _end(commit: bool) -> None:
    if commit:
        db.session.commit()
    else:
        db.session.flush()


def _locked(model, job_id: int, number: int):
    return db.session.scalars(select(model).where(
        model.job_id == job_id, model.number == number).with_for_update()).one()


def stage_chunk(job_id: int, number: int, *, commit: bool = True) -> bool:
    """Stage one chunk; False if it was staged already (by this or another worker)."""
    chunk = _locked(ImportChunk, job_id, number)
    if chunk.state != "pending":
        if commit:
            db.session.rollback()  # let the lock go
        return False
    job = db.session.get(ImportJob, job_id)
    kind = kind_module(job.kind)
    plan = files.ChunkPlan(chunk.number, chunk.start_offset, chunk.end_offset,
                           chunk.first_line, chunk.sha256)
    rows, rejects, count = kind.stage_lines(
        job, files.read_chunk(job.file_path, plan), today=utcnow().date())
    kind.copy_rows(rows)
    staging.insert_rejects(rejects, _insert(ImportReject))
    db.session.execute(StagedChunk.__table__.insert(), {"job_id": job_id, "number": number})
    chunk.state, chunk.rows, chunk.rejected = "staged", count, len(rejects)
    chunk.staged_at = utcnow()
    _end(commit)
    return True


def _insert(model):
    dialect = db.session.get_bind().dialect.name
    return (postgresql if dialect == "postgresql" else sqlite).insert(model)


def _lost(job_id: int):
    """The job's chunks recorded staged whose mark is gone (with their rows)."""
    return select(ImportChunk).where(
        ImportChunk.job_id == job_id, ImportChunk.state == "staged",
        ~select(StagedChunk.number).where(StagedChunk.job_id == job_id,
                                          StagedChunk.number == ImportChunk.number).exists())


def check_staging(job_id: int) -> None:
    """StagingLost unless every chunk recorded staged still has its rows."""
    lost = db.session.scalars(_lost(job_id).with_only_columns(ImportChunk.number)
                              .order_by(ImportChunk.number).limit(10)).all()
    if lost:
        raise StagingLost(
            f"job {job_id}: the staged rows of chunks {', '.join(map(str, lost))} are gone "
            "(PostgreSQL restarted after a crash?); run the same command again: it stages "
            "them again")


def recover_staging(job_id: int, *, commit: bool = True) -> list[int]:
    """Make the chunks whose staged rows a crash emptied pending again (and a job already
    merging, staging again: its whole-file step, link-vneid's duplicate subjects, is redone
    once they are back). The parts merged already stay merged. Returns those chunks."""
    job = db.session.scalars(select(ImportJob).where(ImportJob.id == job_id)
                             .with_for_update()).one()
    lost = [] if job.state == "done" else db.session.scalars(
        _lost(job_id).order_by(ImportChunk.number).with_for_update()).all()
    if lost:
        staged = kind_module(job.kind).STAGING
        ends = dict(db.session.execute(select(ImportChunk.number, ImportChunk.first_line)
                                       .where(ImportChunk.job_id == job_id)).all())
        for chunk in lost:
            # None after a crash; whatever a partial loss left, so the chunk stages anew.
            rows = staged.delete().where(staged.c.job_id == job_id,
                                         staged.c.line >= chunk.first_line)
            if chunk.number + 1 in ends:
                rows = rows.where(staged.c.line < ends[chunk.number + 1])
            db.session.execute(rows)
            chunk.state, chunk.rows, chunk.rejected, chunk.staged_at = "pending", 0, 0, None
        if job.state == "merging":
            job.state = "staging"
        emit("import_job.staging_lost", kind=job.kind, job_id=job.id, run=job.run,
             chunks=len(lost))
    _end(commit)
    return [chunk.number for chunk in lost]


def merge_part(job_id: int, number: int, *, commit: bool = True) -> bool:
    """Merge one part into the accounts; False if it was merged already, or the job is not
    merging (staging again after a crash). Refused while a chunk is still to stage, or its
    staged rows are lost (the part would miss its rows)."""
    part = _locked(ImportPart, job_id, number)
    if part.state != "pending":
        if commit:
            db.session.rollback()
        return False
    job = db.session.get(ImportJob, job_id)
    if job.state != "merging":  # deferred by a run before a crash (recover_staging)
        if commit:
            db.session.rollback()
        return False
    if db.session.scalar(select(func.count()).select_from(ImportChunk).where(
            ImportChunk.job_id == job_id, ImportChunk.state != "staged")):
        raise RuntimeError(f"job {job_id}: part {number} merged before every chunk was staged")
    check_staging(job_id)
    counts = kind_module(job.kind).merge_part(job, number, now=utcnow(),
                                              config=current_app.config)
    for name, value in counts.items():
        setattr(part, name, value)
    part.state, part.merged_at = "merged", utcnow()
    _end(commit)
    return True


def start_merging(job_id: int, *, commit: bool = True) -> bool:
    """Move the job from staging to merging once every chunk is staged (once: the update is
    conditional), with the kind's whole-file step before the parts (link-vneid's duplicate
    subjects), in the same transaction. True when this call moved it."""
    moved = db.session.execute(update(ImportJob).where(
        ImportJob.id == job_id, ImportJob.state == "staging",
        ~select(ImportChunk.number).where(ImportChunk.job_id == job_id,
                                          ImportChunk.state != "staged").exists(),
    ).values(state="merging")).rowcount
    if moved == 1:
        check_staging(job_id)
        job = db.session.get(ImportJob, job_id)
        kind_module(job.kind).prepare(job)
    _end(commit)
    return moved == 1


def finish_job(job_id: int, *, commit: bool = True) -> dict:
    """The job's final report, computed and recorded once (later calls read it)."""
    job = db.session.scalars(select(ImportJob).where(ImportJob.id == job_id)
                             .with_for_update()).one()
    if job.state == "done":
        return job.result
    if db.session.scalar(select(func.count()).select_from(ImportPart).where(
            ImportPart.job_id == job_id, ImportPart.state != "merged")):
        raise RuntimeError(f"job {job_id}: finished before every part was merged")
    check_staging(job_id)
    kind_module(job.kind).finish(job)
    db.session.execute(delete(StagedChunk).where(StagedChunk.job_id == job_id))
    sums = db.session.execute(select(
        func.coalesce(func.sum(ImportPart.inserted), 0),
        func.coalesce(func.sum(ImportPart.updated), 0),
        func.coalesce(func.sum(ImportPart.unchanged), 0),
    ).where(ImportPart.job_id == job_id)).one()
    rows = db.session.scalar(select(func.coalesce(func.sum(ImportChunk.rows), 0))
                             .where(ImportChunk.job_id == job_id))
    result = {"job": job.id, "kind": job.kind, "run": job.run, "rows": int(rows),
              "inserted": int(sums[0]), "updated": int(sums[1]), "unchanged": int(sums[2]),
              "rejected": reasons(job_id, refused=True),
              "conflicts": reasons(job_id, refused=False)}
    job.state, job.result, job.finished_at = "done", result, utcnow()
    emit("import_job.finished", kind=job.kind, job_id=job.id, run=job.run, rows=result["rows"],
         inserted=result["inserted"], updated=result["updated"],
         unchanged=result["unchanged"], rejected=sum(result["rejected"].values()),
         conflicts=sum(result["conflicts"].values()))
    _end(commit)
    return result


def reasons(job_id: int, *, refused: bool) -> dict[str, int]:
    found = db.session.execute(select(ImportReject.reason, func.count()).where(
        ImportReject.job_id == job_id, ImportReject.refused.is_(refused),
    ).group_by(ImportReject.reason).order_by(ImportReject.reason)).all()
    return {reason: int(count) for reason, count in found}


def progress(job_id: int) -> dict:
    """Where the job stands, for the progress display and the coordinator."""
    job = db.session.get(ImportJob, job_id)
    db.session.refresh(job)
    staged = db.session.execute(select(
        func.count(), func.coalesce(func.sum(ImportChunk.rows), 0),
    ).where(ImportChunk.job_id == job_id, ImportChunk.state == "staged")).one()
    chunks = db.session.scalar(select(func.count()).select_from(ImportChunk)
                               .where(ImportChunk.job_id == job_id))
    merged = db.session.scalar(select(func.count()).select_from(ImportPart).where(
        ImportPart.job_id == job_id, ImportPart.state == "merged"))
    db.session.commit()  # end the read: the next poll must see other workers' commits
    return {"state": job.state, "lines": job.lines, "chunks": chunks,
            "chunks_staged": int(staged[0]), "rows_staged": int(staged[1]),
            "parts": job.parts, "parts_merged": int(merged)}


def claim(model, job_id: int) -> int | None:
    """A pending chunk (or part) of the job no other transaction holds, the last first,
    locked in this transaction; None when there is none."""
    return db.session.scalar(select(model.number).where(
        model.job_id == job_id, model.state == "pending").order_by(model.number.desc())
        .limit(1).with_for_update(skip_locked=True))


def pending(model, job_id: int) -> list[int]:
    numbers = db.session.scalars(select(model.number).where(
        model.job_id == job_id, model.state == "pending").order_by(model.number)).all()
    return list(numbers)


def report_rows(job_id: int, batch: int = 5000) -> Iterator[tuple]:
    """(line, reason, field, masked number, masked ID, imported?) by line, in batches (a
    report of millions of lines is never held in memory)."""
    after = (-1, "")
    while True:
        found = db.session.execute(select(
            ImportReject.line, ImportReject.reason, ImportReject.field, ImportReject.bhxh,
            ImportReject.id_number, ImportReject.refused,
        ).where(ImportReject.job_id == job_id,
                (ImportReject.line > after[0])
                | ((ImportReject.line == after[0]) & (ImportReject.reason > after[1])))
            .order_by(ImportReject.line, ImportReject.reason).limit(batch)).all()
        if not found:
            return
        yield from found
        after = (found[-1][0], found[-1][1])
