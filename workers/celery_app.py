"""The Celery app: Redis as broker and result backend, configured for long tasks that must
survive a dying worker. Start a worker with `celery -A workers.celery_app worker`.

Configuration is read from the settings when Celery first needs it, not at import, so importing
the tasks (as the web service does) never requires a broker.
"""

from __future__ import annotations

import logging
import os

from celery import Celery
from celery.signals import worker_init

from narration.settings import SettingError, Settings, load_settings

log = logging.getLogger(__name__)

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
        # chapter is never lost; without reject_on_worker_lost it ends as WorkerLostError.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # One task at a time per process: a prefetched chapter would wait behind a long one.
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


def create_celery_app() -> Celery:
    """The app with its tasks and the watchdog; configuration is loaded lazily."""
    app = Celery("narrator", include=["workers.tasks", "workers.watchdog"])
    app.add_defaults(lambda: celery_config(load_settings()))
    return app


app = create_celery_app()


@worker_init.connect
def prepare_database(**_):
    """Migrate the schema before the pool forks, so every task finds its tables."""
    from workers.resources import database

    db = database()
    db.upgrade()
    db.dispose()  # no open connection may be inherited by forked pool processes


@worker_init.connect
def share_cores(sender=None, **_):
    """Give each pool process an equal share of the cores for inference, unless set.

    Every process running an ONNX engine with one thread per core would oversubscribe the CPU
    several times over; one engine thread per process per core is what the parallel chapters need.
    """
    if os.environ.get("NARRATOR_ENGINE_THREADS", "0") not in ("", "0"):
        return
    concurrency = getattr(sender, "concurrency", None) or 1
    threads = max(1, (os.cpu_count() or 1) // concurrency)
    os.environ["NARRATOR_ENGINE_THREADS"] = str(threads)
    log.info("%d pool processes: %d inference thread(s) each", concurrency, threads)


@worker_init.connect
def load_text_tables(**_):
    """Load the normalizer's number tables (lazy elsewhere, ~2 s) before the pool forks, so every
    pool process has them and no first task waits for them."""
    from narration.normalize import load_tables

    load_tables()
