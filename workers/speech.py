"""Short texts spoken for /v1/audio/speech, on a worker like every narration: the same pieces
(script, parts, segments, the frame-level join: `speak_mp3`), no second pipeline. WAV is the
MP3 decoded, so both formats sound the same. The web process waits for
the task and serves the file the task stored."""

from __future__ import annotations

import io
import tempfile
import wave
from pathlib import Path

from narration.encode import decode_mp3, to_int16
from narration.errors import NarrationError
from narration.lexicon import apply_to_scripts
from narration.pipeline import speak_mp3
from narration.reading import read_chapters
from narration.script import build_script
from state.media import MediaStore

FORMATS = {"mp3": "audio/mpeg", "wav": "audio/wav"}


def speech_key(request_id: str, audio_format: str) -> str:
    """Where the spoken audio waits for the web process that asked for it."""
    return f"speech/{request_id}/speech.{audio_format}"


def speak_text(media: MediaStore, engine, request_id: str, text: str, *, speed: float,
               audio_format: str, bitrate: str, lexicon=None) -> str:
    """Say `text` as written (one untitled chapter, paragraphs at blank lines), with the
    lexicon's pronunciations, and store it; the media key. Errors in the text raise
    NarrationError with field "input"."""
    try:
        scripts = apply_to_scripts(build_script(read_chapters([{"title": "", "text": text}]),
                                                max_chars=engine.max_chars), lexicon)
    except NarrationError as error:
        error.field = "input"
        raise
    mp3 = speak_mp3(scripts, engine, speed=speed, bitrate=bitrate)
    key = speech_key(request_id, audio_format)
    if audio_format == "mp3":
        media.put_bytes(key, mp3, FORMATS["mp3"])
        return key
    with tempfile.TemporaryDirectory(prefix="narrator-speech-") as folder:
        path = Path(folder) / "speech.mp3"
        path.write_bytes(mp3)
        media.put_bytes(key, wav_bytes(decode_mp3(path)), FORMATS["wav"])
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
