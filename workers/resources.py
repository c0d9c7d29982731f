"""What a worker process opens once and reuses: database, media store, sentence cache, catalogue,
recognizer.

Each is kept per process id: a child forked by the prefork pool must not use connections its
parent opened (SQLite and sockets are not safe across fork), so it opens its own. They are also
keyed by their setting, so a changed environment (tests) gets a fresh one.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from typing import TypeVar

import voices
from narration.cache import SentenceCache
from narration.segment_cache import SegmentCache
from narration.settings import Settings, load_settings
from state.db import Database
from state.media import MediaStore, open_media_store

T = TypeVar("T")
_opened: dict[tuple, object] = {}


def _once(kind: str, setting: object, make: Callable[[], T]) -> T:
    """The object for (this process, kind, setting), made on first use."""
    key = (os.getpid(), kind, setting)
    if key not in _opened:
        _opened[key] = make()
    return _opened[key]  # type: ignore[return-value]


def settings() -> Settings:
    """Current settings (cheap: a dozen environment variables parsed)."""
    return load_settings()


def database() -> Database:
    """This process's handle on the job database."""
    url = settings().database
    return _once("database", url, lambda: Database(url))


def media_store() -> MediaStore:
    """This process's media store."""
    current = settings()
    return _once("media", (current.media, current.s3_endpoint_url), lambda: open_media_store(
        current.media, s3_endpoint_url=current.s3_endpoint_url or None))


def sentence_cache() -> SentenceCache | None:
    """The shared sentence cache (safe across processes), or None when disabled."""
    current = settings()
    if current.cache_size <= 0:
        return None
    folder = current.sentence_cache_dir
    return _once("cache", (str(folder), current.cache_size),
                 lambda: SentenceCache(folder, current.cache_size))


def segment_cache() -> SegmentCache | None:
    """The shared cache of finished segments, beside the sentence cache, or None when disabled."""
    current = settings()
    if current.cache_size <= 0:
        return None
    folder = current.sentence_cache_dir
    return _once("segments", (str(folder), current.cache_size),
                 lambda: SegmentCache.beside(folder, current.cache_size))


def catalogue() -> voices.Catalogue:
    """The voice catalogue (bundled plus NARRATOR_VOICES_FILE)."""
    extra = settings().voices_file
    return _once("catalogue", extra, lambda: voices.load_catalogue(extra or None))


def recognizer():
    """The recognition check's recognizer (Whisper-base), loaded on this process's first
    checked part and kept: loading takes seconds, hearing a part about a fifth of its length."""
    from voices.recognizer import Recognizer

    return _once("recognizer", None, Recognizer)


def worker_name() -> str:
    """host:pid, stored on a chapter so a hung or killed process can be found."""
    return f"{socket.gethostname()}:{os.getpid()}"
