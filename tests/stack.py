"""The one way tests start a narrator service in processes: the web process (gunicorn, as the
Procfile and `narrator up` run it) and a Celery worker, on one environment, each of which a test
can stop, kill and restart; and clients that behave as the API asks (Idempotency-Key, retry on
connection errors and 503).

    with Stack(env, folder) as stack:            # web and worker (tests/test_faults*.py)
        answer, retries = submit(client(key), stack.url, body)
        stack.restart_web(kill=True)
    with Stack(env, folder, worker=False) as stack:   # the web alone, beside the module's
        ...                                            # celery_worker (tests/test_load.py)

The test process's own Celery app is bound to the session's Redis, so a stack on another Redis is
watched through its logs and its database, never through Celery's remote control.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Self

import psutil
import requests

from cli.embedded import free_port
from cli.up import web_command
from tests.conftest_service import REPO, stop_process_group, wait_until

START_TIMEOUT = 60.0
"""Seconds a worker or web process may take to come up (imports, migrations, a busy machine)."""
CLIENT_PATIENCE = 60.0
"""Seconds a client keeps repeating one submission through connection errors and 503s."""


def stack_env(folder: Path, redis_url: str, **overrides: str) -> dict[str, str]:
    """Environment of a fresh stack in `folder`: its own SQLite file, media and data folders."""
    env = {
        "REDIS_URL": redis_url,
        "DATABASE_URL": f"sqlite:///{folder / 'narrator.db'}",
        "MEDIA_URL": (folder / "media").as_uri(),
        "NARRATOR_DATA_DIR": str(folder / "data"),
        "NARRATOR_ENGINE_THREADS": "1",  # two pool processes on two cores
        "NARRATOR_TASK_TIME_LIMIT": "120",
        "NARRATOR_VISIBILITY_TIMEOUT": "300",
    }
    env.update(overrides)
    return env


class Stack:
    """One gunicorn web process and (unless `worker=False`) one prefork `celery worker`
    sharing `env`."""

    APP = "service:create_app()"
    """The app gunicorn serves (a test may serve the real app with a route of its own added)."""

    def __init__(self, env: dict[str, str], folder: Path, *, concurrency: int = 2,
                 worker: bool = True):
        self.env = {**os.environ, **env}
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.concurrency = concurrency
        self.with_worker = worker
        self.port = free_port()
        self.web: subprocess.Popen | None = None
        self.worker: subprocess.Popen | None = None
        self.hostname = f"faults-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
        self.worker_restarts = 0
        self.closing = threading.Event()
        self.worker_lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def web_log(self) -> Path:
        return self.folder / "web.log"

    @property
    def worker_log(self) -> Path:
        return self.folder / "worker.log"

    def start(self) -> Self:
        """Start the worker, then the web process; return once both answer."""
        if self.with_worker:
            self.start_worker()
        self.start_web()
        return self

    def supervise(self, interval: float = 0.5) -> None:
        """Start the worker again whenever it exits by itself, as systemd (Restart=always) or a
        Procfile platform does in production; `worker_restarts` counts how often."""
        def watch() -> None:
            while not self.closing.wait(interval):
                with self.worker_lock:
                    if self.closing.is_set() or self.worker is None or self.worker.poll() is None:
                        continue
                    stop_process_group(self.worker)  # pool children it may have left behind
                    self.worker_restarts += 1
                    self.start_worker()

        threading.Thread(target=watch, name="stack-supervisor", daemon=True).start()

    def _spawn(self, command: list[str], log: Path) -> subprocess.Popen:
        """A child in its own process group (so its children die with it), logging to `log`."""
        with open(log, "ab") as output:
            return subprocess.Popen(command, cwd=REPO, env=self.env, stdout=output,
                                    stderr=subprocess.STDOUT, start_new_session=True)

    def start_worker(self) -> None:
        """A real prefork worker, ready when it logs that it is (it may be on a private Redis)."""
        mark = self.worker_log.stat().st_size if self.worker_log.exists() else 0
        self.worker = self._spawn(
            [sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker",
             "--pool=prefork", f"--concurrency={self.concurrency}", "--loglevel=INFO",
             f"--hostname={self.hostname}", "--without-gossip", "--without-mingle"],
            self.worker_log)

        def ready() -> bool:
            assert self.worker.poll() is None, f"the worker exited:\n{self.log_tail('worker')}"
            return " ready." in self.worker_log.read_text(errors="replace")[mark:]

        wait_until(ready, START_TIMEOUT, "the Celery worker to be ready")

    def start_web(self) -> None:
        """gunicorn on the stack's port with the Procfile's settings; ready when it answers."""
        self.web = self._spawn(web_command("127.0.0.1", self.port, app=self.APP)
                               + ["--graceful-timeout", "20"], self.web_log)

        def answers() -> bool:
            assert self.web.poll() is None, f"gunicorn exited:\n{self.log_tail('web')}"
            try:
                return requests.get(f"{self.url}/api/v1/voices", timeout=10).status_code == 200
            except (requests.ConnectionError, requests.Timeout):
                return False

        wait_until(answers, START_TIMEOUT, "gunicorn to answer", interval=0.05)

    def stop_web(self, *, kill: bool = False) -> None:
        """SIGTERM (gunicorn finishes the requests in flight) or SIGKILL (a crash)."""
        if self.web is None:
            return
        if kill:
            os.killpg(self.web.pid, signal.SIGKILL)
            self.web.wait()
        stop_process_group(self.web, grace=30)
        self.web = None

    def restart_web(self, *, kill: bool = False) -> float:
        """Stop and start the web process on the same port; returns the seconds it was away."""
        began = time.monotonic()
        self.stop_web(kill=kill)
        self.start_web()
        return time.monotonic() - began

    def stop_worker(self) -> None:
        with self.worker_lock:
            if self.worker is not None:
                stop_process_group(self.worker, grace=20)
                self.worker = None

    def pool_processes(self) -> list[int]:
        """Pids of the worker's pool children (the processes that run chapters)."""
        return [child.pid for child in psutil.Process(self.worker.pid).children()]

    def log_tail(self, which: str, lines: int = 60) -> str:
        """The last lines of the 'web' or 'worker' log, for failure messages."""
        log = self.web_log if which == "web" else self.worker_log
        text = log.read_text(errors="replace") if log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def close(self) -> None:
        self.closing.set()
        self.stop_web()
        self.stop_worker()

    def __enter__(self) -> Self:
        try:
            return self.start()
        except BaseException:  # a half-started stack must not outlive the test
            self.close()
            raise

    def __exit__(self, *exc) -> None:
        self.close()


def client(key: str) -> requests.Session:
    """A requests session that sends the key, as an API client would."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {key}"
    return session


def submit(session: requests.Session, url: str, body: dict,
           idempotency_key: str | None = None) -> tuple[requests.Response, int]:
    """POST a narration as a well-behaved client: on a connection error or a 502/503, wait a
    little and send the same request with the same Idempotency-Key. (last answer, retries)."""
    key = idempotency_key or str(uuid.uuid4())
    deadline, retries = time.monotonic() + CLIENT_PATIENCE, 0
    while True:
        try:
            answer = session.post(f"{url}/api/v1/narrations", json=body, timeout=30,
                                  headers={"Idempotency-Key": key})
            if answer.status_code not in (502, 503) or time.monotonic() > deadline:
                return answer, retries
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
        retries += 1
        time.sleep(0.2)


class SubmittingClients:
    """`count` client threads, each submitting `body(number)` with a new Idempotency-Key every
    `interval` seconds until `finish()`; `accepted` maps each key to its job id (202 or 200)."""

    def __init__(self, url: str, key: str, count: int, interval: float,
                 body: Callable[[int], dict]):
        self.url, self.key, self.interval, self.body = url, key, interval, body
        self.accepted: dict[str, str] = {}
        self.counts: Counter = Counter()
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(n, count), daemon=True)
                        for n in range(count)]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def finish(self) -> None:
        """Let each client send one more submission, then wait for all to stop."""
        time.sleep(self.interval)
        self.stopping.set()
        for thread in self.threads:
            thread.join(CLIENT_PATIENCE + 30)

    def run(self, number: int, count: int) -> None:
        """One client's loop, staggered among the others so that submissions arrive steadily."""
        time.sleep(number * self.interval / count)
        session = client(self.key)
        while not self.stopping.is_set():
            key = str(uuid.uuid4())
            try:
                answer, retries = submit(session, self.url, self.body(number), key)
            except requests.RequestException as error:
                with self.lock:
                    self.errors.append(f"client {number}: gave up: {error}")
                return
            with self.lock:
                self.counts["submissions"] += 1
                self.counts["retries"] += retries
                self.counts[answer.status_code] += 1
                if answer.status_code in (200, 202):
                    self.accepted[key] = answer.json()["id"]
                else:
                    self.errors.append(f"client {number}: {answer.status_code} {answer.text[:200]}")
            self.stopping.wait(self.interval)
