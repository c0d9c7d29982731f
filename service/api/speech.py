"""OpenAI-compatible `POST /v1/audio/speech`: short text in, MP3 or WAV out, synchronously.

Differences from OpenAI, on purpose: `speed` is 0.5–2.0 (our engines' range; OpenAI allows
0.25–4.0), `response_format` is mp3 or wav only, and `model` is accepted but does not choose
anything (the voice does). OpenAI voice names map to our catalogue aliases through
OPENAI_VOICES, a data table; any catalogue id or alias works too.
"""

from __future__ import annotations

import io
import tempfile
import threading
import wave
from pathlib import Path

from flask import Blueprint, Response, current_app, request

import voices
from narration.assemble import assemble_episode
from narration.audio import Audio
from narration.document import Document
from narration.encode import encode_mp3_to, to_int16
from narration.errors import NarrationError
from narration.pipeline import make_speaker
from narration.reading import read_chapters
from narration.render import render_chapter
from narration.script import build_script
from service.api import narrator, produces
from service.auth import require_user
from service.errors import InvalidRequestError, MissingFieldError, UnsupportedFormatError
from service.requests import json_object, parse_speed

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

# One synthesis at a time per web process: engines already use every core, and two at once
# would only make both slower.
_synthesis_lock = threading.Lock()


@bp.post("/speech")
@produces(*FORMATS.values())
def create_speech():
    """Speak `input` with `voice` and answer with the audio file."""
    fields = json_object(request, None)  # unknown fields ignored, as OpenAI-compatible servers do
    text = _input(fields)
    voice = find_voice(fields.get("voice"))
    audio_format = _format(fields.get("response_format"))
    speed = parse_speed(fields.get("speed"))
    _model(fields.get("model"))
    document = speech_document(text)
    engine = voices.load_engine(voice)
    with _synthesis_lock:
        audio = synthesize(document, engine, speed)
    data = encode_mp3(audio) if audio_format == "mp3" else encode_wav(audio)
    return Response(data, mimetype=FORMATS[audio_format],
                    headers={"Content-Disposition": f'inline; filename="speech.{audio_format}"'})


def find_voice(name: object):
    """The catalogue voice for an OpenAI name, an alias or a voice id."""
    if name is None or name == "":
        raise MissingFieldError("voice is missing: use alloy, echo, fable, onyx, nova, shimmer, "
                                "male, female or a voice id.", field="voice")
    if not isinstance(name, str):
        raise InvalidRequestError("voice must be a string.", field="voice")
    return narrator().catalogue.find(OPENAI_VOICES.get(name.strip().lower(), name))


def speech_document(text: str) -> Document:
    """The input as one untitled chapter, paragraphs at blank lines: said as written."""
    try:
        return read_chapters([{"title": "", "text": text}])
    except NarrationError as error:
        error.field = "input"
        raise


def synthesize(document: Document, engine, speed: float) -> Audio:
    """The core pipeline in-process: script, speak, render, assemble (loudness included)."""
    try:
        scripts = build_script(document, max_chars=engine.max_chars)
    except NarrationError as error:
        error.field = "input"
        raise
    speak = make_speaker(engine, speed, cache=None)
    return assemble_episode([render_chapter(script, speak) for script in scripts]).audio


def encode_mp3(audio: Audio) -> bytes:
    """MP3 through the core's encoder (true-peak checked)."""
    with tempfile.TemporaryDirectory(prefix="narrator-speech-") as folder:
        path = Path(folder) / "speech.mp3"
        encode_mp3_to(audio, path, bitrate=current_app.config["BITRATE"])
        return path.read_bytes()


def encode_wav(audio: Audio) -> bytes:
    """16-bit mono PCM WAV; the standard library's writer is all this needs."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(audio.rate)
        out.writeframes(to_int16(audio.samples).tobytes())
    return buffer.getvalue()


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
