"""The join step: the parts' segments become the episode at MP3 frame level (no decode, no
encode), with its tags, cover, chapters JSON and transcript (and, when asked for, the recognition
check: the parts' checks as one report, check.json); then the job is done.

The sidecars are published before the MP3, so whoever finds the MP3 finds them too; a job
canceled meanwhile has its outputs taken back.
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path

from narration.check import parts_report, status_summary
from narration.cover import render_cover
from narration.document import document_from_dict
from narration.join import join_segments
from state import jobs
from state.media import MediaStore, MediaStoreError, narration_key
from voices.recognizer import PROVENANCE
from workers.parts import fetch_checks, fetch_segments, job_folder

log = logging.getLogger(__name__)


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
        segments = fetch_segments(media, job_id, indexes, Path(folder))
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
            report = parts_report(fetch_checks(media, job_id, segments, indexes), cues=files.cues,
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


def discard_outputs(media: MediaStore, job_id: str) -> None:
    """Remove everything a canceled or failed job stored, so nothing half-made stays published."""
    media.delete_prefix(job_folder(job_id))
