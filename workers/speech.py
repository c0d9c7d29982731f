"""Short texts spoken for /v1/audio/speech, on a worker like every narration: the same pieces
(script, parts, segments, the frame-level join: `speak_mp3`), no second pipeline. WAV and PCM
are the MP3 decoded, so every format sounds the same. The web process waits for the task and
serves the file the task stored.

Streamed (`stream_text`), the same script and parts are spoken sentence by sentence
(`speak_pieces`) and each sentence is published as soon as it is encoded: MP3 from one
encoder process fed the whole way (one valid MP3, no gaps), or PCM as OpenAI sends it (16-bit
little-endian mono at 24 kHz, resampled by soxr as every clip is). Between sentences the task
looks whether the listener left, and stops if so.
"""

from __future__ import annotations

import io
import logging
import tempfile
import wave
from pathlib import Path

from narration.encode import ENCODER_GAIN_DB, Mp3Stream, decode_mp3, to_int16
from narration.errors import NarrationError
from narration.lexicon import apply_to_scripts
from narration.loudness import TARGET_LUFS
from narration.pipeline import speak_mp3, speak_pieces
from narration.reading import read_chapters
from narration.render import OUTPUT_RATE
from narration.script import build_script
from state.media import MediaStore
from state.speech_stream import ChunkWriter

log = logging.getLogger(__name__)

FORMATS = {"mp3": "audio/mpeg", "wav": "audio/wav", "pcm": "audio/pcm"}
PCM_RATE = 24000
"""OpenAI's "pcm": raw 16-bit little-endian mono samples at 24 kHz, no header."""


def speech_key(request_id: str, audio_format: str) -> str:
    """Where the spoken audio waits for the web process that asked for it."""
    return f"speech/{request_id}/speech.{audio_format}"


def speech_scripts(text: str, engine, lexicon=None):
    """The text as written (one untitled chapter, paragraphs at blank lines), with the
    lexicon's pronunciations. Errors in the text raise NarrationError with field "input"."""
    try:
        return apply_to_scripts(build_script(read_chapters([{"title": "", "text": text}]),
                                             max_chars=engine.max_chars), lexicon)
    except NarrationError as error:
        error.field = "input"
        raise


def speak_text(media: MediaStore, engine, request_id: str, text: str, *, speed: float,
               audio_format: str, bitrate: str, lexicon=None) -> str:
    """Say `text` and store it in `audio_format`; the media key."""
    mp3 = speak_mp3(speech_scripts(text, engine, lexicon), engine, speed=speed, bitrate=bitrate)
    key = speech_key(request_id, audio_format)
    if audio_format == "mp3":
        media.put_bytes(key, mp3, FORMATS["mp3"])
        return key
    with tempfile.TemporaryDirectory(prefix="narrator-speech-") as folder:
        path = Path(folder) / "speech.mp3"
        path.write_bytes(mp3)
        if audio_format == "pcm":
            data = to_int16(decode_mp3(path, PCM_RATE).samples).tobytes()
        else:
            data = wav_bytes(decode_mp3(path))
        media.put_bytes(key, data, FORMATS[audio_format])
    return key


def stream_text(chunks: ChunkWriter, engine, text: str, *, speed: float, audio_format: str,
                bitrate: str, lexicon=None) -> tuple[int, int]:
    """Say `text` sentence by sentence into `chunks`, ending with the end marker, unless the
    listener leaves first; (sentences spoken, sentences in the text)."""
    scripts = speech_scripts(text, engine, lexicon)
    total = sum(len(script.utterances) for script in scripts)
    spoken = 0

    def count(utterance, hit) -> None:
        nonlocal spoken
        spoken += 1

    mp3 = audio_format == "mp3"
    # The encoder loses ENCODER_GAIN_DB, so MP3 is aimed that much louder (as a segment is).
    pieces = speak_pieces(scripts, engine, speed=speed, rate=OUTPUT_RATE if mp3 else PCM_RATE,
                          target_lufs=TARGET_LUFS + (ENCODER_GAIN_DB if mp3 else 0.0),
                          on_spoken=count)
    encoder = Mp3Stream(OUTPUT_RATE, chunks.audio, bitrate=bitrate) if mp3 else None
    try:
        for piece in pieces:
            if encoder is not None:
                encoder.write(piece)
            else:
                chunks.audio(to_int16(piece).tobytes())
            if chunks.canceled():
                if encoder is not None:
                    encoder.kill()
                chunks.discard()
                return spoken, total
        if encoder is not None:
            encoder.close()
    except BaseException:
        if encoder is not None:
            encoder.kill()
        raise
    chunks.end()
    return spoken, total


def wav_bytes(audio) -> bytes:
    """16-bit mono PCM WAV; the standard library's writer is all this needs."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(audio.rate)
        out.writeframes(to_int16(audio.samples).tobytes())
    return buffer.getvalue()
