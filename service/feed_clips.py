"""A feed's intro and outro: uploads checked and made into segments once, stored per feed.

Each version of a clip lives in a folder of its own, named by its content
(`feeds/<id>/intro-<digest>/clip.mp3`), so a join that read the feed just before the clip was
replaced still finds a whole file, or none (workers.joining then reads the feed again); the
replaced folder is removed once the feed row no longer names it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from pathlib import Path

from narration.clips import prepare_clip
from narration.errors import NarrationError
from narration.segment import segment_to_json
from state.media import MediaStore, MediaStoreError, feed_key

log = logging.getLogger(__name__)

MAX_CLIP_BYTES = 20 << 20
"""A minute of 48 kHz stereo 24-bit WAV is 17 MB; compressed formats are far smaller."""
MAX_CLIP_SECONDS = 60.0
TITLES = {"intro": "Intro", "outro": "Outro"}
"""The clips' chapter titles in the episode."""


class ClipTooLargeError(NarrationError):
    code = "audio_too_large"
    status = 413


def too_large(size: int | None = None) -> ClipTooLargeError:
    """The 413 for an upload over the limit, with the limit in it."""
    found = f"; this one is {size:,} bytes" if size else ""
    return ClipTooLargeError(f"Intro and outro clips may be at most {MAX_CLIP_BYTES >> 20} MB "
                             f"({MAX_CLIP_BYTES:,} bytes){found}.", field="body")


def store_clip(media: MediaStore, feed_id: str, which: str, data: bytes, *,
               bitrate: str) -> dict:
    """Check and encode an uploaded clip and store it; the record for Feed.intro/outro.

    Raises the clip's own 415/422 errors (narration.clips) before anything is stored.
    """
    with tempfile.TemporaryDirectory(prefix="narrator-clip-") as folder:
        upload = Path(folder) / "upload"  # no suffix: the content alone says what it is
        upload.write_bytes(data)
        mp3 = Path(folder) / "clip.mp3"
        segment = prepare_clip(upload, mp3, title=TITLES[which], max_seconds=MAX_CLIP_SECONDS,
                               bitrate=bitrate)
        encoded = mp3.read_bytes()
        digest = hashlib.blake2b(encoded, digest_size=8).hexdigest()
        key = feed_key(feed_id, f"{which}-{digest}/clip.mp3")
        media.put_bytes(key, encoded, "audio/mpeg")
    log.info("feed %s: %s of %.2f s stored at %s", feed_id, which, segment.seconds, key)
    return {"key": key, "seconds": round(segment.seconds, 3),
            "segment": json.loads(segment_to_json(segment))}


def remove_clip_file(media: MediaStore, record: dict | None, keep: dict | None = None) -> None:
    """Remove a replaced or deleted clip's folder (unless it is the one now in use); a failure
    only leaves a small file behind."""
    if not record or (keep and keep.get("key") == record.get("key")):
        return
    try:
        media.delete_prefix(record["key"].rsplit("/", 1)[0])
    except MediaStoreError:
        log.warning("could not remove the old clip %s", record["key"])


def clip_view(record: dict | None) -> dict:
    """How the API shows a feed's clip: whether it is set, and its length."""
    return {"set": record is not None, "seconds": record["seconds"] if record else None}
