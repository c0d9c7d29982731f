"""The watchdog: a job whose tasks died is re-queued once, and fails as "stalled" the second time.

It runs in a thread of each worker's main process, started when the worker is ready, every
CHECK_INTERVAL seconds. A thread rather than Celery beat (`worker -B`): a beat-scheduled check is
a task like any other and waits for a free pool process, which long parts may hold for many
minutes; and beat must run exactly once per deployment while workers come and go. Several
watchdogs (one per worker host) are safe: each stalled job is claimed by one conditional UPDATE.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from celery.signals import worker_ready, worker_shutdown

from state import jobs
from workers.celery_app import app
from workers.resources import database, settings
from workers.tasks import task_queue

log = logging.getLogger(__name__)

CHECK_INTERVAL = 60.0
"""Seconds between checks (fewer when the stall timeout is shorter, see `check_interval`)."""
MAX_QUEUE_ROUNDS = 2
"""The first enqueue plus one re-queue by the watchdog."""


def stall_timeout() -> timedelta:
    """How long a job may go without a heartbeat (NARRATOR_STALL_TIMEOUT)."""
    return timedelta(seconds=settings().stall_timeout)


def check_interval() -> float:
    """Seconds between checks: a stall timeout shorter than CHECK_INTERVAL is checked at half its
    length, so a stalled job is acted on within 1.5 timeouts rather than a minute later."""
    return max(1.0, min(CHECK_INTERVAL, settings().stall_timeout / 2))


def broker_backlog() -> int:
    """Messages waiting in the task queue (not yet taken by any worker)."""
    queue = app.conf.task_default_queue
    with app.connection_for_read() as connection:
        try:
            return connection.default_channel.queue_declare(queue, passive=True).message_count
        except connection.channel_errors:
            return 0  # Redis drops an empty queue's key: nothing waits


def check_stalled_jobs(*, silent_for: timedelta | None = None) -> list[tuple[str, str]]:
    """Re-queue or fail each stalled job; returns (job id, "requeued" | "failed") pairs.

    While the queue holds waiting tasks, a job with no part running may simply be waiting its
    turn behind other jobs, so only jobs with a part running (whose process went silent) are
    treated then. With an empty queue, a silent queued job has lost its tasks (a broker restart,
    or a crash between saving the job and queuing it).
    """
    silent_for = silent_for or stall_timeout()
    backlog = broker_backlog()
    with database().session(readonly=True) as session:
        candidates = [(job.id, job.attempts, any(p.status == "running" for p in job.parts))
                      for job in jobs.stalled_jobs(session, silent_for=silent_for)]
    actions = []
    for job_id, attempts, part_running in candidates:
        if backlog and not part_running:
            continue
        with database().session() as session:
            if not jobs.claim_stalled(session, job_id, silent_for=silent_for):
                continue  # another watchdog took it, or it came back to life
            if attempts >= MAX_QUEUE_ROUNDS:
                jobs.fail_job(session, job_id, "stalled", (
                    f"The narration made no progress for {int(silent_for.total_seconds())} s, "
                    "twice: its worker processes stopped or were lost. Check the workers' logs, "
                    "then submit the text again."))
                actions.append((job_id, "failed"))
                continue
        task_queue().start_job(job_id)
        actions.append((job_id, "requeued"))
    for job_id, action in actions:
        log.warning("watchdog: job %s %s (no heartbeat for %s)", job_id, action, silent_for)
    return actions


class Watchdog(threading.Thread):
    """Calls `check_stalled_jobs` every `interval` seconds until stopped; never dies of an error."""

    def __init__(self, interval: float = CHECK_INTERVAL):
        super().__init__(name="narrator-watchdog", daemon=True)
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            try:
                check_stalled_jobs()
            except Exception:  # a database or broker hiccup must not end the watchdog
                log.exception("watchdog check failed; trying again in %.0f s", self.interval)

    def stop(self) -> None:
        self.stopped.set()


_watchdog: Watchdog | None = None


@worker_ready.connect
def start_watchdog(**_) -> None:
    """Start the watchdog in the worker's main process once the worker is ready."""
    global _watchdog
    _watchdog = Watchdog(check_interval())
    _watchdog.start()
    log.info("watchdog started: checks every %.0f s for jobs silent for %s", _watchdog.interval,
             stall_timeout())


@worker_shutdown.connect
def stop_watchdog(**_) -> None:
    """Stop the watchdog thread with the worker."""
    if _watchdog is not None:
        _watchdog.stop()
