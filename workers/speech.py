"""Short texts spoken for /v1/audio/speech, on a worker like every narration: the same pieces
(script, parts, segments, the frame-level join), no second pipeline. The web process waits for
the task and serves the file the task stored."""

from __future__ import annotations

import io
import tempfile
import wave
from pathlib import Path

from narration.document import Metadata
from narration.encode import decode_mp3, to_int16
from narration.errors import NarrationError
from narration.join import join_segments
from narration.pipeline import plan_parts, produce_part
from narration.reading import read_chapters
from narration.script import build_script
from state.media import MediaStore

FORMATS = {"mp3": "audio/mpeg", "wav": "audio/wav"}


def speech_key(request_id: str, audio_format: str) -> str:
    """Where the spoken audio waits for the web process that asked for it."""
    return f"speech/{request_id}/speech.{audio_format}"


def speak_text(media: MediaStore, engine, request_id: str, text: str, *, speed: float,
               audio_format: str, bitrate: str) -> str:
    """Say `text` as written (one untitled chapter, paragraphs at blank lines) and store it;
    the media key. Errors in the text raise NarrationError with field "input"."""
    try:
        document = read_chapters([{"title": "", "text": text}])
        parts = plan_parts(build_script(document, max_chars=engine.max_chars))
    except NarrationError as error:
        error.field = "input"
        raise
    with tempfile.TemporaryDirectory(prefix="narrator-speech-") as folder:
        segments = []
        for index, part in enumerate(parts):
            path = Path(folder) / f"{index}.mp3"
            segments.append((produce_part(part, engine, path, speed=speed, bitrate=bitrate), path))
        files = join_segments(segments, Metadata(), Path(folder) / "speech.mp3", cover=None)
        key = speech_key(request_id, audio_format)
        if audio_format == "wav":
            media.put_bytes(key, wav_bytes(decode_mp3(files.mp3)), FORMATS["wav"])
        else:
            media.put_file(key, files.mp3, FORMATS["mp3"])
    return key


def wav_bytes(audio) -> bytes:
    """16-bit mono PCM WAV; the standard library's writer is all this needs."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(audio.rate)
        out.writeframes(to_int16(audio.samples).tobytes())
    return buffer.getvalue()
