"""Narrate a document: script, parts, speech, each part finished once as its final MP3 segment,
then a frame-level join.

One pipeline for every front end. The CLI calls `narrate`, which streams: each part, as soon as
it is spoken, is finished (loudness, encode, decoded check) in an encoder process beside
synthesis, so memory holds a part or two whatever the length. The workers run the same pieces
one part per task: `plan_parts` once, `produce_part` (or `render_part` then
`narration.finish.finish_part`) for each part, and `narration.join.join_segments` at the end.
/v1/audio/speech calls `speak_mp3`: the same parts, finished in-process; streamed, it calls
`speak_pieces`: the same parts and sentences, handed on one by one as they are said.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import io
import json
import logging
import math
import multiprocessing
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np

from narration.audio import Audio, samples_for
from narration.cache import SentenceCache, cache_key, quantize
from narration.cover import render_cover
from narration.document import Document
from narration.encode import DEFAULT_BITRATE, ENCODER_VERSION, prepare_loudness
from narration.engine import (MAX_SPEED, MIN_SPEED, Cast, Engine, engine_for, spoken_key,
                              synthesize_utterance)
from narration.errors import InvalidSpeedError
from narration.lexicon import apply_to_scripts
from narration.finish import exit_with_parent, finish_part
from narration.join import join_segments, write_frames
from narration.loudness import TARGET_LUFS, TRUE_PEAK_CEILING
from narration.normalize import NORMALIZER_VERSION
from narration.render import OUTPUT_RATE, Pauses, render_chapter, render_pieces
from narration.script import ChapterScript, Pause, Role, Utterance, build_script
from narration.segment import JSON_VERSION as SEGMENT_JSON_VERSION, Segment
from narration.segment_cache import SegmentCache
from narration.tags import EpisodeFiles
from narration.timeline import RenderedChapter

log = logging.getLogger(__name__)

PART_CHARS = 1200
"""Spoken characters per part, about 75 seconds of speech: long chapters are split into parts
of at most about this much, at paragraph ends where possible. Bounds memory (a part is ~14 MB
per float copy at 44.1 kHz, and finishing holds a few), spreads a chapter over workers, and
lets an edit re-render a minute rather than a whole chapter."""
PENDING_PARTS = 2
"""Rendered parts in the encoder process's hands (being finished or queued) before synthesis
waits. Finishing a part takes a fraction of the time speaking it does, but with one, synthesis
stalled whenever a part came out short; each holds its audio about twice in this process (the
pool keeps the arguments until the result is back), ~30 MB."""


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
    """Utterances served from a cache so far."""


ProgressCallback = Callable[[Progress], None]
SpokenCallback = Callable[[Utterance, bool], None]
AfterPart = Callable[[ChapterScript, RenderedChapter], RenderedChapter]
"""Called with each part as rendered, before it is finished: the recognition check
(narration.check) retakes bad sentences here and returns the part to finish."""


@dataclass(frozen=True)
class Part:
    """A chapter, or a stretch of a long one, narrated and encoded as one segment."""

    chapter: int
    """Index of the chapter; the parts of one chapter share it."""
    script: ChapterScript
    """The part's utterances; its title is the chapter's."""
    lead: float
    """Seconds of silence before its first words: the lead-in, the gap between chapters, or,
    for a continuation, the pause after the previous part's last utterance."""


def part_to_dict(part: Part) -> dict:
    """A JSON-ready part, as the plan task stores it for the part's task; an utterance's role
    is a fifth item when it is not the narrator's."""
    return {"chapter": part.chapter, "title": part.script.title, "lead": part.lead,
            "utterances": [[u.text, u.spoken, u.pause.value, [list(p) for p in u.phonemes],
                            *([u.role.value] if u.role != Role.NARRATOR else [])]
                           for u in part.script.utterances]}


def part_from_dict(data: dict) -> Part:
    """The inverse of `part_to_dict`."""
    utterances = tuple(Utterance(text, spoken, Pause(pause), tuple(map(tuple, phonemes)),
                                 Role(role[0]) if role else Role.NARRATOR)
                       for text, spoken, pause, phonemes, *role in data["utterances"])
    return Part(data["chapter"], ChapterScript(data["title"], utterances), data["lead"])


def check_speed(speed: float) -> float:
    """Speeds every engine supports; anything else is the caller's mistake."""
    if not MIN_SPEED <= speed <= MAX_SPEED:
        raise InvalidSpeedError(
            f"Speed {speed:g} is out of range: use a value from {MIN_SPEED:g} to {MAX_SPEED:g}.",
            field="speed")
    return speed


def plan_parts(scripts: Sequence[ChapterScript], *, pauses: Pauses = Pauses(),
               max_chars: int = PART_CHARS) -> tuple[Part, ...]:
    """The parts to narrate, in order: each chapter whole, or split when longer than
    `max_chars` spoken characters.

    A long chapter is cut into about equal parts at paragraph ends (never right after a
    title); a paragraph longer than `max_chars` is cut between sentences.
    """
    parts = []
    for index, script in enumerate(scripts):
        lead = pauses.lead_in if index == 0 else pauses.chapter
        for utterances in _split(script.utterances, max_chars):
            parts.append(Part(index, ChapterScript(script.title, utterances), lead))
            lead = pauses.after(utterances[-1].pause)
    return tuple(parts)


def _split(utterances: tuple[Utterance, ...], max_chars: int) -> list[tuple[Utterance, ...]]:
    """Greedy cuts: at a paragraph end once a part has its share of the chapter or the next
    paragraph would not fit; between sentences only when the paragraph alone does not fit."""
    sizes = [len(u.spoken) for u in utterances]
    total = sum(sizes)
    target = total / max(1, math.ceil(total / max_chars))
    to_paragraph_end = sizes[:]  # spoken characters from each utterance to its paragraph's end
    for index in range(len(utterances) - 2, -1, -1):
        if utterances[index].pause != Pause.PARAGRAPH:
            to_paragraph_end[index] += to_paragraph_end[index + 1]
    pieces, start, size = [], 0, 0
    for index, utterance in enumerate(utterances[:-1]):
        size += sizes[index]
        if utterance.pause == Pause.PARAGRAPH:
            cut = size >= target or size + to_paragraph_end[index + 1] > max_chars
        else:
            cut = size + sizes[index + 1] > max_chars
        if cut:
            pieces.append(utterances[start:index + 1])
            start, size = index + 1, 0
    pieces.append(utterances[start:])
    return pieces


def make_speaker(engine: Engine | Cast, speed: float, cache: SentenceCache | None,
                 on_spoken: SpokenCallback = lambda u, hit: None) -> Callable[[Utterance], Audio]:
    """A `speak(utterance)` that asks the sentence cache first and stores what the engine makes.
    A sentence is keyed by the engine that reads it (its role's, with a Cast), so a quote and
    the same words said by the narrator are two entries."""

    def speak(utterance: Utterance) -> Audio:
        key = cache_key(engine_for(engine, utterance.role).identity, speed,
                        spoken_key(utterance), NORMALIZER_VERSION)
        audio = cache.get(key) if cache else None
        hit = audio is not None
        if not hit:
            audio = quantize(synthesize_utterance(engine, utterance, speed))
            if cache:
                cache.put(key, audio)
        on_spoken(utterance, hit)
        return audio

    return speak


def render_part(script: ChapterScript, engine: Engine | Cast, speed: float,
                cache: SentenceCache | None, on_spoken: SpokenCallback = lambda u, hit: None, *,
                pauses: Pauses = Pauses()) -> RenderedChapter:
    """Speak a part through the sentence cache and lay it out with its pauses (with a Cast,
    each utterance by its role's voice, each voice brought to one loudness)."""
    return render_chapter(script, make_speaker(engine, speed, cache, on_spoken), pauses=pauses,
                          two_voices=isinstance(engine, Cast))


def part_key(part: Part, engine: Engine | Cast, speed: float, bitrate: str, pauses: Pauses) -> str:
    """The segment-cache key of a part narrated by `engine`: everything that changes its bytes
    or its record, hashed.

    The utterances with their original wording (the cues), spoken form (with any lexicon
    phonemes), pause and role (when not the narrator's); the lead; the
    voice; speed and bitrate; the pause and fade lengths; and the versions of the normalizer,
    the encoder, the loudness target and the record format. Not the chapter's index or title:
    a part moved elsewhere in the text is the same sound.
    """
    fields = [[[u.text, spoken_key(u), u.pause.value, *([u.role.value] if u.role != Role.NARRATOR
                                                        else [])]
               for u in part.script.utterances],
              f"{part.lead:.4f}", engine.identity, f"{speed:.3f}", bitrate,
              [getattr(pauses, field.name) for field in dataclasses.fields(pauses)],
              NORMALIZER_VERSION, ENCODER_VERSION, TARGET_LUFS, TRUE_PEAK_CEILING, OUTPUT_RATE,
              SEGMENT_JSON_VERSION]
    return hashlib.sha256(json.dumps(fields, ensure_ascii=False).encode()).hexdigest()


def cached_part(part: Part, key: str, segments: SegmentCache | None, mp3_path: str | Path,
                on_spoken: SpokenCallback) -> Segment | None:
    """The part's segment copied from the cache to `mp3_path`, its utterances reported as
    spoken from cache; None on a miss."""
    segment = segments.get(key, mp3_path, chapter=part.chapter, title=part.script.title) \
        if segments is not None else None
    if segment is not None:
        for utterance in part.script.utterances:
            on_spoken(utterance, True)
    return segment


def produce_part(part: Part, engine: Engine | Cast, mp3_path: str | Path, *, speed: float = 1.0,
                 bitrate: str = DEFAULT_BITRATE, pauses: Pauses = Pauses(),
                 sentences: SentenceCache | None = None, segments: SegmentCache | None = None,
                 on_spoken: SpokenCallback = lambda u, hit: None,
                 after_part: AfterPart | None = None) -> Segment:
    """One part, start to finish, in this process: from the segment cache, or rendered through
    the sentence cache, handed to `after_part` (the recognition check) and finished. What a
    worker's part task does."""
    key = part_key(part, engine, speed, bitrate, pauses)
    # A part to check (after_part) is spoken afresh: its segment must be what was checked.
    segment = None if after_part else cached_part(part, key, segments, mp3_path, on_spoken)
    if segment is None:
        rendered = render_part(part.script, engine, speed, sentences, on_spoken, pauses=pauses)
        if after_part:
            rendered = after_part(part.script, rendered)
        segment = finish_part(rendered, mp3_path, chapter=part.chapter, lead=part.lead,
                              bitrate=bitrate, segments=segments, key=key)
    return segment


def narrate_parts(parts: Sequence[Part], engine: Engine | Cast, folder: str | Path, *,
                  speed: float = 1.0, bitrate: str = DEFAULT_BITRATE, pauses: Pauses = Pauses(),
                  sentences: SentenceCache | None = None, segments: SegmentCache | None = None,
                  on_spoken: SpokenCallback = lambda u, hit: None,
                  on_part: Callable[[Part], None] = lambda part: None,
                  encoder: concurrent.futures.Executor | None = None,
                  after_part: AfterPart | None = None) -> list[tuple[Segment, Path]]:
    """Every part as a segment file `<index>.mp3` in `folder`, in order.

    With an `encoder` (a one-process pool), synthesis goes on here while the encoder finishes
    the parts already spoken, at most `PENDING_PARTS` behind; without one, each part is
    finished in this process before the next is spoken (`produce_part`).
    """
    finished: list[tuple[concurrent.futures.Future, Path]] = []
    for index, part in enumerate(parts):
        on_part(part)
        path = Path(folder) / f"{index}.mp3"
        if encoder is None:
            finished.append((_resolved(produce_part(
                part, engine, path, speed=speed, bitrate=bitrate, pauses=pauses,
                sentences=sentences, segments=segments, on_spoken=on_spoken,
                after_part=after_part)), path))
            continue
        key = part_key(part, engine, speed, bitrate, pauses)
        # A part to check (after_part) is spoken afresh: its segment must be what was checked.
        segment = None if after_part else cached_part(part, key, segments, path, on_spoken)
        if segment is not None:
            finished.append((_resolved(segment), path))
            continue
        rendered = render_part(part.script, engine, speed, sentences, on_spoken, pauses=pauses)
        if after_part:
            rendered = after_part(part.script, rendered)
        _wait_for_room([future for future, _ in finished])
        finished.append((encoder.submit(finish_part, rendered, path, chapter=part.chapter,
                                        lead=part.lead, bitrate=bitrate, segments=segments,
                                        key=key), path))
        del rendered  # the encoder process has its own copy
    return [(future.result(), path) for future, path in finished]


def narrate(document: Document, engine: Engine | Cast, mp3_path: Path, *, speed: float = 1.0,
            cache: SentenceCache | None = None, cover: bytes | None = None,
            bitrate: str = DEFAULT_BITRATE, pauses: Pauses = Pauses(),
            on_progress: ProgressCallback | None = None,
            segments: SegmentCache | None = None, lexicon=None,
            after_part: AfterPart | None = None) -> EpisodeFiles:
    """Write `mp3_path` and its chapters JSON and WebVTT sidecars; nothing is written on failure.

    Streaming (`narrate_parts` with an encoder process), so memory stays bounded whatever the
    length; the segments wait in a temp folder for the join. The encoder process is started
    with "spawn", so a script that calls this needs the usual `if __name__ == "__main__":`.
    """
    check_speed(speed)
    scripts = apply_to_scripts(build_script(document, max_chars=engine.max_chars,
                                            quotes=isinstance(engine, Cast)), lexicon)
    tracker = _Tracker(scripts, on_progress)
    meta = document.metadata
    cover = cover or render_cover(meta.title or scripts[0].title, meta.headline)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="narrator-parts-") as folder, \
            concurrent.futures.ProcessPoolExecutor(
                1, mp_context=multiprocessing.get_context("spawn"), initializer=exit_with_parent,
                initargs=(os.getpid(),)) as encoder:
        encoder.submit(int)  # start the process now: its imports overlap the first part's speech
        done = narrate_parts(plan_parts(scripts, pauses=pauses), engine, folder, speed=speed,
                             bitrate=bitrate, pauses=pauses, sentences=cache, segments=segments,
                             on_spoken=tracker.spoken, on_part=tracker.start_part,
                             encoder=encoder, after_part=after_part)
        log.info("narrated %d parts (%d utterances, %d from cache) in %.1f s", len(done),
                 tracker.done, tracker.cached, time.perf_counter() - started)
        Path(mp3_path).parent.mkdir(parents=True, exist_ok=True)
        return join_segments(done, meta, Path(mp3_path), cover=cover)


def speak_mp3(scripts: Sequence[ChapterScript], engine: Engine, *, speed: float = 1.0,
              bitrate: str = DEFAULT_BITRATE, pauses: Pauses = Pauses()) -> bytes:
    """A short text's MP3 (no tags), made in this process: for /v1/audio/speech."""
    check_speed(speed)
    with tempfile.TemporaryDirectory(prefix="narrator-speech-") as folder:
        done = narrate_parts(plan_parts(scripts, pauses=pauses), engine, folder, speed=speed,
                             bitrate=bitrate, pauses=pauses)
        buffer = io.BytesIO()
        write_frames(buffer, done)
        return buffer.getvalue()


def speak_pieces(scripts: Sequence[ChapterScript], engine: Engine, *, speed: float = 1.0,
                 rate: int = OUTPUT_RATE, target_lufs: float = TARGET_LUFS,
                 pauses: Pauses = Pauses(),
                 on_spoken: SpokenCallback = lambda u, hit: None) -> Iterator[np.ndarray]:
    """A short text's speech as it is said: per utterance, float samples at `rate` with the
    silence that follows it (and the lead-in before the first), for a stream that must start
    before the text is done. The same parts, pauses and lead-in as `speak_mp3`, so both last
    as long. Each utterance is brought to `target_lufs` on its own (`prepare_loudness`, what a
    part goes through), since a stream cannot wait to measure a whole part: sentences come out
    evenly loud, where a part keeps their natural differences. Nothing is spoken until the
    caller asks for the next piece, so a caller that stops asking stops the work.
    """
    check_speed(speed)
    speak = make_speaker(engine, speed, None, on_spoken)
    parts = plan_parts(scripts, pauses=pauses)
    before = samples_for(pauses.lead_in, rate) if parts else 0
    for index, part in enumerate(parts):
        # The silence between parts goes after the last words of one, not before the next: a
        # piece ends in silence, so the encoder's look-ahead holds back only silence.
        after_part = samples_for(parts[index + 1].lead, rate) if index + 1 < len(parts) else 0
        pieces = render_pieces(part.script, speak, pauses=pauses, rate=rate)
        for count, (_, clip, gap) in enumerate(pieces, 1):
            if count == len(part.script.utterances):
                gap = after_part
            speech = prepare_loudness(Audio(clip, rate), target_lufs).samples
            yield np.concatenate([np.zeros(before, np.float32), speech,
                                  np.zeros(gap, np.float32)])
            before = 0


def _resolved(segment: Segment) -> concurrent.futures.Future:
    future: concurrent.futures.Future = concurrent.futures.Future()
    future.set_result(segment)
    return future


def _wait_for_room(futures: list[concurrent.futures.Future]) -> None:
    """Block until fewer than PENDING_PARTS parts wait for the encoder; raise its first error."""
    pending = [future for future in futures if not future.done()]
    while len(pending) >= PENDING_PARTS:
        concurrent.futures.wait(pending, return_when=concurrent.futures.FIRST_COMPLETED)
        pending = [future for future in pending if not future.done()]
    for future in futures:
        if future.done() and future.exception() is not None:
            raise future.exception()


class _Tracker:
    """Counts spoken utterances and reports `Progress` after each one."""

    def __init__(self, scripts: tuple[ChapterScript, ...], on_progress: ProgressCallback | None):
        self.scripts = scripts
        self.on_progress = on_progress
        self.total = sum(len(s.utterances) for s in scripts)
        self.chars = sum(len(u.spoken) for s in scripts for u in s.utterances)
        self.chapter = self.done = self.chars_done = self.cached = 0

    def start_part(self, part: Part) -> None:
        self.chapter = part.chapter

    def spoken(self, utterance: Utterance, hit: bool) -> None:
        self.done += 1
        self.chars_done += len(utterance.spoken)
        self.cached += hit
        if self.on_progress:
            self.on_progress(Progress(
                self.chapter, len(self.scripts), self.scripts[self.chapter].title,
                self.done, self.total, self.chars_done, self.chars, self.cached))
