"""The web side of streamed speech: wait for the worker's chunks (state/speech_stream.py) and
write them to the client as they come.

The view waits for the first chunk before it answers, so a failure before any audio (a text
that has nothing to say, a busy or dead worker) is still a JSON error with its status. After
the first chunk the status is sent: a failure or a silent worker ends the stream early (the
client sees a truncated body) and is logged. When the response closes (done, failed, or the
client left), the request's cancel key is set, so the worker stops at its next sentence, and
the slots it held are released.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from typing import Callable, Iterator

from narration.errors import NarrationError
from service.errors import ServiceUnavailableError
from state import speech_stream
from state.speech_stream import AUDIO, END

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5
"""How long one BLPOP waits before the stream looks whether its client is still there."""


class SpeechFailed(NarrationError):
    """What the worker reported, with the status it chose (4xx for the text, 500 otherwise)."""

    code = "speech_failed"
    status = 500


class SpeechListener:
    """One streamed request: its Redis list, its client's connection, what it holds."""

    def __init__(self, client, request_id: str, environ: dict, *, timeout: float,
                 releases: list[Callable[[], None]]):
        self.client = client
        self.request_id = request_id
        self.environ = environ
        self.timeout = timeout
        """Seconds to wait for the first chunk, and then for each next one."""
        self.releases = releases
        self.finished = False
        self.closed = threading.Event()

    def first_chunk(self) -> bytes:
        """The first audio, or the worker's error raised with its status (503 when the worker
        sends nothing in time)."""
        item = self._next(client_may_leave=False)
        if item is None:
            raise ServiceUnavailableError(
                f"The workers did not start speaking within {self.timeout:.0f} s; they may be "
                "busy with narrations. Try again shortly.")
        kind, payload = item
        if kind == AUDIO:
            return payload
        raise _error(payload) if kind != END else ServiceUnavailableError(
            "The worker ended the stream without audio.")

    def chunks(self, first: bytes) -> Iterator[bytes]:
        """The response body: the first chunk, then each as it comes, until the end marker."""
        yield first
        sent = len(first)
        while True:
            item = self._next(client_may_leave=True)
            if item is None:
                log.warning("speech stream %s cut short after %d bytes: the client left or no "
                            "audio came within %.0f s", self.request_id, sent, self.timeout)
                return
            kind, payload = item
            if kind == END:
                self.finished = True
                log.info("speech stream %s sent: %d bytes", self.request_id, sent)
                return
            if kind != AUDIO:
                error = _error(payload)
                log.warning("speech stream %s cut short after %d bytes: %s: %s",
                            self.request_id, sent, error.code, error.message)
                return
            sent += len(payload)
            yield payload

    def _next(self, *, client_may_leave: bool) -> tuple[bytes, bytes] | None:
        """The next item within the timeout, in short waits; None on timeout or when the
        client left."""
        deadline = time.monotonic() + self.timeout
        while (left := deadline - time.monotonic()) > 0:
            item = speech_stream.next_item(self.client, self.request_id, min(POLL_SECONDS, left))
            if item is not None:
                return item
            if client_may_leave and client_gone(self.environ):
                return None
        return None

    def close(self) -> None:
        """Stop the worker unless it finished, and give back the slots (once)."""
        if self.closed.is_set():
            return
        self.closed.set()
        try:
            if not self.finished:
                speech_stream.cancel(self.client, self.request_id)
        finally:
            for release in self.releases:
                release()


def client_gone(environ: dict) -> bool:
    """Whether the client closed its connection, so the worker can stop before the next write
    would fail. gunicorn and werkzeug put the connection's socket in the environ: readable at
    end of file means closed. Under a server that does not (or with TLS in the process), the
    stream notices at its next write instead."""
    sock = environ.get("gunicorn.socket") or environ.get("werkzeug.socket")
    if not isinstance(sock, socket.socket):
        return False
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:  # nothing to read: still connected
        return False
    except ConnectionError:  # reset by the client
        return True
    except (OSError, ValueError):  # a socket that cannot peek (TLS): the next write tells
        return False


def _error(payload: bytes) -> NarrationError:
    """The worker's error marker as the error the client gets."""
    fields = json.loads(payload)
    error = SpeechFailed(fields["message"], field=fields.get("field"))
    error.code, error.status = fields["code"], int(fields["status"])
    return error
