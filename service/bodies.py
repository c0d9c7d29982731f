"""Request bodies sent without a length (chunked): measured before Flask sees them.

Werkzeug reads a chunked body up to the size limit and then stops without complaint (its
LimitedStream ends quietly at the limit), so a body one byte or a gigabyte over the limit
reached the views cut to the limit and was narrated as if whole. This middleware reads such a
body up to the largest limit any route accepts, plus one byte, and hands Flask a body with a
Content-Length: every route then checks its own limit the one way it checks sized bodies (413).
"""

from __future__ import annotations

import io

CHUNK = 64 << 10


class MeasuredBodies:
    """WSGI middleware: a chunked body becomes a sized one, at most `largest` + 1 bytes."""

    def __init__(self, app, largest: int):
        self.app = app
        self.largest = largest

    def __call__(self, environ, start_response):
        if environ.get("wsgi.input_terminated") and not environ.get("CONTENT_LENGTH"):
            body = read_at_most(environ["wsgi.input"], self.largest + 1)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))  # over the limit by one when it was over
            # Now a sized body: Werkzeug ignores Content-Length beside "chunked".
            environ.pop("HTTP_TRANSFER_ENCODING", None)
            del environ["wsgi.input_terminated"]
        return self.app(environ, start_response)


def read_at_most(stream, limit: int) -> bytes:
    """Up to `limit` bytes from a stream that ends by itself (the server decodes the chunks)."""
    parts, size = [], 0
    while size < limit:
        part = stream.read(min(CHUNK, limit - size))
        if not part:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts)
