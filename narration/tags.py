"""ID3 tags with chapters, and where an episode's files go (narration.join writes them)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from mutagen.id3 import APIC, CHAP, COMM, CTOC, ID3, TALB, TDRC, TIT2, TIT3, TPE1, CTOCFlags

from narration.document import Metadata
from narration.sidecars import milliseconds
from narration.timeline import ChapterMark

ALBUM = "narrator"
"""TALB for every episode: music players then group all narrations together, the way a podcast
app groups a feed; the review's headline goes to TIT3 (subtitle) instead."""
NO_OFFSET = 0xFFFFFFFF
"""CHAP byte offsets 'not used': players seek by the millisecond times."""
ISO639_2 = {"en": "eng", "ja": "jpn", "de": "deu", "fr": "fra", "es": "spa", "it": "ita",
            "pt": "por", "nl": "nld", "zh": "zho", "ko": "kor", "ru": "rus", "pl": "pol"}
"""ID3 comment frames name their language in ISO 639-2; 'XXX' means unknown."""


@dataclass(frozen=True)
class EpisodeFiles:
    """Where an episode was written, its length in seconds and its cues (as in the VTT)."""

    mp3: Path
    chapters_json: Path
    vtt: Path
    duration: float
    cues: tuple = ()
    """`narration.timeline.Cue`s in episode time: where each utterance plays."""


def sidecar_paths(mp3_path: str | os.PathLike) -> tuple[Path, Path]:
    """`her.mp3` → (`her.chapters.json`, `her.vtt`), beside the MP3."""
    mp3 = Path(mp3_path)
    return mp3.with_suffix(".chapters.json"), mp3.with_suffix(".vtt")


def image_mime(data: bytes) -> str:
    """The MIME type of cover art, from its magic bytes (PNG or JPEG are what feeds accept)."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    raise ValueError("cover art must be a PNG or JPEG image")


def write_tags(path: str | os.PathLike, metadata: Metadata, chapters: Sequence[ChapterMark], *,
               cover: bytes | None, comment: str = "") -> None:
    """Write ID3v2.3 tags: title, artist, album, date, comment, cover art and chapters.

    v2.3 because more players read it than v2.4. Chapter times are whole milliseconds, rounded
    as the chapters JSON rounds them, so both agree exactly.
    """
    tags = ID3()
    tags.add(TIT2(encoding=1, text=metadata.title or metadata.headline or ALBUM))
    if metadata.headline and metadata.title:
        tags.add(TIT3(encoding=1, text=metadata.headline))
    if metadata.author:
        tags.add(TPE1(encoding=1, text=metadata.author))
    tags.add(TALB(encoding=1, text=ALBUM))
    if metadata.published or metadata.year:
        tags.add(TDRC(encoding=1, text=metadata.published or metadata.year))
    if comment:
        language = ISO639_2.get(metadata.language.split("-")[0].lower(), "XXX")
        tags.add(COMM(encoding=1, lang=language, desc="", text=comment))
    if cover:
        tags.add(APIC(encoding=0, mime=image_mime(cover), type=3, desc="Cover", data=cover))
    ids = [f"chp{index}" for index in range(len(chapters))]
    if chapters:
        tags.add(CTOC(element_id="toc", flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
                      child_element_ids=ids, sub_frames=[TIT2(encoding=1, text="Chapters")]))
    for element_id, mark in zip(ids, chapters):
        tags.add(CHAP(element_id=element_id, start_time=milliseconds(mark.start),
                      end_time=milliseconds(mark.end), start_offset=NO_OFFSET,
                      end_offset=NO_OFFSET, sub_frames=[TIT2(encoding=1, text=mark.title)]))
    tags.save(os.fspath(path), v2_version=3)
