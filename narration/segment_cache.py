"""Finished segments cached by content, so re-narrating an edited text re-renders only the
parts that changed: every other part's MP3 is copied, not synthesized, normalized or encoded.
Keys come from `narration.pipeline.part_key`; this module stays light because the encoder
process imports it.

Each entry is two plain files named by its key: `<key>.mp3` (the segment's frames) and
`<key>.json` (its record); the JSON is renamed into place last, so its presence means the entry
is complete. Writes are atomic renames and a reader that loses a race with eviction sees a miss,
so several processes can share the folder. Least recently used entries (by file time, touched on
every hit) go first once the folder holds more than its byte bound.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
from pathlib import Path

from narration.files import atomic_path
from narration.segment import Segment, segment_from_json, segment_to_json

log = logging.getLogger(__name__)


class SegmentCache:
    """Segment files by key, bounded in bytes; safe to share between processes."""

    def __init__(self, directory: str | os.PathLike, size_limit: int):
        self.directory = Path(directory)
        self.size_limit = size_limit
        self.directory.mkdir(parents=True, exist_ok=True)

    @classmethod
    def beside(cls, sentence_cache_dir: str | os.PathLike, size_limit: int) -> "SegmentCache":
        """The segment cache that goes with a sentence cache: `segment-cache` next to it."""
        return cls(Path(sentence_cache_dir).parent / "segment-cache", size_limit)

    def get(self, key: str, mp3_path: str | os.PathLike, *, chapter: int,
            title: str) -> Segment | None:
        """Copy the cached segment to `mp3_path` and return its record (with this chapter
        index and title), or None on a miss."""
        record, frames = self._paths(key)
        try:
            segment = segment_from_json(record.read_bytes())
            with atomic_path(mp3_path) as temp:
                shutil.copyfile(frames, temp)
            for path in (record, frames):
                os.utime(path)  # recently used
        except (OSError, ValueError):
            return None
        return dataclasses.replace(segment, chapter=chapter, title=title)

    def put(self, key: str, segment: Segment, mp3_path: str | os.PathLike) -> None:
        """Store a copy of the segment; then evict the least recently used beyond the bound."""
        if self.size_limit <= 0:
            return
        record, frames = self._paths(key)
        with atomic_path(frames) as temp:
            shutil.copyfile(mp3_path, temp)
        with atomic_path(record) as temp:
            temp.write_bytes(segment_to_json(segment))
        self._evict()

    @property
    def volume(self) -> int:
        """Bytes currently stored."""
        return sum(size for _, size, _ in self._entries())

    def _paths(self, key: str) -> tuple[Path, Path]:
        return self.directory / f"{key}.json", self.directory / f"{key}.mp3"

    def _entries(self) -> list[tuple[float, int, str]]:
        """(last use, bytes, key) of every stored entry."""
        entries: dict[str, list] = {}
        for item in os.scandir(self.directory):
            key, _, suffix = item.name.partition(".")
            if item.name.startswith(".") or suffix not in ("json", "mp3"):
                continue  # a write in progress, or not ours
            try:
                stat = item.stat()
            except FileNotFoundError:  # evicted by another process meanwhile
                continue
            entry = entries.setdefault(key, [0.0, 0])
            entry[0] = max(entry[0], stat.st_mtime)
            entry[1] += stat.st_size
        return [(used, size, key) for key, (used, size) in entries.items()]

    def _evict(self) -> None:
        entries = sorted(self._entries())
        total = sum(size for _, size, _ in entries)
        for _, size, key in entries:
            if total <= self.size_limit:
                break
            for path in self._paths(key):  # the record first: without it, no reader uses it
                path.unlink(missing_ok=True)
            total -= size
            log.debug("segment cache: evicted %s (%d bytes)", key, size)
