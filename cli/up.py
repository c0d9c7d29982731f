"""`narrator up`: everything on one machine — Redis (unless REDIS_URL), a Celery worker, the web.

Ctrl-C stops what it started. Data (database, media, Redis' append-only file) lives in the data
folder, so a second start carries on where the first stopped.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from cli.embedded import EmbeddedRedis
from narration.settings import apply_file_mode, load_settings
from state import preflight

MAX_RESTARTS, RESTART_WINDOW = 5, 60.0
"""A worker may exit this many times within the window (seconds) and be started again."""
LOCAL_KEY_FILE = "local.key"
"""In the data folder, readable by its owner only: the local user's API key."""
LOCAL_FEED_FILE = "local.feed"
"""Beside it: the token of the local user's feed URL (the database keeps only its digest)."""


def run(args) -> int:
    import voices

    settings = load_settings()
    apply_file_mode(settings)  # before anything writes: Redis, the worker and the web inherit it
    preflight.check_base_url(settings.base_url)
    preflight.check_voices(voices.load_catalogue())
    env = dict(os.environ)
    if settings.redis_url:
        preflight.check_broker(settings.redis_url)
    # Every check that can refuse to start comes before anything is started, so a wrong
    # setting never leaves a Redis (or anything else) running behind its one-line error.
    local = _prepare_state(settings)
    redis = None
    if not settings.redis_url:
        redis = EmbeddedRedis(settings.data_dir / "redis").start()
        env["REDIS_URL"] = redis.url
    workers = args.workers or os.cpu_count() or 1
    worker_command = [sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker",
                      "--loglevel", "INFO", "--concurrency", str(workers)]
    children: list[subprocess.Popen] = []
    try:
        children.append(_spawn(worker_command, env))
        children.append(_spawn(web_command(args.host, args.port) + ["--access-logfile", "-"],
                               env))
        _print_banner(settings, args, workers, local)
        _wait(children, restart_worker=lambda: _spawn(worker_command, env))
    finally:
        for child in reversed(children):
            _stop(child)
        if redis:
            redis.stop()
    return 0


def _print_banner(settings, args, workers: int, local: tuple[str, str | None] | None) -> None:
    """What the user needs: where to open the page, the local key and feed when there is one."""
    url = (settings.base_url or f"http://{args.host}:{args.port}/").rstrip("/")
    print(f"narrator is up ({workers} worker processes; Ctrl-C stops)", flush=True)
    if local:
        key, token = local
        feed = (f"{url}/feeds/{token}.xml" if token else
                "shown only when made (like a key); make a new one on the page")
        print(f"  open the page:   {url}/#key={key}\n"
              f"  API key:         {key}  (kept in {settings.data_dir / LOCAL_KEY_FILE})\n"
              f"  podcast feed:    {feed}", flush=True)
    else:
        print(f"  open {url}/ and sign in with a key from `narrator users create NAME`", flush=True)


def web_command(host: str, port: int, workers: int = 1) -> list[str]:
    """gunicorn with the service's settings (service/gunicorn_conf.py), as the Procfile runs it."""
    return [sys.executable, "-m", "gunicorn", "-c", "python:service.gunicorn_conf",
            "--bind", f"{host}:{port}", "--workers", str(workers), "service:create_app()"]


def _prepare_state(settings) -> tuple[str, str | None] | None:
    """Migrate the database and check the media store before anything is accepted.

    On the embedded default (no DATABASE_URL) this is someone's own machine: a local user is
    made on first run, and its (key, feed token) returned so the page and feed work at once.
    """
    from cli.users import local_key

    database = preflight.open_database(settings.database, make_folder=not settings.database_url)
    preflight.open_media(settings.media, settings.s3_endpoint_url)
    try:
        if settings.database_url:
            return None
        return local_key(database, settings.data_dir / LOCAL_KEY_FILE,
                         settings.data_dir / LOCAL_FEED_FILE)
    finally:
        database.dispose()


def _spawn(command: list[str], env: dict) -> subprocess.Popen:
    # Own process group: Ctrl-C reaches us once, and we stop each child in order.
    return subprocess.Popen(command, env=env, start_new_session=True)


def _wait(children: list[subprocess.Popen], restart_worker) -> None:
    """Until Ctrl-C, SIGTERM, or the web process exits (then the others are stopped too).

    A worker that exits is started again, as a process supervisor would: Celery 5.7's worker
    sometimes exits on losing Redis (tests/test_faults.py), and its jobs must not wait for a
    human. A worker that keeps dying at once (a broken setting) stops everything instead.
    """
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    restarts: list[float] = []
    try:
        while True:
            time.sleep(0.5)
            worker, web = children
            if web.poll() is not None:
                print(f"narrator: the web process exited with status {web.returncode}; "
                      "stopping.", file=sys.stderr)
                return
            if worker.poll() is None:
                continue
            now = time.monotonic()
            restarts = [moment for moment in restarts if now - moment < RESTART_WINDOW] + [now]
            if len(restarts) > MAX_RESTARTS:
                print(f"narrator: the worker exited {len(restarts)} times within "
                      f"{RESTART_WINDOW:.0f} s (last status {worker.returncode}); stopping.",
                      file=sys.stderr)
                return
            print(f"narrator: the worker exited with status {worker.returncode}; starting it "
                  "again.", file=sys.stderr, flush=True)
            children[0] = restart_worker()
    except KeyboardInterrupt:
        print("narrator: stopping.", file=sys.stderr)


def _stop(child: subprocess.Popen, grace: float = 20.0) -> None:
    if child.poll() is not None:
        return
    os.killpg(child.pid, signal.SIGTERM)
    try:
        child.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait()
