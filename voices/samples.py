"""A short spoken sample of each voice, rendered once per install and kept in the data folder.

Listeners choose a voice by ear; the sample is the same two sentences for every voice, spoken by
the same pipeline as a narration (`narration.pipeline.narrate` on a one-chapter document), so it
sounds exactly as a narration would. With it goes the sample's measured median pitch, so the
gender label beside a voice (above all a user's blend) can be checked against what it sounds like.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import math
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from voices.catalogue import Voice

log = logging.getLogger(__name__)

SAMPLE_TEXT = ("Hello. This is how I sound when I read a review aloud, chapter by chapter, "
               "for your podcast app.")
SAMPLE_VERSION = "1"
"""Part of every sample's key: bump it when the text or the rendering changes."""
PITCH_RANGES = {"male": (50.0, 160.0), "female": (160.0, 500.0)}
"""Median F0 in Hz that fits each gender label (docs: male voices sit around 85–155 Hz,
female around 165–255; Kokoro's jf_tebukuro reaches 311)."""


@dataclass(frozen=True)
class Sample:
    """A rendered sample: the MP3 in the data folder and what was measured on it."""

    path: Path
    seconds: float
    median_pitch_hz: float | None
    """Median F0 over voiced frames (Praat's tracker); None when nothing was voiced."""

    def facts(self) -> dict:
        """What a listing shows next to the voice."""
        return {"seconds": round(self.seconds, 2),
                "median_pitch_hz": None if self.median_pitch_hz is None
                else round(self.median_pitch_hz, 1)}


def sample_folder() -> Path:
    """<data dir>/samples."""
    from voices.engines import data_dir

    return data_dir() / "samples"


def sample_key(voice: Voice) -> str:
    """A name for the sample made from everything that changes the sound, not from the voice id:
    a renamed voice keeps its sample, an edited one gets a new one."""
    sound = {"engine": voice.engine, "model": voice.model, "speaker": voice.speaker,
             "blend": voice.blend, "language": voice.language, "base_speed": voice.base_speed,
             "text": SAMPLE_TEXT, "version": SAMPLE_VERSION}
    return hashlib.blake2b(json.dumps(sound, sort_keys=True).encode(), digest_size=12).hexdigest()


def cached_sample(voice: Voice) -> Sample | None:
    """The voice's sample when it has been rendered on this install, else None (cheap)."""
    folder, key = sample_folder(), sample_key(voice)
    facts_file, mp3 = folder / f"{key}.json", folder / f"{key}.mp3"
    if not (facts_file.is_file() and mp3.is_file()):
        return None
    facts = json.loads(facts_file.read_text(encoding="utf-8"))
    return Sample(mp3, facts["seconds"], facts["median_pitch_hz"])


def ensure_sample(voice: Voice) -> Sample:
    """The voice's sample, rendering it first if needed (seconds; the engine is loaded).

    A file lock per sample keeps processes that ask at once from rendering it twice; the MP3 and
    its facts are renamed into place, the facts last, so a half-written sample is never found.
    """
    sample = cached_sample(voice)
    if sample is not None:
        return sample
    folder = sample_folder()
    folder.mkdir(parents=True, exist_ok=True)
    key = sample_key(voice)
    with open(folder / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        sample = cached_sample(voice)
        if sample is None:
            sample = _render(voice, folder, key)
    return sample


def _render(voice: Voice, folder: Path, key: str) -> Sample:
    """Narrate the sample text with the voice, measure it, and move it into the folder."""
    from narration.document import Chapter, Document, Metadata
    from narration.encode import decode_mp3
    from narration.pipeline import narrate
    from voices.engines import load_engine

    engine = load_engine(voice)
    document = Document(Metadata(title=f"{voice.name}: a sample"),
                        (Chapter("Sample", (SAMPLE_TEXT,)),))
    with tempfile.TemporaryDirectory(dir=folder, prefix="rendering-") as temp:
        files = narrate(document, engine, Path(temp) / "sample.mp3")
        audio = decode_mp3(files.mp3)
        mp3 = folder / f"{key}.mp3"
        shutil.move(files.mp3, mp3)
        sample = Sample(mp3, audio.seconds, median_pitch(audio.samples, audio.rate))
        facts = Path(temp) / "facts.json"
        facts.write_text(json.dumps({**asdict(sample), "path": mp3.name, "voice": voice.id}),
                         encoding="utf-8")
        facts.replace(folder / f"{key}.json")
    log.info("rendered the sample of voice %s: %.1f s, median pitch %s Hz", voice.id,
             sample.seconds, sample.median_pitch_hz)
    return sample


def median_pitch(samples: np.ndarray, rate: int) -> float | None:
    """Median F0 in Hz over voiced frames, by Praat's pitch tracker (as the tests measure)."""
    import parselmouth

    pitch = parselmouth.Sound(np.asarray(samples, dtype=np.float64), rate).to_pitch()
    frequencies = pitch.selected_array["frequency"]
    voiced = frequencies[frequencies > 0]
    return float(np.median(voiced)) if len(voiced) else None


def gender_fits(gender: str, pitch_hz: float | None) -> bool:
    """Whether a measured median pitch fits a gender label (no measurement: no evidence against)."""
    if pitch_hz is None or not math.isfinite(pitch_hz):
        return True
    low, high = PITCH_RANGES[gender]
    return low <= pitch_hz < high


def gender_for_pitch(pitch_hz: float | None) -> str | None:
    """The label whose range holds the pitch, or None."""
    if pitch_hz is None:
        return None
    return next((gender for gender, (low, high) in PITCH_RANGES.items() if low <= pitch_hz < high),
                None)
