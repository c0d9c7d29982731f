"""The contract between the narration core and a speech engine."""

from __future__ import annotations

import re
from dataclasses import dataclass
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


class PhonemeEngine(Engine, Protocol):
    """An engine that also takes IPA for some words (Piper and Kokoro: both phonemize with
    espeak-ng, so IPA from a lexicon goes in where espeak-ng's own guess would have been)."""

    def phonemize(self, text: str, phonemes: tuple[tuple[str, str], ...] = ()) -> str:
        """The IPA the engine will speak for `text`, with `phonemes` spliced in for their words."""
        ...

    def synthesize_phonemes(self, text: str, phonemes: tuple[tuple[str, str], ...],
                            speed: float = 1.0) -> Audio:
        """Speak `text`, saying each (word, IPA) pair's word as that IPA."""
        ...

    def guessed_words(self, words: list[str]) -> set[str]:
        """The words the engine's phonemizer has no dictionary entry for (it guesses by rule)."""
        ...


@dataclass(frozen=True)
class Cast:
    """The engines of a narration read by two voices: the narrator's, and the quote voice's for
    utterances with the quote role (narration.script.Role). Passed wherever an engine goes;
    each utterance is spoken, and cached, by its own role's engine (`engine_for`)."""

    narrator: Engine
    quote: Engine

    @property
    def identity(self) -> str:
        """Both voices: a part's segment-cache key changes with either."""
        return f"{self.narrator.identity}|quote:{self.quote.identity}"

    @property
    def sample_rate(self) -> int:
        return self.narrator.sample_rate

    @property
    def max_chars(self) -> int:
        """The shorter limit of the two, so every utterance suits whichever voice reads it."""
        return min(self.narrator.max_chars, self.quote.max_chars)

    def synthesize(self, text: str, speed: float = 1.0) -> Audio:
        return self.narrator.synthesize(text, speed)


def engine_for(engine: Engine | Cast, role) -> Engine:
    """The engine that reads an utterance of `role` ("narrator" or "quote"): a Cast's own for
    that role; a single engine reads everything."""
    if isinstance(engine, Cast):
        return engine.quote if role == "quote" else engine.narrator
    return engine


def synthesize_utterance(engine: Engine | Cast, utterance, speed: float = 1.0) -> Audio:
    """Speak an utterance through its role's engine: its IPA overrides through engines that
    take phonemes, else its spoken text (which already holds the lexicon's aliases, the fallback
    for other engines)."""
    engine = engine_for(engine, getattr(utterance, "role", "narrator"))
    if utterance.phonemes and hasattr(engine, "synthesize_phonemes"):
        return engine.synthesize_phonemes(utterance.spoken, utterance.phonemes, speed)
    return engine.synthesize(utterance.spoken, speed)


def spoken_key(utterance) -> str:
    """What of an utterance changes its sound, for the sentence-cache key: the spoken text, plus
    the phoneme overrides when a lexicon gave some (without them the key is as it always was)."""
    if not utterance.phonemes:
        return utterance.spoken
    return utterance.spoken + "\x00" + "\x00".join(f"{w}={ipa}" for w, ipa in utterance.phonemes)


def split_phonemes(text: str, phonemes: tuple[tuple[str, str], ...]) -> list[tuple[str, bool]]:
    """`text` cut into (piece, is_ipa) parts: each whole-word occurrence of an override's word
    becomes its IPA; the rest stays text for the engine's own phonemizer."""
    if not phonemes:
        return [(text, False)]
    by_word = dict(phonemes)
    words = sorted(by_word, key=len, reverse=True)
    pattern = re.compile(r"(?<![\w'’-])(" + "|".join(map(re.escape, words)) + r")(?![\w'’-])")
    parts: list[tuple[str, bool]] = []
    last = 0
    for match in pattern.finditer(text):
        if match.start() > last:
            parts.append((text[last:match.start()], False))
        parts.append((by_word[match.group(1)], True))
        last = match.end()
    if last < len(text):
        parts.append((text[last:], False))
    return parts
