"""Join finished MP3 segments into the episode at frame level: no decode, no second encode.

Each segment is a complete LAME stream (info frame, then audio frames whose bit reservoir
starts empty), so their audio frames can follow one another; one new info frame describes the
whole episode: total frames and bytes, a seek table, the first segment's encoder delay and the
last one's padding. Every other segment's delay and padding stay in the audio as a few dozen
milliseconds of silence, since segments start and end in silence; chapter and cue times count
them, so they land where the decoder plays them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Sequence

from narration.document import Metadata
from narration.errors import NothingSpeakableError
from narration.files import atomic_path
from narration.mp3frames import (FrameError, FrameHeader, InfoFrame, build_info_frame,
                                 crc16_combine, frame_offsets, main_data_begin, read_info_frame)
from narration.segment import Segment
from narration.sidecars import chapters_json, webvtt
from narration.tags import EpisodeFiles, image_mime, sidecar_paths, write_tags
from narration.timeline import ChapterMark, Cue

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Placement:
    """Where the segments' chapters and cues fall in the joined episode, in seconds."""

    chapters: tuple[ChapterMark, ...]
    cues: tuple[Cue, ...]
    samples: int
    """Samples the joined MP3 decodes to."""
    rate: int

    @property
    def duration(self) -> float:
        return self.samples / self.rate


def place_segments(segments: Sequence[Segment]) -> Placement:
    """Chapter marks and cues in episode time, from the segments' frame counts alone.

    Decoders drop the first segment's delay and the last one's padding. Segment k's first PCM
    sample therefore plays at (frames before it) × (samples per frame) + its delay − the first
    segment's delay, and the episode decodes to (all frames) × (samples per frame) − that delay
    − that padding. The first mark starts at 0, so the marks cover the file; every other
    mark starts on the first sample of its chapter's first words, after the lead silence, and
    ends where the next begins. Consecutive parts of one chapter form one mark.
    """
    if not segments:
        raise NothingSpeakableError("There is nothing to narrate: the text produced no chapters.")
    rate = segments[0].rate
    first_delay = segments[0].delay
    frames_before, starts, titles, cues = 0, [], [], []
    seen: set[int] = set()
    for index, segment in enumerate(segments):
        if segment.rate != rate:
            raise ValueError("all segments must have the same sample rate to be joined")
        start = frames_before * segment.frame_samples + segment.delay - first_delay
        cues += [Cue((start + round(cue.start * rate)) / rate,
                     (start + round(cue.end * rate)) / rate, cue.text, cue.voice)
                 for cue in segment.cues]
        if index == 0 or segment.chapter != segments[index - 1].chapter:
            if segment.chapter in seen:
                raise ValueError(f"the parts of chapter {segment.chapter} are not consecutive")
            seen.add(segment.chapter)
            starts.append(0 if index == 0 else start + segment.lead)
            titles.append(segment.title)
        frames_before += segment.frames
    total = frames_before * segments[-1].frame_samples - first_delay - segments[-1].padding
    ends = starts[1:] + [total]
    marks = tuple(ChapterMark(title, start / rate, end / rate)
                  for title, start, end in zip(titles, starts, ends))
    return Placement(marks, tuple(cues), total, rate)


def join_segments(segments: Sequence[tuple[Segment, Path]], metadata: Metadata,
                  mp3_path: str | os.PathLike, *, cover: bytes | None = None,
                  comment: str | None = None) -> EpisodeFiles:
    """Write the episode MP3 (ID3v2.3 tags with CHAP/CTOC and cover, one info frame, the
    segments' audio frames) and its chapters JSON and WebVTT sidecars, all or nothing.

    Everything is written to temp files beside the targets first; on success the sidecars are
    renamed into place and the MP3 last, so a reader that finds the MP3 finds its sidecars.
    On any failure every temp file is removed and earlier files at the targets stay as they were.
    """
    placement = place_segments([segment for segment, _ in segments])
    if cover:
        image_mime(cover)  # fail before writing anything
    mp3 = Path(mp3_path)
    json_path, vtt_path = sidecar_paths(mp3)
    with contextlib.ExitStack() as stack:
        # ExitStack renames in reverse order of entry: VTT, then JSON, then the MP3.
        mp3_temp = stack.enter_context(atomic_path(mp3))
        json_temp = stack.enter_context(atomic_path(json_path))
        vtt_temp = stack.enter_context(atomic_path(vtt_path))
        write_tags(mp3_temp, metadata, placement.chapters, cover=cover,
                   comment=episode_comment(metadata) if comment is None else comment)
        with open(mp3_temp, "r+b") as out:
            out.seek(0, os.SEEK_END)
            write_frames(out, segments)
        document = chapters_json(placement.chapters, metadata)
        json_temp.write_text(json.dumps(document, ensure_ascii=False, indent=2), encoding="utf-8")
        vtt_temp.write_text(webvtt(placement.cues), encoding="utf-8")
    log.info("joined %d segments into %s: %d chapters, %d cues, %.1f s", len(segments), mp3,
             len(placement.chapters), len(placement.cues), placement.duration)
    return EpisodeFiles(mp3, json_path, vtt_path, placement.duration, placement.cues)


def write_frames(out: BinaryIO, segments: Sequence[tuple[Segment, Path]]) -> None:
    """Append one info frame and every segment's audio frames to `out`.

    One pass: a placeholder where the info frame goes, each segment's frames checked against its
    record and copied, then the real info frame written over the placeholder. Memory holds one
    segment at a time.
    """
    if not segments:
        raise NothingSpeakableError("There is nothing to narrate: the text produced no chapters.")
    header_at = out.tell()
    offsets: list[int] = []
    bitrates: set[int] = set()
    music_crc, first = 0, None
    for index, (segment, path) in enumerate(segments):
        data = Path(path).read_bytes()
        info = read_info_frame(data)
        audio = memoryview(data)[info.header.length:]
        if first is None:
            first = info.header
            out.write(bytes(first.length))  # the placeholder
            position = first.length
        _check_segment(index, segment, info, first, audio)
        segment_offsets, segment_bitrates = frame_offsets(audio)
        if len(segment_offsets) != segment.frames:
            raise FrameError(f"segment {index} holds {len(segment_offsets)} frames, its record "
                             f"says {segment.frames}")
        offsets += [position + offset for offset in segment_offsets]
        bitrates |= segment_bitrates
        music_crc = crc16_combine(music_crc, info.music_crc, len(audio))
        out.write(audio)
        position += len(audio)
    frame = build_info_frame(first, offsets, position, delay=segments[0][0].delay,
                             padding=segments[-1][0].padding, music_crc=music_crc,
                             constant=len(bitrates) == 1)
    out.seek(header_at)
    out.write(frame)
    out.seek(0, os.SEEK_END)


def _check_segment(index: int, segment: Segment, info: InfoFrame, first: FrameHeader,
                   audio: memoryview) -> None:
    """Refuse a segment whose file does not match its record or cannot follow the others."""
    header = info.header
    if (header.version, header.rate, header.channels) != (first.version, first.rate,
                                                          first.channels):
        raise FrameError(f"segment {index} is {header.rate} Hz, {header.channels} channel(s); "
                         f"the first is {first.rate} Hz, {first.channels}")
    if (info.frames, info.delay, info.padding) != (segment.frames, segment.delay,
                                                   segment.padding):
        raise FrameError(f"segment {index}'s MP3 does not match its record")
    if len(audio) and main_data_begin(audio) != 0:
        raise FrameError(f"segment {index} starts inside a bit reservoir; it cannot be joined")


def episode_comment(metadata: Metadata) -> str:
    """The ID3 comment: the reviewer's rating when the text gave one, and who narrated it."""
    rating = f"Rating: {metadata.rating}. " if metadata.rating else ""
    return f"{rating}Narrated by narrator."
