"""A content-addressed cache of synthesized sentences, so edited texts re-render only what changed.

diskcache gives what this needs out of the box: a byte-bounded store with least-recently-used
eviction that several processes can share safely (SQLite index, files for large values).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import diskcache
import numpy as np

from narration.audio import Audio


def cache_key(identity: str, speed: float, spoken: str, normalizer_version: str) -> str:
    """Everything that changes a sentence's sound, hashed."""
    parts = [identity, f"{speed:.3f}", spoken, normalizer_version]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def _to_pcm(samples: np.ndarray) -> np.ndarray:
    return np.clip(np.round(samples * 32767.0), -32768, 32767).astype(np.int16)


def _from_pcm(pcm: np.ndarray) -> np.ndarray:
    return pcm.astype(np.float32) / 32767.0


def quantize(audio: Audio) -> Audio:
    """Round to 16-bit, the cache's storage format, so a cache hit sounds exactly like a miss."""
    return Audio(_from_pcm(_to_pcm(audio.samples)), audio.rate)


class SentenceCache:
    """Sentence audio by key, bounded in bytes; safe to share between processes."""

    def __init__(self, directory: Path | str, size_limit: int):
        self._store = diskcache.Cache(
            str(directory), size_limit=size_limit, eviction_policy="least-recently-used")

    def get(self, key: str) -> Audio | None:
        value = self._store.get(key)
        if value is None:
            return None
        rate, pcm = value
        return Audio(_from_pcm(np.frombuffer(pcm, dtype=np.int16)), rate)

    def put(self, key: str, audio: Audio) -> None:
        self._store.set(key, (audio.rate, _to_pcm(audio.samples).tobytes()))

    @property
    def volume(self) -> int:
        """Bytes currently stored."""
        return self._store.volume()

    def close(self) -> None:
        self._store.close()
