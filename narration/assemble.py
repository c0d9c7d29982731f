"""Join rendered chapters into one episode: gaps, chapter marks, cues in episode time.

Loudness is not touched here: the MP3 encoder normalizes the whole episode once, because it
also corrects for what encoding does to level and peaks (narration.encode).
"""

from __future__ import annotations

import logging
from typing import Sequence

import numpy as np

from narration.audio import Audio
from narration.errors import NothingSpeakableError
from narration.render import Pauses, samples_for
from narration.timeline import ChapterMark, Cue, Episode, RenderedChapter

log = logging.getLogger(__name__)


def assemble_episode(chapters: Sequence[RenderedChapter], *, pauses: Pauses = Pauses()) -> Episode:
    """One clip for the whole narration, with chapter marks and cues.

    Layout: `pauses.lead_in` of silence, chapter 1, `pauses.chapter` of silence, chapter 2, …,
    last chapter, nothing after. Each chapter's mark ends where the next one starts, so the
    silence between chapters belongs to the chapter before it and every mark after the first
    starts on the first sample of that chapter's title. The first mark starts at 0 so the
    marks cover the whole file, as chapter lists in players expect; its first words come
    after the lead-in.
    """
    if not chapters:
        raise NothingSpeakableError("There is nothing to narrate: the text produced no chapters.")
    rate = chapters[0].audio.rate
    if any(chapter.audio.rate != rate for chapter in chapters):
        raise ValueError("all chapters must be rendered at the same rate before assembly")

    pieces = [np.zeros(samples_for(pauses.lead_in, rate), dtype=np.float32)]
    starts: list[int] = []
    cues: list[Cue] = []
    position = len(pieces[0])
    for index, chapter in enumerate(chapters):
        if index:
            gap = samples_for(pauses.chapter, rate)
            pieces.append(np.zeros(gap, dtype=np.float32))
            position += gap
        starts.append(position)
        offset = position / rate
        cues += [Cue(offset + cue.start, offset + cue.end, cue.text) for cue in chapter.cues]
        pieces.append(np.asarray(chapter.audio.samples, dtype=np.float32))
        position += len(chapter.audio.samples)

    starts[0] = 0
    ends = starts[1:] + [position]
    marks = tuple(ChapterMark(chapter.title, start / rate, end / rate)
                  for chapter, start, end in zip(chapters, starts, ends))
    audio = Audio(np.concatenate(pieces), rate)
    log.info("assembled %d chapters, %d cues, %.1f s", len(marks), len(cues), position / rate)
    return Episode(audio, marks, tuple(cues))
