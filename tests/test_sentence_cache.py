"""The sentence cache keeps audio as typed bytes, never pickles: whoever can write its folder
cannot make a worker run code, and what it did not write reads as a miss."""

from __future__ import annotations

import os
import pathlib

import diskcache
import numpy as np

from narration.audio import Audio
from narration.cache import SentenceCache, cache_key, quantize


class Planted:
    """What an attacker leaves in the cache: unpickling it creates a file (it could run anything)."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.marker),))


def tone(rate: int = 22050, seconds: float = 0.5) -> Audio:
    times = np.arange(int(rate * seconds)) / rate
    return Audio((0.3 * np.sin(2 * np.pi * 440 * times)).astype(np.float32), rate)


def test_a_sentence_comes_back_exactly_as_quantized_and_is_stored_as_raw_pcm(tmp_path):
    cache = SentenceCache(tmp_path / "cache", 64 << 20)
    audio, key = tone(), cache_key("voice", 1.0, "Hello there.", "1")
    cache.put(key, audio)
    back = cache.get(key)
    assert back.rate == audio.rate and np.array_equal(back.samples, quantize(audio).samples)
    cache.close()
    with diskcache.Cache(str(tmp_path / "cache")) as raw:  # what is on disk: bytes, a header
        stored = raw.get(key)
    assert type(stored) is bytes and stored.startswith(b"NRPCM16\0")
    assert len(stored) == 12 + 2 * len(audio.samples)


def test_a_planted_pickle_never_runs_and_is_a_miss(tmp_path):
    folder, marker = tmp_path / "cache", tmp_path / "ran"
    small, large = cache_key("v", 1.0, "small", "1"), cache_key("v", 1.0, "large", "1")
    with diskcache.Cache(str(folder)) as attacker:  # diskcache's default: values pickled
        attacker.set(small, Planted(str(marker)))  # small: a pickle inside cache.db
        attacker.set(large, [Planted(str(marker)), os.urandom(64 << 10)])  # large: a file
    cache = SentenceCache(folder, 64 << 20)
    assert cache.get(small) is None and cache.get(large) is None
    assert not marker.exists(), "the planted pickle was unpickled"
    cache.put(small, tone())  # a miss is then filled as usual
    assert cache.get(small) is not None
    cache.close()


def test_bytes_it_did_not_write_are_a_miss(tmp_path):
    key = cache_key("v", 1.0, "odd", "1")
    with diskcache.Cache(str(tmp_path / "cache")) as other:
        other.set(key, b"not audio at all")
    cache = SentenceCache(tmp_path / "cache", 64 << 20)
    assert cache.get(key) is None
    cache.close()
