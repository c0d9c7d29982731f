"""OpenAI-compatible `POST /v1/audio/speech`: short text in, MP3 or WAV out, synchronously.

The text is spoken on the workers like any narration (the web process never synthesizes): the
view checks the request, sends the speak task by name, waits for it and serves what it stored.
Each user may have SPEECH_PER_USER requests in progress at once (429 beyond), so nobody can
queue everyone else behind long inputs; the service-wide rate limits apply as to every route.

Differences from OpenAI, on purpose: `speed` is 0.5–2.0 (our engines' range; OpenAI allows
0.25–4.0), `response_format` is mp3 or wav only, and `model` is accepted but does not choose
anything (the voice does). OpenAI voice names map to our catalogue aliases through
OPENAI_VOICES, a data table; any catalogue id or alias works too.
"""

from __future__ import annotations

import contextlib
import uuid

from celery.exceptions import TimeoutError as CeleryTimeout
from flask import Blueprint, Response, current_app, request

from narration.errors import NarrationError
from service.api import narrator, produces
from service.auth import current_user, require_user
from service.errors import (InvalidRequestError, MissingFieldError, ServiceUnavailableError,
                            UnsupportedFormatError)
from service.limits import QuotaExceeded
from service.requests import check_words, json_object, parse_speed
from state.queue import SPEAK_TASK

bp = Blueprint("speech", __name__, url_prefix="/v1/audio")
bp.before_request(require_user)

OPENAI_VOICES = {
    "alloy": "female",
    "echo": "male",
    "fable": "male",
    "onyx": "male",
    "nova": "female",
    "shimmer": "female",
}
"""OpenAI's voice names → our aliases, by how OpenAI's voices sound."""
FORMATS = {"mp3": "audio/mpeg", "wav": "audio/wav"}
IN_PROGRESS_TTL = 600
"""Seconds a user's in-progress count lives in Redis, should a web process die mid-request."""


@bp.post("/speech")
@produces(*FORMATS.values())
def create_speech():
    """Speak `input` with `voice` on a worker and answer with the audio file."""
    fields = json_object(request, None)  # unknown fields ignored, as OpenAI-compatible servers do
    text = _input(fields)
    check_words(text, "input")
    voice = find_voice(fields.get("voice"))
    audio_format = _format(fields.get("response_format"))
    speed = parse_speed(fields.get("speed"))
    _model(fields.get("model"))
    data = spoken_bytes(text, voice.id, speed, audio_format)
    return Response(data, mimetype=FORMATS[audio_format],
                    headers={"Content-Disposition": f'inline; filename="speech.{audio_format}"'})


def spoken_bytes(text: str, voice_id: str, speed: float, audio_format: str,
                 lexicons: list[str] | None = None) -> bytes:
    """The audio the workers made for the text (counted against the caller's cap)."""
    if narrator().celery is None:
        raise ServiceUnavailableError("This server has no work queue to speak with.")
    with in_progress(current_user()):
        key = spoken(text, voice_id, speed, audio_format, lexicons)
    media = narrator().media
    data = media.get_bytes(key)
    media.delete_prefix(key.rsplit("/", 1)[0])  # the request's own folder
    return data


def spoken(text: str, voice_id: str, speed: float, audio_format: str,
           lexicons: list[str] | None = None) -> str:
    """Send the speak task by name and wait for it; the media key of the audio. The caller's
    lexicons apply: those named, else their default ones."""
    celery = narrator().celery
    timeout = float(current_app.config["SPEECH_TIMEOUT_SECONDS"])
    try:
        result = celery.send_task(SPEAK_TASK, args=[uuid.uuid4().hex, text, voice_id, speed,
                                                    audio_format, current_user(), lexicons])
        outcome = result.get(timeout=timeout)
    except CeleryTimeout:
        raise ServiceUnavailableError(
            f"The workers did not speak the text within {timeout:.0f} s; they may be busy with "
            "narrations. Try again shortly, or send a shorter input.") from None
    if "error" in outcome:
        error = NarrationError(outcome["error"]["message"], field=outcome["error"]["field"])
        error.code, error.status = outcome["error"]["code"], outcome["error"]["status"]
        raise error
    return outcome["key"]


@contextlib.contextmanager
def in_progress(user_id: str):
    """Count the user's speech requests in progress (in Redis, so every web process counts
    together); 429 past SPEECH_PER_USER."""
    limit = int(current_app.config["SPEECH_PER_USER"])
    client = narrator().celery.backend.client
    key = f"narrator-speech:{user_id}"
    count = client.incr(key)
    client.expire(key, IN_PROGRESS_TTL)
    try:
        if count > limit:
            raise QuotaExceeded(f"You have {count - 1} speech requests in progress; the limit is "
                                f"{limit} at once. Wait for one to finish.", retry_after=5)
        yield
    finally:
        client.decr(key)


def find_voice(name: object):
    """The catalogue voice for an OpenAI name, an alias or a voice id."""
    if name is None or name == "":
        raise MissingFieldError("voice is missing: use alloy, echo, fable, onyx, nova, shimmer, "
                                "male, female or a voice id.", field="voice")
    if not isinstance(name, str):
        raise InvalidRequestError("voice must be a string.", field="voice")
    return narrator().catalogue.find(OPENAI_VOICES.get(name.strip().lower(), name))


def _input(fields: dict) -> str:
    text = fields.get("input")
    if text is None:
        raise MissingFieldError("input is missing: give the text to speak.", field="input")
    if not isinstance(text, str):
        raise InvalidRequestError("input must be a string.", field="input")
    limit = current_app.config["SPEECH_MAX_INPUT"]
    if len(text) > limit:
        raise InvalidRequestError(f"input is {len(text)} characters long; the limit is {limit}. "
                                  "Use POST /api/v1/narrations for long texts.", field="input")
    return text


def _format(value: object) -> str:
    if value is None:
        return "mp3"
    if not isinstance(value, str) or value not in FORMATS:
        raise UnsupportedFormatError(f"response_format {value!r} is not supported; use one of "
                                     f"{', '.join(FORMATS)}.", field="response_format")
    return value


def _model(value: object) -> None:
    """Any model name is accepted (tools send tts-1); it must still be a string."""
    if value is None:
        raise MissingFieldError('model is missing: send any name, e.g. "tts-1".', field="model")
    if not isinstance(value, str):
        raise InvalidRequestError("model must be a string.", field="model")
