"""The join step: the parts' segments become the episode at MP3 frame level (no decode, no
encode), with its tags, cover, chapters JSON and transcript (and, when asked for, the recognition
check: the parts' checks as one report, check.json); then the job is done.

The feed's intro and outro (as they are when the join runs) go before the first part and after
the last, as chapters of their own ("Intro", "Outro"), so every later chapter and cue shifts by
the intro's length.

The sidecars are published before the MP3, so whoever finds the MP3 finds them too; a job
canceled meanwhile has its outputs taken back. The Opus copy is encoded afterwards, from the
published MP3, by a task of its own (`add_opus_copy`): the episode never waits for it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import tempfile
from pathlib import Path

from narration.check import parts_report, status_summary
from narration.cover import render_cover
from narration.document import document_from_dict
from narration.encode import OPUS_TYPE, encode_opus
from narration.join import join_segments
from narration.segment import Segment, segment_from_json
from state import feeds, jobs
from state.media import MediaNotFound, MediaStore, MediaStoreError, narration_key
from voices.recognizer import PROVENANCE
from workers.parts import fetch_checks, fetch_segments, job_folder

log = logging.getLogger(__name__)


CLIP_CHAPTERS = {"intro": -1, "outro": -2}
"""Chapter numbers of the clips' segments: apart from the parts' (0, 1, …), so each clip is a
chapter mark of its own."""


def join_job(db, media: MediaStore, job_id: str, *, max_attempts: int) -> str:
    """Publish the job's episode; what happened, in a word."""
    with db.session() as session:
        job = jobs.get_job(session, job_id)
        if job is None:
            return "skipped"
        if job.status in ("canceled", "failed"):
            discard_outputs(media, job_id)
            return "discarded"
        if not jobs.start_join(session, job_id, max_attempts=max_attempts):
            return "skipped"
        meta = document_from_dict(job.document).metadata
        indexes = [part.index for part in job.parts]
        first_title = job.parts[0].title
        checked, names = job.recognition_check, job.names
    with tempfile.TemporaryDirectory(prefix="narrator-episode-") as folder:
        intro, outro = fetch_clips(db, media, job_id, Path(folder))
        parts = fetch_segments(media, job_id, indexes, Path(folder))
        segments = intro + parts + outro
        cover = render_cover(meta.title or first_title, meta.headline)
        files = join_segments(segments, meta, Path(folder) / "audio.mp3", cover=cover)
        with db.session() as session:
            status = jobs.get_job(session, job_id).status
            jobs.touch_job(session, job_id)
        if status != "running":
            discard_outputs(media, job_id)
            return "discarded"
        media.put_file(narration_key(job_id, "chapters.json"), files.chapters_json,
                       "application/json")
        media.put_file(narration_key(job_id, "transcript.vtt"), files.vtt, "text/vtt")
        summary = None
        if checked:
            report = parts_report(fetch_checks(media, job_id, parts, indexes), cues=files.cues,
                                  names=names, model=PROVENANCE)
            media.put_bytes(narration_key(job_id, "check.json"),
                            json.dumps(report, ensure_ascii=False, indent=1).encode(),
                            "application/json")
            summary = status_summary(report)
        # The MP3 last: whoever finds it finds its sidecars too.
        media.put_file(narration_key(job_id, "audio.mp3"), files.mp3, "audio/mpeg")
        mp3_size = files.mp3.stat().st_size
    with db.session() as session:
        finished = jobs.finish_job(session, job_id, duration=files.duration, mp3_size=mp3_size,
                                   check_summary=summary)
        status = jobs.get_job(session, job_id).status
    if not finished and status != "done":
        # Canceled between the check above and now: take back what was published.
        discard_outputs(media, job_id)
        return "discarded"
    for prefix in ("parts", "plan"):  # only the parts and the join needed them
        try:
            media.delete_prefix(narration_key(job_id, prefix))
        except MediaStoreError:  # the episode is published; leftovers only take space
            log.warning("job %s is done but its %s could not be removed", job_id, prefix)
    log.info("job %s done: %.1f s, %d bytes", job_id, files.duration, mp3_size)
    return "done"


def add_opus_copy(db, media: MediaStore, job_id: str, *, bitrate: str) -> str:
    """Encode the done episode once more, as Ogg Opus, and offer it in its feeds; what happened,
    in a word. Apart from the join because it costs a core for ~1/60 of the audio's length
    (21 s for the 21-minute sample), which the episode would otherwise wait for."""
    with db.session(readonly=True) as session:
        job = jobs.get_job(session, job_id)
        if job is None or job.status != "done" or job.opus_size:
            return "skipped"
    with tempfile.TemporaryDirectory(prefix="narrator-opus-") as folder:
        mp3, opus = Path(folder) / "audio.mp3", Path(folder) / "audio.opus"
        try:
            mp3.write_bytes(media.get_bytes(narration_key(job_id, "audio.mp3")))
        except MediaNotFound:  # the narration was deleted meanwhile
            return "skipped"
        encode_opus(mp3, opus, bitrate)
        media.put_file(narration_key(job_id, "audio.opus"), opus, OPUS_TYPE)
        size = opus.stat().st_size
    with db.session() as session:
        if jobs.record_opus(session, job_id, size):
            return "done"
    media.delete_prefix(narration_key(job_id, "audio.opus"))  # deleted while it was encoded
    return "discarded"


def fetch_clips(db, media: MediaStore, job_id: str, folder: Path
                ) -> tuple[list[tuple[Segment, Path]], list[tuple[Segment, Path]]]:
    """The intro and outro segments of the job's feed (each an empty list or one segment),
    their frames copied into `folder`.

    A clip replaced between reading the feed and fetching the file is gone from the store (its
    owner removes the old file): the feed is read once more, for the clip that replaced it.
    """
    try:
        return _fetch_clips(db, media, job_id, folder)
    except MediaNotFound:
        log.info("job %s: a feed clip changed while the episode was joined; reading again", job_id)
        return _fetch_clips(db, media, job_id, folder)


def _fetch_clips(db, media: MediaStore, job_id: str, folder: Path):
    with db.session(readonly=True) as session:
        records = feeds.episode_clips(session, job_id)
    return (_fetch_clip(media, "intro", records["intro"], folder),
            _fetch_clip(media, "outro", records["outro"], folder))


def _fetch_clip(media: MediaStore, which: str, record: dict | None, folder: Path
                ) -> list[tuple[Segment, Path]]:
    if not record:
        return []
    path = folder / f"{which}.mp3"
    path.write_bytes(media.get_bytes(record["key"]))
    segment = segment_from_json(json.dumps(record["segment"]).encode("utf-8"))
    return [(dataclasses.replace(segment, chapter=CLIP_CHAPTERS[which]), path)]


def discard_outputs(media: MediaStore, job_id: str) -> None:
    """Remove everything a canceled or failed job stored, so nothing half-made stays published."""
    media.delete_prefix(job_folder(job_id))
