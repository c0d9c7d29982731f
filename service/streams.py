"""Admission of responses that stay open: event streams and streamed speech.

Each holds one of the web process's gthread threads for as long as it is open (gunicorn's gthread
worker is what the Procfile and `narrator up` run; see service/gunicorn_conf.py). So each kind
is admitted, per process, like a bounded pool inside the thread pool: at most a few per user
(429 beyond, naming the cap) and a fixed number in all (503 beyond, with Retry-After), which
keeps the other threads free for ordinary requests however many streams are asked for. This
keeps one server and one thread model; an async server (gevent, uvicorn) would hold streams
more cheaply, but would change how every other view and the database driver run.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Callable

from flask import current_app

from narration.errors import NarrationError


class TooManyStreamsError(NarrationError):
    code = "too_many_streams"
    status = 429

    def __init__(self, message: str):
        super().__init__(message)
        self.headers = {"Retry-After": "10"}


class StreamsBusyError(NarrationError):
    code = "streams_busy"
    status = 503
    headers = {"Retry-After": "10"}


class StreamSlots:
    """How many streams of one kind this web process holds open, in all and per user."""

    def __init__(self, kind: str, instead: str):
        self.kind = kind
        """What the streams are, for messages ("event streams")."""
        self.instead = instead
        """What a refused client can do instead ("poll the narration")."""
        self.lock = threading.Lock()
        self.by_user: Counter[str] = Counter()

    def acquire(self, user_id: str, *, per_user: int, total: int) -> Callable[[], None]:
        """Take a slot or refuse; returns the (idempotent) release."""
        with self.lock:
            if self.by_user[user_id] >= per_user:
                raise TooManyStreamsError(
                    f"You have {self.by_user[user_id]} {self.kind} open; the limit is "
                    f"{per_user} at once per user. Close one (or {self.instead}) first.")
            if sum(self.by_user.values()) >= total:
                raise StreamsBusyError(
                    f"The service is holding its limit of {total} {self.kind}; try again "
                    f"shortly, or {self.instead} instead.")
            self.by_user[user_id] += 1
        released = threading.Event()

        def release() -> None:
            with self.lock:
                if not released.is_set():
                    released.set()
                    self.by_user[user_id] -= 1
                    if self.by_user[user_id] <= 0:
                        del self.by_user[user_id]

        return release


def stream_slots(kind: str, instead: str) -> StreamSlots:
    """The app's slots for one kind of stream (one set per web process)."""
    return current_app.extensions.setdefault(f"narrator_{kind.replace(' ', '_')}",
                                             StreamSlots(kind, instead))
