"""One error type per failure a user can cause; each carries a stable code and an HTTP status.

Front ends render them: the CLI as one line, the service as `{"error": {"code", "message"}}`.
"""

from __future__ import annotations


class NarrationError(Exception):
    """Base of every error a user can cause and fix."""

    code = "narration_error"
    status = 422

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class EmptyTextError(NarrationError):
    code = "empty_text"


class NothingSpeakableError(NarrationError):
    code = "nothing_speakable"


class InvalidTextError(NarrationError):
    """The input is not text we can read (invalid UTF-8, malformed structure)."""

    code = "invalid_text"


class TooManyChaptersError(NarrationError):
    """More chapters than one episode can carry (each is a worker task and a chapter mark)."""

    code = "too_many_chapters"


class InvalidSpeedError(NarrationError):
    code = "invalid_speed"


class VoiceNotFoundError(NarrationError):
    code = "unknown_voice"


class VoiceUnavailableError(NarrationError):
    """The voice is in the catalogue but its engine or model is not installed here."""

    code = "voice_unavailable"
    status = 503


class UrlForbiddenError(NarrationError):
    """A link we will not fetch: not http(s), or its name leads to a private or local address."""

    code = "url_forbidden"


class UrlUnreachableError(NarrationError):
    """A link that could not be fetched: no answer in time, refused, an error status, a redirect loop."""

    code = "url_unreachable"


class UrlTooLargeError(NarrationError):
    """A linked page larger than the largest text we read."""

    code = "url_too_large"
    status = 413


class UrlNotTextError(NarrationError):
    """A link to something that is not a page or a text (an image, a PDF, a video)."""

    code = "url_not_text"
    status = 415
