"""Coqui TTS (coqui-tts, imports as TTS): any model folder, or a model name already in Coqui's cache.

A catalogue entry's `model` is either a folder (or its .pth file) holding the checkpoint and
config.json, or a name like "tts_models/en/vctk/vits" that must already sit in
$TTS_HOME/tts/tts_models--en--vctk--vits. Nothing is ever downloaded: a missing model is reported
with the folder it is expected in, before Coqui (whose downloads have no timeout) is called.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from narration.audio import Audio
from narration.errors import VoiceUnavailableError
from voices.engines import check_speed, engine_threads, package_version
from voices.engines.fix_torchaudio import cuda_linked_extensions
from voices.engines.speed import split_speed, time_stretch

# Coqui's VITS takes long input, but its released models were trained on short clips (VCTK and
# LJSpeech utterances are mostly under 10 s); 250 characters, about 15 s of speech, stays near that.
MAX_CHARS = 250
# As with Piper (also VITS), length_scale is natural but not exact; the rest is time-stretched.
NATIVE_SPEEDS = (0.8, 1.25)
CHECKPOINT_NAMES = ("model_file.pth", "model_file.pth.tar", "model.pth", "checkpoint.pth")
INSTALL_HINT = ("pip install -e '.[coqui]' and then python -m voices.engines.fix_torchaudio")


def tts_cache_dir() -> Path:
    """Coqui's model cache, computed as coqui's trainer.io does (importing it would load torch)."""
    if os.environ.get("TTS_HOME"):
        base = Path(os.environ["TTS_HOME"]).expanduser()
    elif os.environ.get("XDG_DATA_HOME"):
        base = Path(os.environ["XDG_DATA_HOME"]).expanduser()
    else:
        base = Path.home() / ".local" / "share"
    return base / "tts"


def is_model_name(model: str) -> bool:
    """Names look like tts_models/<language>/<dataset>/<model>; anything else is a path."""
    return model.startswith("tts_models/") and len(model.split("/")) == 4


def model_folder(model: str) -> Path:
    """Where the model's files must be: the cache folder for a name, else the given folder."""
    if is_model_name(model):
        return tts_cache_dir() / model.replace("/", "--")
    path = Path(model).expanduser()
    return path.parent if path.suffix in (".pth", ".tar") else path


def find_checkpoint(folder: Path, model: str) -> Path | None:
    """The checkpoint file of a model folder, looked up the way Coqui's ModelManager does."""
    given = Path(model).expanduser()
    if not is_model_name(model) and given.suffix in (".pth", ".tar"):
        return given if given.is_file() else None
    for name in CHECKPOINT_NAMES:
        if (folder / name).is_file():
            return folder / name
    candidates = list(folder.glob("*.pth"))
    return candidates[0] if len(candidates) == 1 else None


def missing(voice) -> str | None:
    """What is not installed for this Coqui voice, or None; reads files only, loads nothing."""
    if importlib.util.find_spec("TTS") is None or importlib.util.find_spec("torch") is None:
        return f"the Coqui engine is not installed: {INSTALL_HINT}."
    if cuda_linked_extensions():
        return ("torchaudio's CUDA-linked extension cannot load with CPU torch: run "
                "python -m voices.engines.fix_torchaudio.")
    if is_model_name(voice.model):
        problem = _registry_problem(voice.model)
        if problem:
            return problem
    folder = model_folder(voice.model)
    needed = (f"{folder} holding config.json and the checkpoint (model_file.pth, model.pth or "
              "checkpoint.pth), plus speaker_ids.json for multi-speaker models")
    if not folder.is_dir():
        return f"model folder not found; Coqui models are never downloaded here, put it at {needed}."
    config_file = folder / "config.json"
    if not config_file.is_file() or find_checkpoint(folder, voice.model) is None:
        return f"model files incomplete; expected {needed}."
    return _config_problem(config_file, relocatable=not is_model_name(voice.model))


def _registry_problem(name: str) -> str | None:
    """A model name Coqui does not know, or one it would fetch from the hub on every load."""
    spec = importlib.util.find_spec("TTS")
    registry = json.loads((Path(spec.submodule_search_locations[0]) / ".models.json").read_text())
    _, language, dataset, model = name.split("/")
    item = registry.get("tts_models", {}).get(language, {}).get(dataset, {}).get(model)
    if item is None:
        return f"Coqui has no model named {name!r}; use a model folder path instead."
    if "repo_id" in item:
        return (f"{name} is loaded from a model hub on every start; download it yourself and set "
                "the entry's model to its folder path.")
    vocoder = item.get("default_vocoder")
    if vocoder and not (tts_cache_dir() / vocoder.replace("/", "--")).is_dir():
        return f"its vocoder is not in the cache: expected {tts_cache_dir() / vocoder.replace('/', '--')}."
    return None


def _config_problem(config_file: Path, relocatable: bool) -> str | None:
    """Problems in config.json that would fail inside Coqui with a less helpful message.

    Coqui rewrites the speakers_file path of a model it loads by name, not of a folder we give it.
    """
    config = json.loads(config_file.read_text(encoding="utf-8"))
    speakers_file = config.get("speakers_file") or (config.get("model_args") or {}).get("speakers_file")
    if relocatable and speakers_file and not Path(speakers_file).is_file():
        return (f"{config_file} points speakers_file to {speakers_file}, which does not exist (was "
                "the folder moved?); fix the path, or list the speaker names in config['speakers'].")
    uses_espeak = config.get("use_phonemes") and config.get("phonemizer") in (None, "", "espeak")
    if uses_espeak and not (shutil.which("espeak-ng") or shutil.which("espeak")):
        return "this model reads phonemes through espeak: apt-get install espeak-ng."
    return None


def load(voice) -> CoquiEngine:
    """An engine for one speaker of a model; speakers of one model share the loaded model."""
    loaded = _load_model(voice.model)
    speakers = loaded.tts.speakers or []
    if voice.speaker not in (speakers or [None]):  # a single-speaker model takes speaker null
        raise VoiceUnavailableError(
            f"Voice {voice.id!r}: speaker {voice.speaker!r} does not fit model {voice.model}; its "
            f"speakers: {', '.join(speakers) or 'none (set speaker to null)'}.", field="voice")
    stamp = find_checkpoint(model_folder(voice.model), voice.model).stat()
    identity = (f"coqui:{voice.model}:{voice.speaker}:{voice.base_speed}:{stamp.st_size}:"
                f"{int(stamp.st_mtime)}:coqui-tts={package_version('coqui-tts')}")
    return CoquiEngine(loaded, voice.speaker, voice.base_speed, identity, speakers)


@dataclass
class LoadedModel:
    """A Coqui model and the lock its calls take (length_scale is state of the shared model)."""

    tts: object
    lock: threading.Lock = field(default_factory=threading.Lock)


@functools.lru_cache(maxsize=None)
def _load_model(model: str) -> LoadedModel:
    """Load a model from local files only (missing() has checked they are there)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # belt and braces: no hub calls at run time
    import torch
    from TTS.api import TTS

    torch.set_num_threads(engine_threads())
    folder = model_folder(model)
    try:
        if is_model_name(model):
            tts = TTS(model, progress_bar=False)  # in the cache (checked): no download
        else:
            tts = TTS(model_path=str(find_checkpoint(folder, model)),
                      config_path=str(folder / "config.json"), progress_bar=False)
    except Exception as error:  # noqa: BLE001 - any failure here means the model files are unusable
        raise VoiceUnavailableError(f"Coqui could not load {model}: {error}", field="voice") from error
    return LoadedModel(tts)


class CoquiEngine:
    """A loaded Coqui model speaking as one of its speakers."""

    max_chars = MAX_CHARS

    def __init__(self, loaded: LoadedModel, speaker: str | None, base_speed: float, identity: str,
                 speakers: list[str]):
        from TTS.utils.synthesizer import PAD_SILENCE_SAMPLES

        tts = loaded.tts
        self._tts = tts
        self._lock = loaded.lock
        self._speaker = speaker
        self._base_speed = base_speed
        self._model = tts.synthesizer.tts_model
        # VITS-family models expose their duration scale; others are time-stretched entirely.
        self._base_length_scale = getattr(self._model, "length_scale", None)
        self._native_speeds = NATIVE_SPEEDS if self._base_length_scale else (1.0, 1.0)
        self._pad = PAD_SILENCE_SAMPLES  # Coqui appends this much silence after every call
        self.identity = identity
        self.sample_rate = int(tts.synthesizer.output_sample_rate)
        self.speakers = speakers
        """Every speaker of the model (empty for a single-speaker model)."""

    def synthesize(self, text: str, speed: float = 1.0) -> Audio:
        """Speak the text; the caller gives one sentence, so Coqui's own splitter is off."""
        import torch

        check_speed(speed)
        if not text.strip():
            return Audio(np.zeros(0, dtype=np.float32), self.sample_rate)
        model_speed, stretch = split_speed(speed * self._base_speed, *self._native_speeds)
        with self._lock, torch.inference_mode():
            if self._base_length_scale:
                self._model.length_scale = self._base_length_scale / model_speed
            wav = self._tts.tts(text, speaker=self._speaker, split_sentences=False)
        samples = np.asarray(wav, dtype=np.float32)
        samples = samples[:-self._pad] if len(samples) > self._pad else samples
        samples = time_stretch(samples, self.sample_rate, stretch)
        return Audio(np.clip(samples, -1.0, 1.0).astype(np.float32), self.sample_rate)
