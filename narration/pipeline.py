"""Narrate a document end to end in one process: script, speak (through the cache), assemble, write.

The CLI calls `narrate`; the workers call the same pieces one chapter at a time.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from narration.audio import Audio
from narration.cache import SentenceCache, cache_key, quantize
from narration.document import Document
from narration.engine import MAX_SPEED, MIN_SPEED, Engine, spoken_key, synthesize_utterance
from narration.errors import InvalidSpeedError
from narration.lexicon import apply_to_scripts
from narration.normalize import NORMALIZER_VERSION
from narration.render import Pauses, render_chapter
from narration.assemble import assemble_episode
from narration.cover import render_cover
from narration.encode import DEFAULT_BITRATE
from narration.script import ChapterScript, Utterance, build_script
from narration.tags import EpisodeFiles, write_episode
from narration.timeline import RenderedChapter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Progress:
    """Where a narration stands; characters measure work, since synthesis time follows length."""

    chapter: int
    chapters: int
    chapter_title: str
    utterances_done: int
    utterances: int
    chars_done: int
    chars: int
    cached: int
    """Utterances served from the sentence cache so far."""


ProgressCallback = Callable[[Progress], None]


def check_speed(speed: float) -> float:
    """Speeds every engine supports; anything else is the caller's mistake."""
    if not MIN_SPEED <= speed <= MAX_SPEED:
        raise InvalidSpeedError(
            f"Speed {speed:g} is out of range: use a value from {MIN_SPEED:g} to {MAX_SPEED:g}.",
            field="speed")
    return speed


def make_speaker(engine: Engine, speed: float, cache: SentenceCache | None,
                 on_spoken: Callable[[Utterance, bool], None] = lambda u, hit: None
                 ) -> Callable[[Utterance], Audio]:
    """A `speak(utterance)` that asks the cache first and stores what the engine makes."""

    def speak(utterance: Utterance) -> Audio:
        key = cache_key(engine.identity, speed, spoken_key(utterance), NORMALIZER_VERSION)
        audio = cache.get(key) if cache else None
        hit = audio is not None
        if not hit:
            audio = quantize(synthesize_utterance(engine, utterance, speed))
            if cache:
                cache.put(key, audio)
        on_spoken(utterance, hit)
        return audio

    return speak


def narrate(document: Document, engine: Engine, mp3_path: Path, *, speed: float = 1.0,
            cache: SentenceCache | None = None, cover: bytes | None = None,
            bitrate: str = DEFAULT_BITRATE, pauses: Pauses = Pauses(),
            on_progress: ProgressCallback | None = None, lexicon=None,
            after_chapter: Callable[[ChapterScript, RenderedChapter], RenderedChapter] | None = None
            ) -> EpisodeFiles:
    """Write `mp3_path` and its chapters JSON and WebVTT sidecars; nothing is written on failure."""
    check_speed(speed)
    scripts = apply_to_scripts(build_script(document, max_chars=engine.max_chars), lexicon)
    tracker = _Tracker(scripts, on_progress)
    speak = make_speaker(engine, speed, cache, tracker.spoken)
    started = time.perf_counter()
    rendered = []
    for index, script in enumerate(scripts):
        tracker.chapter = index
        chapter = render_chapter(script, speak, pauses=pauses)
        rendered.append(after_chapter(script, chapter) if after_chapter else chapter)
    episode = assemble_episode(rendered, pauses=pauses)
    del rendered  # the episode holds a copy; a 25-minute episode is ~250 MB per float copy
    log.info("synthesized %d utterances (%d from cache) in %.1f s",
             tracker.done, tracker.cached, time.perf_counter() - started)
    meta = document.metadata
    cover = cover or render_cover(meta.title or scripts[0].title, meta.headline)
    Path(mp3_path).parent.mkdir(parents=True, exist_ok=True)
    return write_episode(episode, meta, Path(mp3_path), cover=cover, bitrate=bitrate)


class _Tracker:
    """Counts spoken utterances and reports `Progress` after each one."""

    def __init__(self, scripts: tuple[ChapterScript, ...], on_progress: ProgressCallback | None):
        self.scripts = scripts
        self.on_progress = on_progress
        self.total = sum(len(s.utterances) for s in scripts)
        self.chars = sum(len(u.spoken) for s in scripts for u in s.utterances)
        self.chapter = self.done = self.chars_done = self.cached = 0

    def spoken(self, utterance: Utterance, hit: bool) -> None:
        self.done += 1
        self.chars_done += len(utterance.spoken)
        self.cached += hit
        if self.on_progress:
            self.on_progress(Progress(
                self.chapter, len(self.scripts), self.scripts[self.chapter].title,
                self.done, self.total, self.chars_done, self.chars, self.cached))
