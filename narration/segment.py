"""A chapter, or a part of a long one, finished once as its final MP3 segment.

A segment is lead silence plus the rendered speech, brought to the podcast loudness and encoded
once; the episode is a frame-level join of segments (narration.join), never a second encode.
Its JSON record carries what the join needs to place every sample: PCM length, lead, and the
encoder's delay, padding and frame count read from the segment's own info frame.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass

import numpy as np

from narration.audio import Audio, samples_for
from narration.encode import DEFAULT_BITRATE, encode_mp3_to
from narration.files import atomic_path
from narration.mp3frames import FrameError, read_info_frame
from narration.timeline import Cue, RenderedChapter

log = logging.getLogger(__name__)

JSON_VERSION = 1
INFO_FRAME_MAX = 2048
"""Bytes to read for the info frame: one frame, at most 1441 bytes for Layer III."""


@dataclass(frozen=True)
class Segment:
    """One chapter or part of one, as final MP3 frames plus what the join needs."""

    title: str
    chapter: int
    """Chapter index; parts of one chapter share it and form one chapter mark."""
    rate: int
    samples: int
    """PCM samples encoded, lead silence included."""
    lead: int
    """Samples of silence before the first words."""
    delay: int
    """Encoder delay in samples, from the LAME tag (decoders add their own 529)."""
    padding: int
    """Encoder padding in samples, from the LAME tag: what decoders drop at the end."""
    frames: int
    """MPEG frames of audio (the info frame excluded)."""
    cues: tuple[Cue, ...]
    """Seconds from the segment's first PCM sample (lead included)."""

    @property
    def seconds(self) -> float:
        return self.samples / self.rate

    @property
    def frame_samples(self) -> int:
        """Samples per MPEG frame: 1152 at the MPEG-1 rates (32 kHz and up), else 576."""
        return 1152 if self.rate >= 32000 else 576


def encode_segment(rendered: RenderedChapter, mp3_path: str | os.PathLike, *, chapter: int,
                   lead: float, bitrate: str = DEFAULT_BITRATE) -> Segment:
    """Write `mp3_path` (atomically): `lead` seconds of silence, then the rendered audio, at
    −16 LUFS with true peak under −1 dBTP as decoded, as MP3 frames with an info frame and no
    ID3 tag. The segment starts in silence (the lead) and ends in it (render_chapter's fades
    and the encoder's padding), so joins at its edges are inaudible.
    """
    rate = rendered.audio.rate
    lead_samples = samples_for(lead, rate)
    pcm = np.concatenate([np.zeros(lead_samples, np.float32),
                          np.asarray(rendered.audio.samples, dtype=np.float32)])
    with atomic_path(mp3_path) as temp:
        loudness = encode_mp3_to(Audio(pcm, rate), temp, bitrate=bitrate)
        with open(temp, "rb") as handle:
            info = read_info_frame(handle.read(INFO_FRAME_MAX))
    if info.header.rate != rate or info.header.channels != 1:
        raise FrameError(f"the encoder wrote {info.header.channels} channels at "
                         f"{info.header.rate} Hz for mono {rate} Hz audio")
    # ffmpeg caps the padding it records at 1152 + 529, so a clip that just spills into one more
    # frame decodes up to a few dozen samples of silence longer than it is; never shorter.
    decoded = info.frames * info.header.samples - info.delay - info.padding
    if not 0 <= decoded - len(pcm) < info.header.samples:
        raise FrameError(f"the encoder's info frame ({info.frames} frames, delay {info.delay}, "
                         f"padding {info.padding}) does not add up to {len(pcm)} samples")
    offset = lead_samples / rate
    cues = tuple(Cue(offset + cue.start, offset + cue.end, cue.text, cue.voice)
                 for cue in rendered.cues)
    log.info("segment %r (chapter %d): %.1f s, %d frames, %.1f LUFS, %.2f dBTP", rendered.title,
             chapter, len(pcm) / rate, info.frames, loudness.lufs, loudness.true_peak)
    return Segment(rendered.title, chapter, rate, len(pcm), lead_samples, info.delay,
                   info.padding, info.frames, cues)


def segment_to_json(segment: Segment) -> bytes:
    """The segment's record as UTF-8 JSON, to store beside its MP3."""
    record = {"version": JSON_VERSION, "title": segment.title, "chapter": segment.chapter,
              "rate": segment.rate, "samples": segment.samples, "lead": segment.lead,
              "delay": segment.delay, "padding": segment.padding, "frames": segment.frames,
              "cues": [[cue.start, cue.end, cue.text, *([cue.voice] if cue.voice else [])]
                       for cue in segment.cues]}
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def segment_from_json(data: bytes) -> Segment:
    """The segment back from `segment_to_json`; ValueError for anything else."""
    try:
        record = json.loads(data)
        if record.get("version") != JSON_VERSION:
            raise ValueError(f"segment record version {record.get('version')!r} is not "
                             f"{JSON_VERSION}")
        # A cue is [start, end, text], with its voice as a fourth item when it has one.
        cues = tuple(Cue(float(start), float(end), str(text), str(voice[0]) if voice else "")
                     for start, end, text, *voice in record["cues"])
        return Segment(str(record["title"]), int(record["chapter"]), int(record["rate"]),
                       int(record["samples"]), int(record["lead"]), int(record["delay"]),
                       int(record["padding"]), int(record["frames"]), cues)
    except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as error:
        raise ValueError(f"not a segment record: {error}") from error
