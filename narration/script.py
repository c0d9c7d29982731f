"""The narration script: what is said, in order, and the pause after each thing said."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Pause(str, Enum):
    """The silence after an utterance; lengths come from `narration.render.Pauses`."""

    SENTENCE = "sentence"
    PARAGRAPH = "paragraph"
    TITLE = "title"
    """After a chapter title or the introduction."""


@dataclass(frozen=True)
class Utterance:
    """One engine call: a sentence (or a clause of an over-long one)."""

    text: str
    """The original wording, shown in transcripts."""
    spoken: str
    """The normalized wording sent to the engine."""
    pause: Pause = Pause.SENTENCE


@dataclass(frozen=True)
class ChapterScript:
    """A chapter as it will be read: its title (spoken first when present) and its utterances."""

    title: str
    utterances: tuple[Utterance, ...]
