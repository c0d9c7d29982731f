"""One JSON error shape for every failure: `{"error": {"code", "message", "field"?}}`.

Errors a client causes are `narration.errors.NarrationError` subclasses (the core's, plus the
HTTP-layer ones below) or werkzeug `HTTPException`s; one handler renders each family. Anything
else is our bug: logged with its traceback and answered with a generic 500.
"""

from __future__ import annotations

import logging

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

from narration.errors import NarrationError

log = logging.getLogger(__name__)


class MalformedJSONError(NarrationError):
    code = "malformed_json"
    status = 400


class InvalidRequestError(NarrationError):
    """The request is well-formed but a field has the wrong type, is unknown or conflicts."""

    code = "invalid_request"


class MissingFieldError(NarrationError):
    code = "missing_field"


class UnsupportedMediaTypeError(NarrationError):
    code = "unsupported_media_type"
    status = 415


class UnsupportedFormatError(NarrationError):
    """An audio format the speech endpoint does not produce."""

    code = "unsupported_format"


class NotFoundError(NarrationError):
    code = "not_found"
    status = 404


class NotReadyError(NarrationError):
    """The output exists only once the job (or the chapter) is done."""

    code = "not_ready"
    status = 404


class NotAcceptableError(NarrationError):
    code = "not_acceptable"
    status = 406


class JobFinishedError(NarrationError):
    """A finished or failed job cannot be canceled."""

    code = "job_finished"
    status = 409


class NotRetryableError(NarrationError):
    """Only failed or canceled jobs can be run again."""

    code = "not_retryable"
    status = 409


class RangeNotSatisfiableError(NarrationError):
    code = "range_not_satisfiable"
    status = 416

    def __init__(self, message: str, *, size: int):
        super().__init__(message, field="Range")
        self.headers = {"Content-Range": f"bytes */{size}"}


class ServiceUnavailableError(NarrationError):
    """A dependency (queue, media store) is down: not the client's fault, but worth retrying."""

    code = "service_unavailable"
    status = 503
    headers = {"Retry-After": "5"}


# Werkzeug's descriptions are HTML-flavoured prose; these say what to do instead.
HTTP_ERRORS = {
    400: ("bad_request", "The request could not be read; check its syntax."),
    404: ("not_found", "Nothing lives at this URL; check the path (ids are UUIDs)."),
    405: ("method_not_allowed", "This URL does not accept that method; see the Allow header."),
    406: ("not_acceptable", "This URL answers with application/json; allow it in Accept."),
    413: ("payload_too_large", "The request body is over the size limit; send a shorter text."),
    415: ("unsupported_media_type", "Send application/json, text/plain or text/markdown."),
    416: ("range_not_satisfiable", "The Range is outside the file; check its size first."),
}


def error_response(status: int, code: str, message: str, field: str | None = None,
                   headers: dict | None = None):
    """The one JSON error body, with its status and any extra headers."""
    body = {"code": code, "message": message}
    if field:
        body["field"] = field
    response = jsonify(error=body)
    response.status_code = status
    response.headers.update(headers or {})
    return response


def render_narration_error(error: NarrationError):
    """Errors that carry their own code and status (core and HTTP layer alike)."""
    return error_response(error.status, error.code, error.message, error.field,
                          getattr(error, "headers", None))


def render_http_exception(error: HTTPException):
    """Werkzeug's routing and protocol errors (404, 405, 413, …) in our shape."""
    status = error.code or 500
    if status >= 500:
        return render_unexpected(error)
    code, message = HTTP_ERRORS.get(status, (_snake(error.name), error.description or error.name))
    headers = {}
    valid_methods = getattr(error, "valid_methods", None)
    if valid_methods:
        headers["Allow"] = ", ".join(sorted(valid_methods))
    return error_response(status, code, message, headers=headers)


def render_unexpected(error: Exception):
    """Our bug, not the client's: keep the traceback in the log, say little on the wire."""
    log.error("unhandled error while serving a request", exc_info=error)
    return error_response(500, "internal_error",
                          "Something went wrong on our side; it has been logged. Try again later.")


def register_error_handlers(app: Flask) -> None:
    """Install the handlers; Flask picks the most specific class for each exception."""
    app.register_error_handler(NarrationError, render_narration_error)
    app.register_error_handler(HTTPException, render_http_exception)
    app.register_error_handler(Exception, render_unexpected)


def _snake(name: str) -> str:
    return "_".join(name.lower().split())
