"""Rendered audio with its timings: the single source for chapters, tags and transcripts."""

from __future__ import annotations

from dataclasses import dataclass

from narration.audio import Audio


@dataclass(frozen=True)
class Cue:
    """One spoken utterance in the output, in seconds; `text` is the original wording."""

    start: float
    end: float
    text: str
    voice: str = ""
    """Who reads it ("Narrator", "Quote") when the narration has a second voice, else "": the
    transcript's WebVTT voice span."""


@dataclass(frozen=True)
class ChapterMark:
    """Where a chapter starts and ends in the episode, in seconds."""

    title: str
    start: float
    end: float


@dataclass(frozen=True)
class RenderedChapter:
    """One chapter's audio at the output rate; cue times are relative to the chapter's start."""

    title: str
    audio: Audio
    cues: tuple[Cue, ...]
