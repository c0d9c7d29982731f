"""Keep secrets out of logs: feed tokens travel in URL paths, so any line naming a path may carry
one; API keys and page session ids must never appear either.

`RedactingLogger` is gunicorn's logger (`logger_class` in service/gunicorn_conf.py) with two
guards: its access log atoms are redacted (the request line, path, Referer, and the secret
headers blanked whatever `access_log_format` says), and a `RedactingFilter` is put on every
handler of gunicorn's error and access logs, on the root logger's and on Flask's default
handler, so every line — gunicorn's "Error handling request /feeds/<token>.xml" when a
response fails midway, the app's own warnings, tracebacks — is redacted before it is written.
"""

from __future__ import annotations

import logging
import re

from gunicorn.glogging import Logger

SECRET_HEADERS = {"{authorization}i", "{cookie}i", "{http_authorization}e", "{http_cookie}e"}
FEED_TOKEN = re.compile(r"(/feeds/)[A-Za-z0-9_-]{8,}")
SECRETS = re.compile(r"\b(nk_|ns_)[A-Za-z0-9_-]{8,}")
"""API keys (nk_…) and page session ids (ns_…), wherever they appear."""


def redact(text: str) -> str:
    """The text with feed tokens in URL paths, API keys and session ids blanked."""
    return SECRETS.sub(r"\1[redacted]", FEED_TOKEN.sub(r"\1[token]", text))


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (and traceback text) without secrets; drops nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


REDACTING = RedactingFilter()


def redact_handlers(loggers: list[logging.Logger]) -> None:
    """Put the filter on every handler of these loggers (handler filters also see records
    that propagate from child loggers, which logger filters do not)."""
    import flask.logging

    handlers = {handler for logger in loggers for handler in logger.handlers}
    handlers.add(flask.logging.default_handler)
    if logging.lastResort is not None:  # what writes the app's warnings when root has no handler
        handlers.add(logging.lastResort)
    for handler in handlers:
        if REDACTING not in handler.filters:
            handler.addFilter(REDACTING)


class RedactingLogger(Logger):
    """gunicorn's logger, without feed tokens, keys or session ids in any line."""

    def setup(self, cfg):
        super().setup(cfg)
        redact_handlers([self.error_log, self.access_log, logging.getLogger()])

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        # Every atom, not only the request line: a custom access_log_format may use any of them.
        for name, value in atoms.items():
            if name in SECRET_HEADERS:
                atoms[name] = "[redacted]"
            elif isinstance(value, str):
                atoms[name] = redact(value)
        return atoms
