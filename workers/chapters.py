"""Rendered chapters as stored between a chapter task and the assembly task.

A part is a 16-bit mono WAV at the output rate plus a JSON file with the chapter title and its
cues; the WAV is written last, so its presence means the part is complete.
"""

from __future__ import annotations

import io
import json
import math
import wave

import numpy as np

from narration.audio import Audio
from narration.encode import to_int16
from narration.loudness import TARGET_LUFS, TRUE_PEAK_CEILING, integrated_loudness, limit_true_peak
from narration.timeline import Cue, RenderedChapter
from state.media import narration_key

PCM_SCALE = 32767.0
"""to_int16 scales by 32767; dividing by the same makes a stored part read back exactly."""


def part_keys(job_id: str, index: int) -> tuple[str, str]:
    """(WAV key, cues key) of chapter `index`'s part."""
    return (narration_key(job_id, f"parts/{index}.wav"),
            narration_key(job_id, f"parts/{index}.json"))


def preview_key(job_id: str, index: int) -> str:
    """Key of the chapter's playable MP3, published as soon as the chapter is done."""
    return narration_key(job_id, f"chapters/{index}.mp3")


def job_folder(job_id: str) -> str:
    """The prefix under which every output of a job lives (as `narration_key` builds them)."""
    return narration_key(job_id, "_").rsplit("/", 1)[0]


def preview_audio(audio: Audio) -> Audio:
    """A chapter brought near the episode's loudness in one pass, for its preview MP3.

    The episode gets the full treatment at assembly (several passes, an encode checked for true
    peak); doing that per chapter as well cost as much as synthesizing it. One measurement, one
    gain and one pass of the limiter keep previews about as loud as the episode for a fraction.
    """
    loudness = integrated_loudness(audio)
    if not math.isfinite(loudness):
        return audio  # silent or too short to measure
    gained = np.asarray(audio.samples, dtype=np.float32) * np.float32(
        10 ** ((TARGET_LUFS - loudness) / 20))
    return Audio(limit_true_peak(gained, audio.rate, TRUE_PEAK_CEILING), audio.rate)


def encode_part(chapter: RenderedChapter) -> tuple[bytes, bytes]:
    """(WAV bytes, cues JSON bytes) of a rendered chapter."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(chapter.audio.rate)
        wav.writeframes(to_int16(chapter.audio.samples).tobytes())
    cues = {"title": chapter.title, "rate": chapter.audio.rate,
            "samples": len(chapter.audio.samples),
            "cues": [{"start": c.start, "end": c.end, "text": c.text} for c in chapter.cues]}
    return buffer.getvalue(), json.dumps(cues, ensure_ascii=False).encode("utf-8")


def decode_part(wav_bytes: bytes, cues_bytes: bytes) -> RenderedChapter:
    """The rendered chapter back from its stored bytes."""
    with wave.open(io.BytesIO(wav_bytes), "rb") as wav:
        if wav.getnchannels() != 1 or wav.getsampwidth() != 2:
            raise ValueError("a chapter part must be 16-bit mono WAV")
        rate = wav.getframerate()
        pcm = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    data = json.loads(cues_bytes)
    cues = tuple(Cue(c["start"], c["end"], c["text"]) for c in data["cues"])
    return RenderedChapter(data["title"], Audio(pcm.astype(np.float32) / PCM_SCALE, rate), cues)


def part_duration(cues_bytes: bytes) -> float:
    """Seconds of audio in a stored part, read from its cues file alone."""
    data = json.loads(cues_bytes)
    return data["samples"] / data["rate"]
