"""What a part task does between reading its script and recording it done: speak it (through
the sentence and segment caches), store its final MP3 segment, and, when it completes its
chapter, publish the chapter's preview — a frame-level join of the chapter's segments.

Media keys: the segment's frames at `parts/<i>.mp3`, its record at `parts/<i>.json` (written
last, so its presence means the part is stored), the chapter preview at `chapters/<c>.mp3`.
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from pathlib import Path
from typing import Callable

from narration.check import EpisodeCheck
from narration.document import Metadata
from narration.join import join_segments
from narration.pipeline import Part, produce_part
from narration.script import Utterance
from narration.segment import Segment, segment_from_json, segment_to_json
from state.media import MediaStore, narration_key

log = logging.getLogger(__name__)

PROGRESS_INTERVAL = 0.5
"""Seconds between progress writes (and cancellation checks) of one part task."""


class JobStopped(Exception):
    """The job was canceled or failed elsewhere while this task was working on it."""


def segment_keys(job_id: str, index: int) -> tuple[str, str]:
    """(MP3 key, record key) of part `index`'s segment."""
    return (narration_key(job_id, f"parts/{index}.mp3"),
            narration_key(job_id, f"parts/{index}.json"))


def preview_key(job_id: str, chapter: int) -> str:
    """Key of a chapter's playable MP3, published as soon as the chapter is done."""
    return narration_key(job_id, f"chapters/{chapter}.mp3")


def job_folder(job_id: str) -> str:
    """The prefix under which every output of a job lives (as `narration_key` builds them)."""
    return narration_key(job_id, "_").rsplit("/", 1)[0]


class PartProgress:
    """The `on_spoken` callback: counts sentences, hands them to `record` at most every
    PROGRESS_INTERVAL, and raises JobStopped when `record` says the job is no longer running."""

    def __init__(self, record: Callable[[int, int], str | None]):
        self.record = record
        self.sentences = self.chars = 0
        self.last_write = time.monotonic()

    def spoken(self, utterance: Utterance, _cache_hit: bool) -> None:
        self.sentences += 1
        self.chars += len(utterance.spoken)
        if time.monotonic() - self.last_write >= PROGRESS_INTERVAL:
            self.write()

    def write(self) -> None:
        """Store progress and learn the job's status in one transaction."""
        status = self.record(self.sentences, self.chars)
        self.last_write = time.monotonic()
        if status != "running":
            raise JobStopped(status)


def stored_segment(media: MediaStore, job_id: str, index: int) -> Segment | None:
    """The part's segment when an earlier delivery stored it (and died before recording it)."""
    _, record_key = segment_keys(job_id, index)
    if media.stat(record_key) is None:
        return None
    return segment_from_json(media.get_bytes(record_key))


def check_key(job_id: str, index: int) -> str:
    """Key of part `index`'s recognition check (`ChapterCheck.to_dict()`), beside its segment."""
    return narration_key(job_id, f"parts/{index}.check.json")


def speak_part(media: MediaStore, job_id: str, index: int, part: Part, engine, *, speed: float,
               bitrate: str, progress: PartProgress, sentences=None, segments=None,
               checker: EpisodeCheck | None = None) -> Segment:
    """Produce the part's segment and store it, with its recognition check when a `checker` is
    given (it hears the part before it is finished); the record last, as the mark of
    completion."""
    mp3_key, record_key = segment_keys(job_id, index)
    with tempfile.TemporaryDirectory(prefix="narrator-part-") as folder:
        path = Path(folder) / "part.mp3"
        segment = produce_part(part, engine, path, speed=speed, bitrate=bitrate,
                               sentences=sentences, segments=segments, on_spoken=progress.spoken,
                               after_part=checker)
        progress.write()  # the final count, and a last check before anything is stored
        media.put_file(mp3_key, path, "audio/mpeg")
    if checker is not None:
        media.put_bytes(check_key(job_id, index), json.dumps(
            checker.chapters[-1].to_dict(), ensure_ascii=False).encode(), "application/json")
    media.put_bytes(record_key, segment_to_json(segment), "application/json")
    return segment


def fetch_checks(media: MediaStore, job_id: str, segments: list[tuple[Segment, Path]],
                 indexes) -> list[tuple[Segment, dict]]:
    """Each part's segment with its stored recognition check, for the episode's report."""
    return [(segment, json.loads(media.get_bytes(check_key(job_id, index))))
            for (segment, _path), index in zip(segments, indexes)]


def fetch_segments(media: MediaStore, job_id: str, indexes, folder: Path) -> list[tuple[Segment, Path]]:
    """The stored segments of these parts, their frames copied into `folder` for a join."""
    fetched = []
    for index in indexes:
        mp3_key, record_key = segment_keys(job_id, index)
        path = folder / f"{index}.mp3"
        path.write_bytes(media.get_bytes(mp3_key))
        fetched.append((segment_from_json(media.get_bytes(record_key)), path))
    return fetched


def publish_preview(media: MediaStore, job_id: str, chapter: int, indexes: list[int]) -> None:
    """Join a finished chapter's segments (no encode) and publish it as its preview."""
    with tempfile.TemporaryDirectory(prefix="narrator-preview-") as folder:
        segments = fetch_segments(media, job_id, indexes, Path(folder))
        title = segments[0][0].title
        files = join_segments(segments, Metadata(title=title), Path(folder) / "chapter.mp3",
                              cover=None)
        media.put_file(preview_key(job_id, chapter), files.mp3, "audio/mpeg")
