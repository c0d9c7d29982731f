"""The job state machine: every change to a job or chapter goes through these functions.

Each function takes the session first and changes only what its name says. State changes lock
the job row first (FOR UPDATE on PostgreSQL; on SQLite every transaction already holds the write
lock), so concurrent chapter tasks, cancellation and the watchdog see one order of events.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from narration.document import Document, document_from_dict, document_to_dict, opening
from narration.errors import NarrationError
from state.feeds import job_changed, publish_job
from state.models import ACTIVE, Job, JobChapter, utcnow
from state.views import job_view  # noqa: F401  (the API resource; re-exported here)

if TYPE_CHECKING:
    from narration.script import ChapterScript

Plan = Sequence[tuple[str, int, int]]
"""Per chapter: (title, sentences, characters), as `script_plan` makes it."""


class IdempotencyConflict(NarrationError):
    """An Idempotency-Key was reused for a different request body."""

    code = "idempotency_conflict"
    status = 422


def script_plan(scripts: Iterable[ChapterScript]) -> list[tuple[str, int, int]]:
    """The plan `create_job` takes: titles and sizes of the chapters `build_script` made.

    Characters are counted in the spoken (normalized) text: that is what synthesis time follows.
    """
    return [(script.title, len(script.utterances), sum(len(u.spoken) for u in script.utterances))
            for script in scripts]


def create_job(session: Session, *, document: Document | dict, voice: str, speed: float,
               source: str, plan: Plan, idempotency_key: str | None = None,
               request_hash: str | None = None, user_id: str | None = None) -> tuple[Job, bool]:
    """A new queued job, or (the earlier job, False) when the idempotency key was seen before.

    Idempotency keys are the user's own: they are stored prefixed with the user's id.
    """
    if idempotency_key is not None and user_id is not None:
        idempotency_key = f"{user_id}:{idempotency_key}"
    if idempotency_key is not None:
        existing = session.scalar(select(Job).where(Job.idempotency_key == idempotency_key))
        if existing is not None:
            return _same_request(existing, request_hash), False
    data = document if isinstance(document, dict) else document_to_dict(document)
    meta = data.get("metadata", {})
    description = opening(document_from_dict(data)) if {"metadata", "chapters"} <= set(data) else ""
    now = utcnow()
    job = Job(
        id=str(uuid.uuid4()), user_id=user_id, status="queued",
        title=meta.get("title") or meta.get("headline") or "", author=meta.get("author") or "",
        voice=voice, speed=speed, source=source, document=data, description=description,
        idempotency_key=idempotency_key, request_hash=request_hash, chapters_total=len(plan),
        sentences_total=sum(p[1] for p in plan), sentences_done=0,
        chars_total=sum(p[2] for p in plan), chars_done=0, created_at=now, heartbeat_at=now,
        attempts=0, assembly_attempts=0,
        chapters=[JobChapter(index=i, title=title, status="queued", sentences_total=sentences,
                             sentences_done=0, chars_total=chars, chars_done=0, attempts=0)
                  for i, (title, sentences, chars) in enumerate(plan)])
    try:
        # A savepoint, so a concurrent request that inserted the same key first only undoes this.
        with session.begin_nested():
            session.add(job)
    except IntegrityError:
        if idempotency_key is None:
            raise
        existing = session.scalar(select(Job).where(Job.idempotency_key == idempotency_key))
        return _same_request(existing, request_hash), False
    return job, True


def _same_request(job: Job, request_hash: str | None) -> Job:
    """The job an idempotent retry asks for; a different body under the same key is refused."""
    if job.request_hash != request_hash:
        raise IdempotencyConflict(
            "This Idempotency-Key was already used for a different request; send the same body "
            "to get the earlier narration, or use a new key for a new one.",
            field="Idempotency-Key")
    return job


def get_job(session: Session, job_id: str) -> Job | None:
    """The job with this id, or None."""
    return session.get(Job, job_id)


def owned_job(session: Session, user_id: str, job_id: str) -> Job | None:
    """The user's job with this id; None for unknown ids and other users' jobs alike."""
    job = session.get(Job, job_id)
    return job if job is not None and job.user_id == user_id else None


def list_jobs(session: Session, *, limit: int, before: str | None = None,
              user_id: str | None = None) -> list[Job]:
    """Newest first, of one user when `user_id` is given; `before` is the id of the last job of
    the previous page (unknown id: [])."""
    query = select(Job).order_by(Job.created_at.desc(), Job.id.desc()).limit(limit)
    if user_id is not None:
        query = query.where(Job.user_id == user_id)
    if before is not None:
        cursor = session.get(Job, before)
        if cursor is None or (user_id is not None and cursor.user_id != user_id):
            return []
        query = query.where(or_(Job.created_at < cursor.created_at,
                                (Job.created_at == cursor.created_at) & (Job.id < cursor.id)))
    return list(session.scalars(query))


def _lock(session: Session, job_id: str) -> Job | None:
    """The job, freshly read and locked for the rest of the transaction."""
    return session.get(Job, job_id, with_for_update=True, populate_existing=True)


def _chapter(job: Job, index: int) -> JobChapter:
    """Chapter `index` of a locked job."""
    for chapter in job.chapters:
        if chapter.index == index:
            return chapter
    raise LookupError(f"job {job.id} has no chapter {index}")


def _recount(job: Job) -> None:
    """Job totals as the sum of its chapters, so a re-run chapter never counts twice."""
    job.sentences_total = sum(c.sentences_total for c in job.chapters)
    job.sentences_done = sum(c.sentences_done for c in job.chapters)
    job.chars_total = sum(c.chars_total for c in job.chapters)
    job.chars_done = sum(c.chars_done for c in job.chapters)


def mark_enqueued(session: Session, job_id: str) -> Job | None:
    """Count one more trip to the queue; chapters left 'running' by a dead worker go back to queued.

    None when the job is gone or already finished (nothing to enqueue).
    """
    job = _lock(session, job_id)
    if job is None or job.terminal:
        return None
    job.attempts += 1
    job.heartbeat_at = utcnow()
    for chapter in job.chapters:
        if chapter.status == "running":
            chapter.status = "queued"
    return job


def start_chapter(session: Session, job_id: str, index: int, *, max_attempts: int | None = None,
                  worker: str | None = None, sentences_total: int | None = None,
                  chars_total: int | None = None) -> bool:
    """Mark a chapter running; False when its task must do nothing (job over or chapter done).

    Each start counts as a delivery: past `max_attempts` the job fails instead, so a chapter whose
    worker process dies every time cannot loop forever. `sentences_total`/`chars_total` correct
    the plan with the counts of the script the worker actually speaks.
    """
    job = _lock(session, job_id)
    if job is None or job.terminal:
        return False
    chapter = _chapter(job, index)
    if chapter.status == "done":
        return False
    chapter.attempts += 1
    if max_attempts is not None and chapter.attempts > max_attempts:
        _fail(job, "redelivery_limit",
              f"Chapter {index + 1} ({chapter.title!r}) was started {max_attempts} times and never "
              "finished: its worker process died each time (out of memory, or killed). Submit the "
              "text again; if it keeps failing, split that chapter.")
        return False
    now = utcnow()
    job.status = "running"
    job.started_at = job.started_at or now
    job.heartbeat_at = now
    chapter.status = "running"
    chapter.started_at = chapter.started_at or now
    chapter.worker = worker
    if sentences_total is not None and chars_total is not None:
        chapter.sentences_total, chapter.chars_total = sentences_total, chars_total
    _recount(job)
    return True


def record_progress(session: Session, job_id: str, index: int, sentences_done: int,
                    chars_done: int) -> str | None:
    """Store a chapter's progress (counts so far, never lowered) and beat the job's heartbeat.

    Returns the job's status, so the caller learns of a cancellation in the same transaction.
    """
    job = _lock(session, job_id)
    if job is None:
        return None
    if job.terminal:
        return job.status
    chapter = _chapter(job, index)
    # A redelivered chapter starts counting again; progress shown to users never goes back.
    chapter.sentences_done = max(chapter.sentences_done, sentences_done)
    chapter.chars_done = max(chapter.chars_done, chars_done)
    job.heartbeat_at = utcnow()
    _recount(job)
    return job.status


def finish_chapter(session: Session, job_id: str, index: int, duration: float) -> bool:
    """Mark a chapter done with its length in seconds; False if the job ended meanwhile."""
    job = _lock(session, job_id)
    if job is None or job.terminal:
        return False
    chapter = _chapter(job, index)
    now = utcnow()
    chapter.status = "done"
    chapter.sentences_done, chapter.chars_done = chapter.sentences_total, chapter.chars_total
    chapter.duration = duration
    chapter.finished_at = now
    job.heartbeat_at = now
    _recount(job)
    return True


def all_chapters_done(session: Session, job_id: str) -> bool:
    """True when every chapter of the job is done (assembly may start)."""
    statuses = session.scalars(select(JobChapter.status).where(JobChapter.job_id == job_id)).all()
    return bool(statuses) and all(status == "done" for status in statuses)


def start_assembly(session: Session, job_id: str, *, max_attempts: int | None = None) -> bool:
    """Whether the assembly task should run now; counts deliveries like `start_chapter`."""
    job = _lock(session, job_id)
    if job is None or job.terminal or not all(c.status == "done" for c in job.chapters):
        return False
    job.assembly_attempts += 1
    if max_attempts is not None and job.assembly_attempts > max_attempts:
        _fail(job, "redelivery_limit",
              f"Assembling the episode was started {max_attempts} times and never finished: its "
              "worker process died each time (out of memory, or killed). Submit the text again.")
        return False
    job.heartbeat_at = utcnow()
    return True


def finish_job(session: Session, job_id: str, *, duration: float, mp3_size: int) -> bool:
    """Mark the job done with its outputs' facts; False if it was canceled or failed meanwhile."""
    job = _lock(session, job_id)
    if job is None or job.status != "running":
        return False
    now = utcnow()
    job.status = "done"
    job.duration = duration
    job.mp3_size = mp3_size
    job.finished_at = job.heartbeat_at = now
    _recount(job)
    publish_job(session, job_id)
    return True


def rename_job(session: Session, job: Job, title: str) -> None:
    """Give a narration a new title; feeds show it, under the same guid (no duplicate episode)."""
    if title != job.title:
        job.title = title
        job_changed(session, job.id)


def fail_job(session: Session, job_id: str, code: str, message: str) -> bool:
    """Mark the job failed with a reason users can read; a no-op on a finished job."""
    job = _lock(session, job_id)
    if job is None or job.terminal:
        return False
    _fail(job, code, message)
    return True


def _fail(job: Job, code: str, message: str) -> None:
    job.status = "failed"
    job.error_code = code
    job.error_message = message
    job.finished_at = utcnow()
    for chapter in job.chapters:
        if chapter.status != "done":
            chapter.status = "failed"


def cancel_job(session: Session, job_id: str) -> Job | None:
    """Cancel a queued or running job; a finished job is returned unchanged. None if unknown."""
    job = _lock(session, job_id)
    if job is None or job.terminal:
        return job
    job.status = "canceled"
    job.finished_at = utcnow()
    for chapter in job.chapters:
        if chapter.status != "done":
            chapter.status = "canceled"
    return job


def retry_job(session: Session, job_id: str) -> Job | None:
    """Put a failed or canceled job back in the queue's hands, every chapter afresh.

    Returns the job when it may be queued again, None when it is not failed or canceled. All
    chapters are redone because a failed job's media may be gone (or was never fully written);
    the workers' sentence cache makes already-spoken sentences cheap. Delivery counters start
    afresh: the retry is the user's decision, not a redelivery.
    """
    job = _lock(session, job_id)
    if job is None or job.status not in ("failed", "canceled"):
        return None
    now = utcnow()
    job.status = "queued"
    job.error_code = job.error_message = None
    job.finished_at = None
    job.heartbeat_at = now
    job.attempts = job.assembly_attempts = 0
    for chapter in job.chapters:
        chapter.status, chapter.attempts = "queued", 0
        chapter.sentences_done = chapter.chars_done = 0
        chapter.duration = chapter.finished_at = None
    _recount(job)
    return job


def stalled_jobs(session: Session, *, silent_for: timedelta,
                 now: datetime | None = None) -> list[Job]:
    """Queued or running jobs with no heartbeat for longer than `silent_for`, oldest first."""
    cutoff = (now or utcnow()) - silent_for
    query = (select(Job).where(Job.status.in_(ACTIVE), Job.heartbeat_at < cutoff)
             .order_by(Job.heartbeat_at))
    return list(session.scalars(query))


def claim_stalled(session: Session, job_id: str, *, silent_for: timedelta) -> bool:
    """Take charge of a stalled job by beating its heartbeat; False if it is not stalled any more.

    One conditional UPDATE, so of several watchdogs (one per worker host) only one acts on a job.
    """
    now = utcnow()
    result = session.execute(
        update(Job).where(Job.id == job_id, Job.status.in_(ACTIVE),
                          Job.heartbeat_at < now - silent_for)
        .values(heartbeat_at=now).execution_options(synchronize_session=False))
    return result.rowcount == 1


def touch_job(session: Session, job_id: str) -> None:
    """Beat the heartbeat of a job whose task is busy without sentence progress (assembly)."""
    session.execute(update(Job).where(Job.id == job_id).values(heartbeat_at=utcnow())
                    .execution_options(synchronize_session=False))
