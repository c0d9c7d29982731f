"""The workers' Celery app (Redis as broker and result backend, configured in state/queue.py) and
what each worker does as it starts. Start a worker with `celery -A workers.celery_app worker`.
"""

from __future__ import annotations

import logging
import os

from celery.signals import worker_init

from state.queue import make_celery

log = logging.getLogger(__name__)

app = make_celery(include=("workers.tasks", "workers.watchdog"))


@worker_init.connect
def preflight(**_):
    """Refuse to start on a wrong setting, in one sentence, as `narrator up` and the web do; then
    migrate the schema before the pool forks, so every task finds its tables."""
    from narration.settings import SettingError, apply_file_mode
    from state import preflight
    from state.media import MediaStoreError
    from workers.resources import catalogue, settings

    try:
        current = settings()
        apply_file_mode(current)  # before anything is written: pool children inherit it
        preflight.check_broker(current.redis_url)
        preflight.check_base_url(current.base_url)
        preflight.check_voices(catalogue())
        preflight.open_media(current.media, current.s3_endpoint_url)
        # No open connection may be inherited by forked pool processes.
        preflight.open_database(current.database,
                                make_folder=not current.database_url).dispose()
    except (SettingError, MediaStoreError) as error:
        # Celery logs and ignores what a signal handler raises, except SystemExit.
        raise SystemExit(f"narrator worker: {error}") from None


@worker_init.connect
def share_cores(sender=None, **_):
    """Give each pool process an equal share of the cores for inference, unless set.

    Every process running an ONNX engine with one thread per core would oversubscribe the CPU
    several times over; one engine thread per process per core is what the parallel parts need.
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
