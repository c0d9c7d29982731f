"""The job state machine: every change to a job or its parts goes through these functions.

Each function takes the session first and changes only what its name says. State changes lock
the job row first (FOR UPDATE on PostgreSQL; on SQLite every transaction already holds the write
lock), so concurrent part tasks, cancellation and the watchdog see one order of events.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from narration.errors import NarrationError
from state.feeds import job_changed, publish_job
from state.models import ACTIVE, Job, JobPart, utcnow

if TYPE_CHECKING:
    from narration.pipeline import Part


class IdempotencyConflict(NarrationError):
    """An Idempotency-Key was reused for a different request body."""

    code = "idempotency_conflict"
    status = 422


def create_job(session: Session, *, request: dict, voice: str, speed: float, source: str,
               input_chars: int, title: str = "", author: str = "",
               idempotency_key: str | None = None, request_hash: str | None = None,
               user_id: str | None = None, quote_voice: str | None = None) -> tuple[Job, bool]:
    """A new queued, unplanned job holding what was sent, or (the earlier job, False) when the
    idempotency key was seen before.

    Idempotency keys are the user's own: they are stored prefixed with the user's id.
    """
    if idempotency_key is not None and user_id is not None:
        idempotency_key = f"{user_id}:{idempotency_key}"
    if idempotency_key is not None:
        existing = session.scalar(select(Job).where(Job.idempotency_key == idempotency_key))
        if existing is not None:
            return _same_request(existing, request_hash), False
    now = utcnow()
    job = Job(
        id=str(uuid.uuid4()), user_id=user_id, status="queued", title=title, author=author,
        voice=voice, quote_voice=quote_voice, speed=speed, source=source, request=request, input_chars=input_chars,
        description="", idempotency_key=idempotency_key, request_hash=request_hash,
        chapters_total=0, sentences_total=0, sentences_done=0, chars_total=0, chars_done=0,
        created_at=now, heartbeat_at=now, attempts=0, assembly_attempts=0, plan_attempts=0,
        recognition_check=bool(request.get("check")))
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


def part_rows(parts: Sequence[Part]) -> list[JobPart]:
    """Rows for the planned parts; characters are counted in the spoken (normalized) text, since
    that is what synthesis time follows."""
    return [JobPart(index=index, chapter=part.chapter, title=part.script.title, status="queued",
                    sentences_total=len(part.script.utterances), sentences_done=0,
                    chars_total=sum(len(u.spoken) for u in part.script.utterances), chars_done=0,
                    attempts=0)
            for index, part in enumerate(parts)]


def start_plan(session: Session, job_id: str, *, max_attempts: int | None = None) -> bool:
    """Whether the plan task should read the job now: it is active and not planned yet.

    Counts deliveries like `start_part`, so a text that kills its reader every time fails the
    job instead of looping.
    """
    job = _lock(session, job_id)
    if job is None or job.terminal or job.planned_at is not None:
        return False
    job.plan_attempts += 1
    if max_attempts is not None and job.plan_attempts > max_attempts:
        _fail(job, "redelivery_limit",
              f"Reading the text was started {max_attempts} times and never finished: its worker "
              "process died each time (out of memory, or killed). Submit a shorter text.")
        return False
    job.heartbeat_at = utcnow()  # the job stays queued until its first part starts
    return True


def record_plan(session: Session, job_id: str, *, document: dict, description: str,
                title: str, author: str, parts: Sequence[Part], names: dict | None = None) -> bool:
    """Store what the plan task read: the document, the episode's facts, its names check
    (`NamesReport.to_dict()`) and one row per part.

    False when the job ended (canceled) while it was being read; nothing is stored then.
    """
    job = _lock(session, job_id)
    if job is None or job.terminal or job.planned_at is not None:
        return False
    job.document = document
    job.description = description
    job.names = names
    job.title = job.title or title
    job.author = job.author or author
    job.parts = part_rows(parts)
    job.chapters_total = len({part.chapter for part in parts})
    job.planned_at = job.heartbeat_at = utcnow()
    _recount(job)
    job_changed(session, job_id)  # feeds show the title and description the text gave
    return True


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


def _part(job: Job, index: int) -> JobPart:
    """Part `index` of a locked job."""
    for part in job.parts:
        if part.index == index:
            return part
    raise LookupError(f"job {job.id} has no part {index}")


def _recount(job: Job) -> None:
    """Job totals as the sum of its parts, so a re-run part never counts twice."""
    job.sentences_total = sum(p.sentences_total for p in job.parts)
    job.sentences_done = sum(p.sentences_done for p in job.parts)
    job.chars_total = sum(p.chars_total for p in job.parts)
    job.chars_done = sum(p.chars_done for p in job.parts)


def mark_enqueued(session: Session, job_id: str) -> Job | None:
    """Count one more trip to the queue; parts left 'running' by a dead worker go back to queued.

    None when the job is gone or already finished (nothing to enqueue).
    """
    job = _lock(session, job_id)
    if job is None or job.terminal:
        return None
    job.attempts += 1
    job.heartbeat_at = utcnow()
    for part in job.parts:
        if part.status == "running":
            part.status = "queued"
    return job


def start_part(session: Session, job_id: str, index: int, *, max_attempts: int | None = None,
               worker: str | None = None) -> bool:
    """Mark a part running; False when its task must do nothing (job over or part done).

    Each start counts as a delivery: past `max_attempts` the job fails instead, so a part whose
    worker process dies every time cannot loop forever.
    """
    job = _lock(session, job_id)
    if job is None or job.terminal:
        return False
    part = _part(job, index)
    if part.status == "done":
        return False
    part.attempts += 1
    if max_attempts is not None and part.attempts > max_attempts:
        _fail(job, "redelivery_limit",
              f"Part {index + 1} (in chapter {part.title!r}) was started {max_attempts} times and "
              "never finished: its worker process died each time (out of memory, or killed). "
              "Submit the text again; if it keeps failing, split that chapter.")
        return False
    now = utcnow()
    job.status = "running"
    job.started_at = job.started_at or now
    job.heartbeat_at = now
    part.status = "running"
    part.started_at = part.started_at or now
    part.worker = worker
    return True


def record_progress(session: Session, job_id: str, index: int, sentences_done: int,
                    chars_done: int) -> str | None:
    """Store a part's progress (counts so far, never lowered) and beat the job's heartbeat.

    Returns the job's status, so the caller learns of a cancellation in the same transaction.
    """
    job = _lock(session, job_id)
    if job is None:
        return None
    if job.terminal:
        return job.status
    part = _part(job, index)
    # A redelivered part starts counting again; progress shown to users never goes back.
    part.sentences_done = max(part.sentences_done, sentences_done)
    part.chars_done = max(part.chars_done, chars_done)
    job.heartbeat_at = utcnow()
    _recount(job)
    return job.status


def finish_part(session: Session, job_id: str, index: int, duration: float) -> bool:
    """Mark a part done with its length in seconds; False if the job ended meanwhile."""
    job = _lock(session, job_id)
    if job is None or job.terminal:
        return False
    part = _part(job, index)
    now = utcnow()
    part.status = "done"
    part.sentences_done, part.chars_done = part.sentences_total, part.chars_total
    part.duration = duration
    part.finished_at = now
    job.heartbeat_at = now
    _recount(job)
    return True


def chapter_parts(job: Job, chapter: int) -> list[JobPart]:
    """The parts of one chapter, in order."""
    return [part for part in job.parts if part.chapter == chapter]


def start_join(session: Session, job_id: str, *, max_attempts: int | None = None) -> bool:
    """Whether the join task should run now; counts deliveries like `start_part`."""
    job = _lock(session, job_id)
    if (job is None or job.terminal or job.planned_at is None
            or not all(p.status == "done" for p in job.parts)):
        return False
    job.assembly_attempts += 1
    if max_attempts is not None and job.assembly_attempts > max_attempts:
        _fail(job, "redelivery_limit",
              f"Joining the episode was started {max_attempts} times and never finished: its "
              "worker process died each time (out of memory, or killed). Submit the text again.")
        return False
    job.heartbeat_at = utcnow()
    return True


def finish_job(session: Session, job_id: str, *, duration: float, mp3_size: int,
               check_summary: dict | None = None) -> bool:
    """Mark the job done with its outputs' facts (and the summary of its recognition check);
    False if it was canceled or failed meanwhile."""
    job = _lock(session, job_id)
    if job is None or job.status != "running":
        return False
    now = utcnow()
    job.status = "done"
    job.duration = duration
    job.mp3_size = mp3_size
    job.check_summary = check_summary
    job.finished_at = job.heartbeat_at = now
    _recount(job)
    publish_job(session, job_id)
    return True


def record_opus(session: Session, job_id: str, size: int) -> bool:
    """Note the done episode's Opus copy: its feeds offer it from now on. False when the job is
    gone (deleted while the copy was made)."""
    job = _lock(session, job_id)
    if job is None or job.status != "done":
        return False
    job.opus_size = size
    job_changed(session, job_id)
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
    for part in job.parts:
        if part.status != "done":
            part.status = "failed"


def cancel_job(session: Session, job_id: str) -> Job | None:
    """Cancel a queued or running job; a finished job is returned unchanged. None if unknown."""
    job = _lock(session, job_id)
    if job is None or job.terminal:
        return job
    job.status = "canceled"
    job.finished_at = utcnow()
    for part in job.parts:
        if part.status != "done":
            part.status = "canceled"
    return job


def retry_job(session: Session, job_id: str) -> Job | None:
    """Put a failed or canceled job back in the queue's hands, read and planned afresh.

    Returns the job when it may be queued again, None when it is not failed or canceled. The
    plan and every part are redone because a failed job's media may be gone (or was never fully
    written); the workers' sentence and segment caches make already-spoken parts cheap. Delivery
    counters start afresh: the retry is the user's decision, not a redelivery.
    """
    job = _lock(session, job_id)
    if job is None or job.status not in ("failed", "canceled"):
        return None
    now = utcnow()
    job.status = "queued"
    job.error_code = job.error_message = None
    job.finished_at = job.planned_at = None
    job.heartbeat_at = now
    job.attempts = job.assembly_attempts = job.plan_attempts = 0
    job.parts = []
    job.chapters_total = 0
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
    """Beat the heartbeat of a job whose task is busy without sentence progress (plan, join)."""
    session.execute(update(Job).where(Job.id == job_id).values(heartbeat_at=utcnow())
                    .execution_options(synchronize_session=False))
