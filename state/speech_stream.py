"""How a streamed /v1/audio/speech answer travels from the worker to the web process.

A Redis list per request: the worker RPUSHes audio chunks as each sentence is encoded, then an
end marker, or an error marker carrying the error's code, message, field and status; the web
process BLPOPs them and writes them to its client. When the client leaves, the web process sets
the request's cancel key, which the worker reads between sentences, and drops the list. Keys
expire after TTL_SECONDS, so nothing outlives a web process or a worker that died mid-stream.
Both sides import this module (as they do state/queue.py) and nothing of each other.
"""

from __future__ import annotations

import json

TTL_SECONDS = 300
"""Lifetime of a request's list and cancel key, renewed on every push."""
AUDIO, END, ERROR = b"a", b"e", b"x"
"""First byte of each list item: audio bytes follow, the stream is complete, or JSON of the
error follows."""


def chunks_key(request_id: str) -> str:
    return f"narrator-speech-stream:{request_id}"


def cancel_key(request_id: str) -> str:
    return f"narrator-speech-cancel:{request_id}"


class ChunkWriter:
    """The worker's end: publish audio, then the end or an error; read the cancel key."""

    def __init__(self, client, request_id: str):
        self.client = client
        self.key = chunks_key(request_id)
        self.cancel = cancel_key(request_id)
        self.chunks = 0
        self.bytes = 0

    def _push(self, item: bytes) -> None:
        with self.client.pipeline(transaction=False) as pipe:
            pipe.rpush(self.key, item)
            pipe.expire(self.key, TTL_SECONDS)
            pipe.execute()

    def audio(self, data: bytes) -> None:
        self._push(AUDIO + data)
        self.chunks += 1
        self.bytes += len(data)

    def end(self) -> None:
        self._push(END)

    def error(self, code: str, message: str, field: str | None, status: int) -> None:
        self._push(ERROR + json.dumps({"code": code, "message": message, "field": field,
                                       "status": status}).encode())

    def discard(self) -> None:
        """Drop what is still in the list (pushed after the listener left)."""
        self.client.delete(self.key)

    def canceled(self) -> bool:
        """Whether the listener left (the web process set the cancel key)."""
        return bool(self.client.exists(self.cancel))


def next_item(client, request_id: str, timeout: float) -> tuple[bytes, bytes] | None:
    """The next (kind, payload) the worker published, waiting up to `timeout` seconds; None
    when nothing came. Kinds: AUDIO (bytes), END (b""), ERROR (JSON of code, message, field,
    status)."""
    popped = client.blpop([chunks_key(request_id)], timeout=max(timeout, 0.01))
    if popped is None:
        return None
    item = popped[1]
    return item[:1], item[1:]


def cancel(client, request_id: str) -> None:
    """Tell the worker to stop after its current sentence, and drop what it published."""
    with client.pipeline(transaction=False) as pipe:
        pipe.set(cancel_key(request_id), b"1", ex=TTL_SECONDS)
        pipe.delete(chunks_key(request_id))
        pipe.execute()
