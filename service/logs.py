"""Keep secrets out of logs: feed tokens travel in URL paths, so access logs would record them.

`RedactingLogger` is gunicorn's logger with every feed token in the request line, path and
Referer replaced by "[token]" (`--logger-class service.logs.RedactingLogger`). API keys travel
only in headers gunicorn does not log.
"""

from __future__ import annotations

import re

from gunicorn.glogging import Logger

SECRET_HEADERS = {"{authorization}i", "{cookie}i", "{http_authorization}e", "{http_cookie}e"}
FEED_TOKEN = re.compile(r"(/feeds/)[A-Za-z0-9_-]{8,}")


def redact(text: str) -> str:
    """The text with feed tokens in URL paths blanked."""
    return FEED_TOKEN.sub(r"\1[token]", text)


class RedactingLogger(Logger):
    """gunicorn's access log, without feed tokens."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        # Every atom, not only the request line: a custom access_log_format may use any of them.
        for name, value in atoms.items():
            if name in SECRET_HEADERS:
                atoms[name] = "[redacted]"
            elif isinstance(value, str):
                atoms[name] = redact(value)
        return atoms
