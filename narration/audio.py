"""Mono audio clips as float32 samples in [-1, 1] with their sample rate."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def samples_for(seconds: float, rate: int) -> int:
    """Whole samples for a duration; every length goes through here so sums stay exact."""
    return round(seconds * rate)


@dataclass(frozen=True)
class Audio:
    """A mono clip. Engines return these; rendering resamples them to one output rate."""

    samples: np.ndarray
    """float32, shape (n,), values in [-1, 1]."""
    rate: int

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.rate

    @classmethod
    def silence(cls, seconds: float, rate: int) -> "Audio":
        return cls(np.zeros(round(seconds * rate), dtype=np.float32), rate)

    @classmethod
    def from_int16(cls, samples: np.ndarray, rate: int) -> "Audio":
        return cls((np.asarray(samples, dtype=np.float32) / 32768.0), rate)
