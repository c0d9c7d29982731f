"""A content-addressed cache of synthesized sentences, so edited texts re-render only what changed.

diskcache gives what this needs out of the box: a byte-bounded store with least-recently-used
eviction that several processes can share safely (SQLite index, files for large values). Its
default storage pickles values, and unpickling runs code: anyone who could write the cache
folder could run code in the workers. So values are plain bytes with a typed header (`encode`),
and `BytesOnlyDisk` refuses to store or read anything else: an entry in pickle form (planted,
or left by an older release) is a miss, never unpickled.
"""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import diskcache
import numpy as np
from diskcache.core import MODE_BINARY, MODE_RAW, UNKNOWN

from narration.audio import Audio

MAGIC = b"NRPCM16\0"
"""Format of a cached sentence: this, the sample rate (uint32 LE), then int16 LE mono samples."""
HEADER = struct.Struct("<8sI")
MAX_RATE = 384_000


class RefusedEntry(OSError):
    """A cache entry in a form this cache never writes; diskcache reports an OSError as a miss."""


class BytesOnlyDisk(diskcache.Disk):
    """diskcache's storage for str keys and bytes values only: nothing is ever pickled or
    unpickled (modes other than raw and binary are refused)."""

    def put(self, key):
        if type(key) is not str:
            raise TypeError("sentence cache keys are strings")
        return super().put(key)

    def get(self, key, raw):
        if not raw:
            raise RefusedEntry("a pickled key in the sentence cache")
        return super().get(key, raw)

    def store(self, value, read, key=UNKNOWN):
        if type(value) is not bytes:
            raise TypeError("sentence cache values are bytes")
        return super().store(value, read, key=key)

    def fetch(self, mode, filename, value, read):
        if mode not in (MODE_RAW, MODE_BINARY):
            raise RefusedEntry(f"a sentence cache entry in mode {mode}")
        return super().fetch(mode, filename, value, read)


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


def encode(audio: Audio) -> bytes:
    """A sentence as stored: header, then 16-bit little-endian PCM."""
    return HEADER.pack(MAGIC, audio.rate) + _to_pcm(audio.samples).astype("<i2").tobytes()


def decode(data: object) -> Audio | None:
    """The audio of a stored value, or None when it is not one this cache wrote."""
    if type(data) is not bytes or len(data) < HEADER.size or (len(data) - HEADER.size) % 2:
        return None
    magic, rate = HEADER.unpack_from(data)
    if magic != MAGIC or not 0 < rate <= MAX_RATE:
        return None
    return Audio(_from_pcm(np.frombuffer(data, dtype="<i2", offset=HEADER.size)), rate)


class SentenceCache:
    """Sentence audio by key, bounded in bytes; safe to share between processes."""

    def __init__(self, directory: Path | str, size_limit: int):
        # Made here, not by diskcache (which asks for 0755): the folder follows the umask.
        Path(directory).mkdir(parents=True, exist_ok=True)
        self._store = diskcache.Cache(
            str(directory), size_limit=size_limit, eviction_policy="least-recently-used",
            disk=BytesOnlyDisk)

    def get(self, key: str) -> Audio | None:
        return decode(self._store.get(key))

    def put(self, key: str, audio: Audio) -> None:
        self._store.set(key, encode(audio))

    @property
    def volume(self) -> int:
        """Bytes currently stored."""
        return self._store.volume()

    def close(self) -> None:
        self._store.close()
