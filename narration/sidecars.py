"""Files that travel beside the MP3: Podcasting 2.0 chapters JSON and a WebVTT transcript."""

from __future__ import annotations

import re
from typing import Sequence

from narration.document import Metadata
from narration.timeline import ChapterMark, Cue

CHAPTERS_VERSION = "1.2.0"


def milliseconds(seconds: float) -> int:
    """Whole milliseconds: the one rounding that chapters JSON, ID3 chapters and WebVTT share,
    so all three agree exactly."""
    return max(0, round(seconds * 1000))


def chapters_json(chapters: Sequence[ChapterMark], metadata: Metadata) -> dict:
    """The `podcast:chapters` document (type application/json+chapters), times in seconds."""
    document: dict = {"version": CHAPTERS_VERSION}
    if metadata.author:
        document["author"] = metadata.author
    if metadata.title or metadata.headline:
        document["title"] = metadata.title or metadata.headline
    document["chapters"] = [
        {"startTime": milliseconds(mark.start) / 1000, "endTime": milliseconds(mark.end) / 1000,
         "title": mark.title}
        for mark in chapters
    ]
    return document


def vtt_timestamp(seconds: float) -> str:
    """HH:MM:SS.mmm, the WebVTT form that every player accepts (hours always present)."""
    millis = milliseconds(seconds)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}.{millis:03d}"


def vtt_text(text: str) -> str:
    """Cue text on one line with WebVTT's special characters escaped.

    A line break inside a cue is allowed but a blank line would end it, and "-->" would be read
    as timings; one line with & < > escaped avoids both.
    """
    one_line = re.sub(r"\s+", " ", text).strip()
    return one_line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def vtt_voice(name: str) -> str:
    """A WebVTT voice annotation's text: one line, without the characters that end it (&, <, >)
    or would be read as timings."""
    return re.sub(r"\s+", " ", name).replace("&", "&amp;").replace("<", "").replace(">", "").strip()


def webvtt(cues: Sequence[Cue]) -> str:
    """A WebVTT transcript with one cue per utterance, in its original wording.

    Cues with a voice (a narration read by two voices) open with a voice span,
    `<v Quote>…`, which podcast apps show as the speaker; without voices the text stands alone.
    """
    blocks = ["WEBVTT"]
    for number, cue in enumerate(cues, start=1):
        text = vtt_text(cue.text)
        if text and cue.voice:
            text = f"<v {vtt_voice(cue.voice)}>{text}</v>"
        if text:
            timing = f"{vtt_timestamp(cue.start)} --> {vtt_timestamp(cue.end)}"
            blocks.append(f"{number}\n{timing}\n{text}")
    return "\n\n".join(blocks) + "\n"
