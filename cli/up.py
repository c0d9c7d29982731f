"""`narrator up`: everything on one machine — Redis (unless REDIS_URL), a Celery worker, the web.

Ctrl-C stops what it started. Data (database, media, Redis' append-only file) lives in the data
folder, so a second start carries on where the first stopped.

The console stays calm: the sign-in link, key and feed, then a line per job event (cli/job_events)
and warnings that need a person. What Redis, Celery and gunicorn print goes to narrator.log in the
data folder; `--verbose` shows it on the console instead.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from cli.embedded import EmbeddedRedis
from cli.job_events import JobEvents
from narration.settings import apply_file_mode, load_settings
from state import preflight

MAX_RESTARTS, RESTART_WINDOW = 5, 60.0
"""A worker may exit this many times within the window (seconds) and be started again."""
LOCAL_KEY_FILE = "local.key"
"""In the data folder, readable by its owner only: the local user's API key."""
LOCAL_FEED_FILE = "local.feed"
"""Beside it: the token of the local user's feed URL (the database keeps only its digest)."""
LOG_FILE = "narrator.log"
"""In the data folder: what Redis, the worker and the web process print (the console gets a line
per job event instead; `--verbose` shows everything there)."""
WORKER_NICENESS = 10
"""Worker processes run this much nicer than the web process, so the page and the API answer
at once while every core synthesizes (issue 9 item 8)."""


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
    log_path = settings.data_dir / LOG_FILE
    output = None if args.verbose else _open_log(log_path)
    redis = None
    if not settings.redis_url:
        redis = EmbeddedRedis(settings.data_dir / "redis",
                              log_file=None if args.verbose else log_path).start()
        env["REDIS_URL"] = redis.url
    workers = args.workers or os.cpu_count() or 1
    worker_command = worker_command_line(workers)
    children: list[subprocess.Popen] = []
    database = None
    try:
        children.append(_spawn(worker_command, env, output, niceness=WORKER_NICENESS))
        children.append(_spawn(web_command(args.host, args.port) + ["--access-logfile", "-"],
                               env, output))
        _print_banner(settings, args, workers, local, None if args.verbose else log_path)
        from state.db import Database

        database = Database(settings.database)
        events = JobEvents(database, say=_say)
        _wait(children, restart_worker=lambda: _spawn(worker_command, env, output,
                                                       niceness=WORKER_NICENESS),
              every_second=[events.poll, DiskSpace(settings.data_dir).check])
    finally:
        for child in reversed(children):
            _stop(child)
        if redis:
            redis.stop()
        if database:
            database.dispose()
        if output:
            output.close()
    return 0


def worker_command_line(processes: int) -> list[str]:
    """The Celery worker, without its banner (`--quiet`) or its warning block for root (said
    once, in one line, by `_print_banner`; with JSON-only content root is not a hole Celery
    must refuse, so C_FORCE_ROOT is not needed)."""
    # Filtered by its message: -W cannot name a category from site-packages (it is parsed
    # before site-packages is on the path).
    return [sys.executable, "-W", "ignore:You're running the worker with superuser privileges",
            "-m", "celery", "-A", "workers.celery_app", "--quiet", "worker",
            "--loglevel", "INFO", "--concurrency", str(processes)]


def _open_log(path: Path):
    """The log file the processes write to (appended to, so earlier runs stay readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    log = open(path, "a", buffering=1)
    log.write(f"--- narrator up, {time.strftime('%Y-%m-%d %H:%M:%S %z')} ---\n")
    return log


def _say(line: str) -> None:
    """One line on the console, stamped with the time of day."""
    print(f"{time.strftime('%H:%M:%S')}  {line}", flush=True)


def _print_banner(settings, args, workers: int, local: tuple[str, str | None] | None,
                  log_path: Path | None) -> None:
    """What the user needs: where to open the page, the local key and feed when there is one."""
    url = (settings.base_url or f"http://{args.host}:{args.port}/").rstrip("/")
    if os.geteuid() == 0:
        print("narrator: running as root, so the workers that read uploaded texts run as root "
              "too; run it as an ordinary user.", flush=True)
    where = f"; logs in {log_path} (--verbose shows them here)" if log_path else ""
    processes = "1 worker process" if workers == 1 else f"{workers} worker processes"
    print(f"narrator is up ({processes}; Ctrl-C stops){where}", flush=True)
    if local:
        key, token = local
        feed = (f"{url}/feeds/{token}.xml" if token else
                "shown only when made (like a key); make a new one on the page")
        print(f"  open the page:   {url}/#key={key}\n"
              f"  API key:         {key}  (kept in {settings.data_dir / LOCAL_KEY_FILE})\n"
              f"  podcast feed:    {feed}", flush=True)
    else:
        print(f"  open {url}/ and sign in with a key from `narrator users create NAME`", flush=True)


class DiskSpace:
    """Says once when the data folder's disk runs low (narrations would then fail), and once
    more when there is room again."""

    LOW = 1 << 30  # bytes; a long episode with its parts takes a few hundred MB

    def __init__(self, folder: Path, every: float = 60.0):
        self.folder, self.every = folder, every
        self.next_check, self.low = 0.0, False

    def check(self) -> None:
        if time.monotonic() < self.next_check:
            return
        self.next_check = time.monotonic() + self.every
        try:
            free = shutil.disk_usage(self.folder).free
        except OSError:  # the folder is gone or unreadable: the jobs will say so themselves
            return
        if free < self.LOW and not self.low:
            _say(f"warning: only {free / (1 << 20):.0f} MB free for {self.folder}; narrations "
                 "will fail when it is full. Free some space.")
        elif free >= self.LOW and self.low:
            _say(f"the disk of {self.folder} has room again.")
        self.low = free < self.LOW


def web_command(host: str, port: int, workers: int = 1,
                app: str = "service:create_app()") -> list[str]:
    """gunicorn with the service's settings (service/gunicorn_conf.py), as the Procfile runs it."""
    return [sys.executable, "-m", "gunicorn", "-c", "python:service.gunicorn_conf",
            "--bind", f"{host}:{port}", "--workers", str(workers), app]


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


def _spawn(command: list[str], env: dict, output, niceness: int = 0) -> subprocess.Popen:
    """A child in its own process group (Ctrl-C reaches us once, and we stop each child in
    order), writing to `output` (the log file; None: our console), at `niceness`."""
    # preexec_fn is safe here: `narrator up` runs no threads.
    lower = (lambda: os.nice(niceness)) if niceness else None
    return subprocess.Popen(command, env=env, start_new_session=True, stdout=output,
                            stderr=subprocess.STDOUT if output else None, preexec_fn=lower)


def _wait(children: list[subprocess.Popen], restart_worker, every_second=()) -> None:
    """Until Ctrl-C, SIGTERM, or the web process exits (then the others are stopped too).

    A worker that exits is started again, as a process supervisor would: Celery 5.7's worker
    sometimes exits on losing Redis (tests/test_faults.py), and its jobs must not wait for a
    human. A worker that keeps dying at once (a broken setting) stops everything instead.
    `every_second` are called about once a second (the console's job events).
    """
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    restarts: list[float] = []
    try:
        while True:
            time.sleep(0.5)
            for call in every_second:
                call()
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
            _say(f"warning: the worker exited with status {worker.returncode}; starting it "
                 "again (see the log for why).")
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
