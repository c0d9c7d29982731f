"""What `narrator up` says on its console while it runs: a line per job event.

Accepted, each chapter done, done (with its length and how long it took), failed (with its
reason), canceled. The events come from polling the jobs table about once a second, not from the
broker or the workers: the database is where every process records what happened, it survives a
restarted worker or Redis, and one indexed query a second costs nothing next to synthesis.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Callable

from sqlalchemy import or_, select
from sqlalchemy.exc import SQLAlchemyError

from state.models import ACTIVE, TERMINAL, Job, JobPart

log = logging.getLogger(__name__)

OVERLAP = timedelta(seconds=30)
"""New jobs are looked for back to this long before the previous poll, so a job whose row was
committed with a slightly older timestamp than the poll's clock is never missed."""
FAILURES_BEFORE_WARNING = 10
"""Polls in a row that may fail (a locked or restarting database) before the console says so."""


class JobEvents:
    """Call `poll()` periodically; each new event becomes one line through `say`."""

    def __init__(self, database, say: Callable[[str], None], *, now: datetime | None = None):
        self.database = database
        self.say = say
        self.since = now or datetime.now(timezone.utc)
        self.started = self.since
        self.followed: dict[str, tuple[str, set[int]]] = {}  # job id → (status, chapters done)
        self.finished: set[str] = set()
        self.failures = 0

    def poll(self) -> None:
        """One look at the jobs; a database that does not answer is tried again next time."""
        polled_at = datetime.now(timezone.utc)
        try:
            jobs, chapters = self._read(self.since - OVERLAP)
        except SQLAlchemyError as error:
            self.failures += 1
            if self.failures == FAILURES_BEFORE_WARNING:
                self.say(f"warning: the database does not answer ({type(error).__name__}); "
                         "job progress is not shown until it does. See the log.")
            log.warning("reading job events failed: %s", error)
            return
        self.failures = 0
        self.since = polled_at
        for job in jobs:
            self._compare(job, chapters.get(job.id, {}))

    def _read(self, since: datetime) -> tuple[list, dict[str, dict[int, tuple]]]:
        """Jobs that are running, new, or followed; with their finished chapters."""
        with self.database.session(readonly=True) as session:
            conditions = [Job.status.in_(ACTIVE), Job.created_at >= since]
            if self.followed:
                conditions.append(Job.id.in_(list(self.followed)))
            jobs = session.execute(
                select(Job.id, Job.status, Job.title, Job.voice, Job.chapters_total,
                       Job.duration, Job.created_at, Job.finished_at, Job.error_code,
                       Job.error_message)
                .where(or_(*conditions)).order_by(Job.created_at)).all()
            ids = [job.id for job in jobs if job.id not in self.finished]
            chapters: dict[str, dict[int, tuple]] = {}
            if ids:
                rows = session.execute(
                    select(JobPart.job_id, JobPart.chapter, JobPart.title, JobPart.status,
                           JobPart.duration)
                    .where(JobPart.job_id.in_(ids)).order_by(JobPart.index)).all()
                chapters = done_chapters(rows)
        return [job for job in jobs if job.id not in self.finished], chapters

    def _compare(self, job, done_chapters: dict[int, tuple]) -> None:
        """Say what changed since the job was last seen."""
        known = self.followed.get(job.id)
        if known is None:
            if _aware(job.created_at) < self.started:
                # Begun before this start: follow it quietly from here (no second "accepted").
                known = (job.status, set(done_chapters))
            else:
                voice = f"{job.voice} voice"
                count = job.chapters_total
                parts = f", {count} chapter{'s' if count != 1 else ''}" if count else ""
                self.say(f"{_name(job)} accepted ({voice}{parts})")
                known = ("queued", set())
        status, said = known
        for index in sorted(set(done_chapters) - said):
            title, duration = done_chapters[index]
            total = f"/{job.chapters_total}" if job.chapters_total else ""
            label = f": {title}" if title else ""
            length = f" ({clock(duration)})" if duration else ""
            self.say(f"{_name(job)} chapter {index + 1}{total} done{label}{length}")
        if job.status in TERMINAL:
            if status not in TERMINAL:
                self.say(self._ending(job))
            self.finished.add(job.id)
            self.followed.pop(job.id, None)
            return
        self.followed[job.id] = (job.status, said | set(done_chapters))

    def _ending(self, job) -> str:
        took = ""
        if job.finished_at and job.created_at:
            seconds = (_aware(job.finished_at) - _aware(job.created_at)).total_seconds()
            took = f" in {elapsed(seconds)}"
        if job.status == "done":
            length = f"{clock(job.duration)} of audio" if job.duration else "the episode is ready"
            return f"{_name(job)} done: {length}{took}"
        if job.status == "failed":
            reason = job.error_message or job.error_code or "no reason was recorded"
            return f"{_name(job)} failed: {reason}"
        return f"{_name(job)} canceled"


def done_chapters(parts) -> dict[str, dict[int, tuple]]:
    """Per job, its chapters whose every part is done: {chapter: (title, seconds)}."""
    grouped: dict[tuple[str, int], list] = {}
    for part in parts:
        grouped.setdefault((part.job_id, part.chapter), []).append(part)
    done: dict[str, dict[int, tuple]] = {}
    for (job_id, chapter), rows in grouped.items():
        if all(row.status == "done" for row in rows):
            done.setdefault(job_id, {})[chapter] = (rows[0].title,
                                                    sum(row.duration or 0 for row in rows))
    return done


def clock(seconds: float) -> str:
    """21:03 (minutes:seconds), or 1:02:03 past an hour."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def elapsed(seconds: float) -> str:
    """How long something took, as people say it: "48 s", "3 min 5 s", "1 h 2 min"."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    return f"{whole // 3600} h {whole % 3600 // 60} min"


def _name(job) -> str:
    """The job as a console line starts: its short id, and its title when it has one."""
    title = f" “{job.title}”" if job.title else ""
    return f"job {job.id[:8]}{title}"


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes on some paths; every stored time is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
