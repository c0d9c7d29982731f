"""The contract between the narration core and a speech engine."""

from __future__ import annotations

from typing import Protocol

from narration.audio import Audio

MIN_SPEED = 0.5
MAX_SPEED = 2.0


class Engine(Protocol):
    """A loaded voice: built once per process, then asked for one sentence at a time."""

    identity: str
    """Everything that changes the sound besides text and speed (engine, model, speaker, version).
    Part of the sentence-cache key."""
    sample_rate: int
    max_chars: int
    """Longest text a single call handles well; longer sentences are split before synthesis."""

    def synthesize(self, text: str, speed: float = 1.0) -> Audio:
        """Speak one normalized sentence. `speed` > 1 is faster."""
        ...
