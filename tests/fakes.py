"""A fake speech engine whose output length is known in advance, for exact timing tests."""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import scipy.signal

from narration.audio import Audio
from narration.script import Utterance


class ToneEngine:
    """Speaks a steady tone instead of words: `seconds_per_word` per word, at `sample_rate`.

    Implements `narration.engine.Engine`. A tone, not silence, so loudness can be measured; by
    default every clip ends (and starts) at full amplitude mid-cycle, the worst case for clicks.
    """

    max_chars = 400

    def __init__(self, sample_rate: int = 22050, *, seconds_per_word: float = 0.1,
                 amplitude: float = 0.3, frequency: float = 220.0):
        self.sample_rate = sample_rate
        self.seconds_per_word = seconds_per_word
        self.amplitude = amplitude
        self.frequency = frequency
        self.identity = f"tone:{sample_rate}:{seconds_per_word}:{amplitude}:{frequency}"
        self.spoken: list[str] = []

    def samples_for(self, text: str, speed: float = 1.0) -> int:
        """How many samples `synthesize` returns for `text`, computed without synthesizing."""
        return round(len(text.split()) * self.seconds_per_word / speed * self.sample_rate)

    def synthesize(self, text: str, speed: float = 1.0) -> Audio:
        """A tone as long as the words would take; its first and last samples sit at a crest."""
        self.spoken.append(text)
        n = self.samples_for(text, speed)
        t = (np.arange(n) - (n - 1)) / self.sample_rate
        # Aligned so the last sample is cos(0) = full amplitude; a period that does not divide
        # the length leaves the first sample somewhere mid-cycle too.
        tone = self.amplitude * np.cos(2 * math.pi * self.frequency * t)
        return Audio(tone.astype(np.float32), self.sample_rate)


def make_speak(engine: ToneEngine, speed: float = 1.0) -> Callable[[Utterance], Audio]:
    """The `speak` callable `render_chapter` takes: the engine saying each spoken form."""

    def speak(utterance: Utterance) -> Audio:
        return engine.synthesize(utterance.spoken, speed)

    return speak


class BabbleEngine(ToneEngine):
    """Speaks noise shaped like speech: peaks, spectrum and rhythm, but no words.

    A steady tone peaks only 3 dB above its loudness; speech peaks 15–20 dB above, which is what
    makes a true-peak limiter necessary. Laplace-distributed samples (as speech's are), a
    spectrum falling 6 dB an octave above 1.5 kHz (as voiced speech does) and a swell four
    times a second give about 21 dB here. Seeded by the text, so a sentence always sounds the
    same.
    """

    def synthesize(self, text: str, speed: float = 1.0) -> Audio:
        """Shaped noise of the same length the tone would have."""
        self.spoken.append(text)
        n = self.samples_for(text, speed)
        random = np.random.default_rng(sum(text.encode()) + len(text))
        b, a = scipy.signal.butter(1, 1500, fs=self.sample_rate)
        noise = scipy.signal.lfilter(b, a, random.laplace(size=n))
        t = np.arange(n) / self.sample_rate
        syllables = np.abs(np.sin(2 * math.pi * 2.0 * t)) ** 3
        babble = noise * syllables
        peak = np.max(np.abs(babble)) if n else 1.0
        return Audio((self.amplitude * babble / peak).astype(np.float32), self.sample_rate)


def fake_segment(rendered, *, chapter: int, lead: float, delay: int = 576):
    """The record `encode_segment` would return for `rendered`, by arithmetic alone: lead
    silence first, LAME's frames (1152 samples at 44.1 kHz), its delay and a whole frame's
    padding or less beyond 576 samples. For layout tests that need no audio."""
    from narration.audio import samples_for
    from narration.segment import Segment
    from narration.timeline import Cue

    rate = rendered.audio.rate
    lead_samples = samples_for(lead, rate)
    samples = lead_samples + len(rendered.audio.samples)
    per_frame = 1152 if rate >= 32000 else 576
    frames = -(-(delay + samples + 576) // per_frame)
    offset = lead_samples / rate
    return Segment(rendered.title, chapter, rate, samples, lead_samples, delay,
                   frames * per_frame - delay - samples, frames,
                   tuple(Cue(offset + c.start, offset + c.end, c.text) for c in rendered.cues))


class BrokenEngine:
    """A real voice, except that the first `failures` takes of the sentence with "robot" are
    broken: silence, or the sentence with its second half left out."""

    def __init__(self, engine, mode: str, failures: int):
        self.engine, self.mode, self.failures = engine, mode, failures
        self.identity, self.sample_rate, self.max_chars = "broken", engine.sample_rate, 400
        self.broken_takes = 0

    def synthesize(self, text: str, speed: float = 1.0) -> Audio:
        if "robot" in text and self.broken_takes < self.failures:
            self.broken_takes += 1
            if self.mode == "silence":
                return Audio(np.zeros(self.sample_rate * 2, dtype=np.float32), self.sample_rate)
            text = " ".join(text.split()[:4]) + "."
        return self.engine.synthesize(text, speed)
