"""The work queue: Celery on Redis, as both sides see it.

The web process and the workers share this module and nothing else of each other: the web sends
tasks by name (`TaskQueue.start_job`), the workers register the tasks under those names
(workers/tasks.py). Celery's settings live here so both configure it the same way.
"""

from __future__ import annotations

import logging

from celery import Celery

from narration.settings import SettingError, Settings, load_settings
from state import jobs
from state.db import Database

log = logging.getLogger(__name__)

PLAN_TASK = "narrator.plan_job"
"""Reads and plans a job, then queues its parts and the join (workers/tasks.py)."""
SPEAK_TASK = "narrator.speak"
"""Speaks a short text for /v1/audio/speech and stores the audio in the media store."""
SPEAK_STREAM_TASK = "narrator.speak_stream"
"""Speaks a short text sentence by sentence, publishing the audio as it comes
(state/speech_stream.py): /v1/audio/speech with "stream": true."""
SOFT_LIMIT_SHARE = 0.9
"""The soft time limit (a catchable exception, so the job fails with a reason) comes first; the
hard limit, which kills the process, is the backstop."""


def celery_config(settings: Settings) -> dict:
    """Celery settings from ours; a wrong combination fails here with one sentence."""
    if not settings.redis_url:
        raise SettingError("REDIS_URL is not set: start everything with `narrator up`, or set "
                           "REDIS_URL=redis://:password@host:6379/0 for the worker.")
    if settings.visibility_timeout <= settings.task_time_limit:
        raise SettingError(
            f"NARRATOR_VISIBILITY_TIMEOUT ({settings.visibility_timeout} s) must be longer than "
            f"NARRATOR_TASK_TIME_LIMIT ({settings.task_time_limit} s), or Redis hands a running "
            "task to a second worker.")
    # Redis redelivers any task not acknowledged within the visibility timeout, even one that is
    # still running; acks_late holds the acknowledgement until the task ends, so this must
    # exceed the longest task. The result backend's chord bookkeeping uses the same option.
    transport = {"visibility_timeout": settings.visibility_timeout}
    return {
        "broker_url": settings.redis_url,
        "result_backend": settings.redis_url,
        "broker_transport_options": transport,
        "result_backend_transport_options": transport,
        "broker_connection_retry_on_startup": True,
        # Acknowledge after the task, and put it back when its process dies (SIGKILL, OOM), so a
        # part is never lost; without reject_on_worker_lost it ends as WorkerLostError.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # One task at a time per process: a prefetched part would wait behind a long one.
        "worker_prefetch_multiplier": 1,
        # On losing the broker, let running tasks finish: canceled ones were not handed back while
        # Redis was down (only after the visibility timeout), so every Redis blip cost a watchdog
        # round and two failed the job; finished ones are acknowledged again once it is back
        # (tests/test_faults.py: 12 of 12 jobs done across Redis restarts, against 9 of 12).
        "worker_cancel_long_running_tasks_on_connection_loss": False,
        "task_time_limit": settings.task_time_limit,
        "task_soft_time_limit": int(settings.task_time_limit * SOFT_LIMIT_SHARE),
        "task_serializer": "json",
        "result_serializer": "json",
        "accept_content": ["json"],
        "result_expires": 24 * 3600,
    }


def make_celery(include: tuple[str, ...] = ()) -> Celery:
    """A Celery app whose configuration is read from the settings when first needed, not at
    import; the workers include their task modules, the web process none."""
    app = Celery("narrator", include=list(include))
    app.add_defaults(lambda: celery_config(load_settings()))
    return app


class TaskQueue:
    """Starts jobs on the workers: counts the trip in the database, then sends the plan task."""

    def __init__(self, celery: Celery, db: Database):
        self.celery = celery
        self.db = db

    def check(self) -> None:
        """Fail fast when Redis is unreachable: sending a task would first spend ~20 s in the
        result backend's reconnect retries and then fail with a message about restarting
        Celery, while the client that submitted the job waits for its answer."""
        self.celery.backend.client.ping()

    def start_job(self, job_id: str) -> bool:
        """Queue a job's plan task, which queues its unfinished parts and then the join; False
        when the job is over. Also how the watchdog re-queues a stalled job: parts already done
        are not redone. Raises redis's ConnectionError at once when Redis is down."""
        self.check()
        with self.db.session() as session:
            job = jobs.mark_enqueued(session, job_id)
            if job is None:
                return False
            round_ = job.attempts
        # Readable task ids: job, queue round, step.
        self.celery.send_task(PLAN_TASK, args=[job_id], task_id=f"{job_id}.{round_}.plan")
        log.info("queued job %s (round %d)", job_id, round_)
        return True
