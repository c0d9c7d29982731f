"""OpenAI-compatible `POST /v1/audio/speech`: short text in, MP3, WAV or PCM out.

The text is spoken on the workers like any narration (the web process never synthesizes): the
view checks the request, sends the speak task by name, waits for it and serves what it stored.
With `"stream": true` it sends the streaming task instead and answers with the audio as each
sentence is ready (service/api/speech_stream.py): MP3 or PCM; WAV is refused, since a WAV
header states the length, which is unknown until the last sentence is said.
Each user may have SPEECH_PER_USER requests in progress at once, streamed or not (429 beyond),
so nobody can queue everyone else behind long inputs; a web process holds at most
SPEECH_MAX_STREAMS streams (503 beyond), so streams never take the threads other requests
need (service/streams.py). The service-wide rate limits apply as to every route.

Differences from OpenAI, on purpose: `speed` is 0.5–2.0 (our engines' range; OpenAI allows
0.25–4.0), `response_format` is mp3, wav or pcm (OpenAI's 16-bit mono 24 kHz), and `model` is
accepted but does not choose anything (the voice does). OpenAI voice names map to our
catalogue aliases through OPENAI_VOICES, a data table; any catalogue id or alias works too.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from typing import Callable

from celery.exceptions import TimeoutError as CeleryTimeout
from flask import Blueprint, Response, current_app, request

from narration.errors import NarrationError
from service.api import narrator, produces
from service.api.speech_stream import SpeechListener
from service.auth import current_user, require_user
from service.errors import (InvalidRequestError, MissingFieldError, ServiceUnavailableError,
                            UnsupportedFormatError)
from service.limits import QuotaExceeded
from service.requests import check_words, json_object, parse_speed
from service.streams import stream_slots
from state.queue import SPEAK_STREAM_TASK, SPEAK_TASK

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
FORMATS = {"mp3": "audio/mpeg", "wav": "audio/wav", "pcm": "audio/pcm"}
STREAM_FORMATS = ("mp3", "pcm")
IN_PROGRESS_TTL = 600
"""Seconds a user's in-progress count lives in Redis, should a web process die mid-request."""


@bp.post("/speech")
@produces(*FORMATS.values(), "application/octet-stream")  # what OpenAI's own client accepts
def create_speech():
    """Speak `input` with `voice` on a worker and answer with the audio file, or stream it."""
    fields = json_object(request, None)  # unknown fields ignored, as OpenAI-compatible servers do
    text = _input(fields)
    check_words(text, "input")
    voice = find_voice(fields.get("voice"))
    streamed = _stream(fields.get("stream"))
    audio_format = _format(fields.get("response_format"), streamed)
    speed = parse_speed(fields.get("speed"))
    _model(fields.get("model"))
    if streamed:
        return streamed_speech(text, voice.id, speed, audio_format)
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


def streamed_speech(text: str, voice_id: str, speed: float, audio_format: str) -> Response:
    """Send the streaming task and answer with its audio as it comes (chunked, no length).

    Everything the stream holds (a stream slot of this process, the user's in-progress slot)
    is given back when the response closes, also when the client leaves mid-stream; the
    worker is then told to stop after its current sentence.
    """
    celery = narrator().celery
    if celery is None:
        raise ServiceUnavailableError("This server has no work queue to speak with.")
    config, user = current_app.config, current_user()
    # Per user, the in-progress count below is the one cap (every web process counts there).
    slots = stream_slots("speech streams", 'ask without "stream"')
    total = int(config["SPEECH_MAX_STREAMS"])
    releases = [slots.acquire(user, per_user=total, total=total)]
    listener = SpeechListener(celery.backend.client, uuid.uuid4().hex, request.environ,
                              timeout=float(config["SPEECH_TIMEOUT_SECONDS"]), releases=releases)
    try:
        releases.append(hold_speech_slot(user))
        celery.send_task(SPEAK_STREAM_TASK, args=[listener.request_id, text, voice_id, speed,
                                                  audio_format, user, None])
        first = listener.first_chunk()
    except BaseException:
        listener.close()
        raise
    response = Response(listener.chunks(first), mimetype=FORMATS[audio_format],
                        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no",
                                 "Content-Disposition":
                                     f'inline; filename="speech.{audio_format}"'})
    # The server closes every response, also one whose client left mid-stream.
    response.call_on_close(listener.close)
    return response


@contextlib.contextmanager
def in_progress(user_id: str):
    """Count the user's speech request as in progress while the block runs; 429 past
    SPEECH_PER_USER."""
    release = hold_speech_slot(user_id)
    try:
        yield
    finally:
        release()


def hold_speech_slot(user_id: str) -> Callable[[], None]:
    """Count one more speech request of the user in progress (in Redis, so every web process
    counts together), or 429 past SPEECH_PER_USER; returns the (idempotent) release."""
    limit = int(current_app.config["SPEECH_PER_USER"])
    client = narrator().celery.backend.client
    key = f"narrator-speech:{user_id}"
    count = client.incr(key)
    client.expire(key, IN_PROGRESS_TTL)
    released = threading.Event()

    def release() -> None:
        if not released.is_set():
            released.set()
            client.decr(key)

    if count > limit:
        release()
        raise QuotaExceeded(f"You have {count - 1} speech requests in progress; the limit is "
                            f"{limit} at once. Wait for one to finish.", retry_after=5)
    return release


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


def _format(value: object, streamed: bool) -> str:
    if value is None:
        return "mp3"
    if not isinstance(value, str) or value not in FORMATS:
        raise UnsupportedFormatError(f"response_format {value!r} is not supported; use one of "
                                     f"{', '.join(FORMATS)}.", field="response_format")
    if streamed and value not in STREAM_FORMATS:
        raise UnsupportedFormatError(
            f"response_format {value!r} cannot be streamed: a WAV header states the audio's "
            "length, which is unknown until the last sentence is spoken. Stream mp3 or pcm "
            "(16-bit mono at 24 kHz), or leave out \"stream\" for a WAV file.",
            field="response_format")
    return value


def _stream(value: object) -> bool:
    """OpenAI's `stream`: absent or false for one file, true for audio as it is spoken."""
    if value is None:
        return False
    if not isinstance(value, bool):
        raise InvalidRequestError(f"stream must be true or false, not {value!r}.",
                                  field="stream")
    return value


def _model(value: object) -> None:
    """Any model name is accepted (tools send tts-1); it must still be a string."""
    if value is None:
        raise MissingFieldError('model is missing: send any name, e.g. "tts-1".', field="model")
    if not isinstance(value, str):
        raise InvalidRequestError("model must be a string.", field="model")
