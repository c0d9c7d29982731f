"""Speech engines: one module per engine, each loaded once per process and reused.

An engine module provides `missing(voice) -> str | None` (cheap: what is not installed, or None)
and `load(voice) -> narration.engine.Engine`. Adding an engine touches one module, ENGINES and the
catalogue. Engine modules import their heavy packages inside functions so `import voices` stays cheap.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
import os
import threading
import time
from types import ModuleType
from typing import TYPE_CHECKING

from narration.engine import MAX_SPEED, MIN_SPEED, Cast, Engine
from narration.errors import InvalidSpeedError, VoiceUnavailableError

if TYPE_CHECKING:
    from voices.catalogue import Voice

log = logging.getLogger(__name__)

ENGINES = {
    "piper": "voices.engines.piper",
    "kokoro": "voices.engines.kokoro",
    "coqui": "voices.engines.coqui",
}

_loaded: dict[tuple, Engine] = {}
# One lock for all loads: loading is rare and slow, and two threads must not load one model twice.
_load_lock = threading.Lock()


def engine_module(name: str) -> ModuleType:
    """The module that implements engine `name`."""
    return importlib.import_module(ENGINES[name])


def missing(voice: Voice) -> str | None:
    """What must be installed for this voice, or None when it can be loaded."""
    return engine_module(voice.engine).missing(voice)


def load_engine(voice: Voice) -> Engine:
    """The loaded engine for this voice; the first call loads it, later calls return the same object."""
    # Everything that changes the sound; display fields (name, gender, license) do not count.
    key = (voice.engine, voice.model, voice.speaker, voice.blend, voice.language, voice.base_speed)
    with _load_lock:
        if key in _loaded:
            return _loaded[key]
        problem = missing(voice)
        if problem:
            raise VoiceUnavailableError(f"Voice {voice.id!r} is not installed here: {problem}",
                                        field="voice")
        started = time.perf_counter()
        engine = engine_module(voice.engine).load(voice)
        log.info("Loaded voice %s (%s) in %.1f s", voice.id, engine.identity,
                 time.perf_counter() - started)
        _loaded[key] = engine
        return engine


def load_voices(voice: Voice, quote_voice: Voice | None = None) -> Engine | Cast:
    """The engine a narration speaks through: the voice's, or, with a quote voice, a Cast of
    both (quotations read by the second; narration.quotes). Each engine is loaded once."""
    engine = load_engine(voice)
    if quote_voice is None:
        return engine
    try:
        return Cast(engine, load_engine(quote_voice))
    except VoiceUnavailableError as error:
        error.field = "quote_voice"
        raise


def engine_threads() -> int:
    """Inference threads per engine: NARRATOR_ENGINE_THREADS, 0 (default) meaning one per core.

    Several worker processes on few cores should each get fewer threads, or they oversubscribe.
    """
    from narration.settings import load_settings

    threads = load_settings().engine_threads
    return threads if threads > 0 else (os.cpu_count() or 1)


def onnx_session_options():
    """onnxruntime options with our thread count (Piper and Kokoro both run on onnxruntime)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = engine_threads()
    options.inter_op_num_threads = 1  # the graphs run sequentially; more threads only contend
    # Idle threads spin by default; with other busy processes on the cores that burns CPU they
    # need. Measured on 2 cores under load: Kokoro RTF 2.1-2.8 without spinning vs 3.5-3.9 with.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def check_speed(speed: float) -> None:
    """Refuse speeds outside the contract's range, with a message that says the range."""
    if not MIN_SPEED <= speed <= MAX_SPEED:
        raise InvalidSpeedError(f"Speed must be between {MIN_SPEED} and {MAX_SPEED}, got {speed}.",
                                field="speed")


def package_version(distribution: str) -> str:
    """Installed version of a distribution, for engine identities ("?" when unknown)."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def data_dir():
    """The narrator data folder (NARRATOR_DATA_DIR), where unpacked models live."""
    from narration.settings import load_settings

    return load_settings().data_dir
