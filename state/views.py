"""The JSON resource the API returns for a job (built here so the service and tests agree)."""

from __future__ import annotations

from datetime import datetime

from state.models import Job, utcnow

API_PREFIX = "/api/v1/narrations"
RUNNING_PERCENT_CAP = 99.0
"""Percent shown while not done: the last step (assembly) has no sentences to count."""


def job_url(base_url: str, job_id: str, suffix: str = "") -> str:
    """Absolute URL of a job resource or one of its outputs."""
    return f"{base_url.rstrip('/')}{API_PREFIX}/{job_id}{suffix}"


def chapter_audio_url(base_url: str, job_id: str, index: int) -> str:
    """Where a finished chapter can be played before the whole episode is ready."""
    return job_url(base_url, job_id, f"/chapters/{index}/audio.mp3")


def iso_time(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def eta_seconds(job: Job, now: datetime | None = None) -> float | None:
    """Seconds left at the speed so far, in characters per second (synthesis follows length)."""
    if job.status == "done":
        return 0.0
    if job.terminal or not job.started_at or job.chars_done <= 0:
        return None
    elapsed = ((now or utcnow()) - job.started_at).total_seconds()
    if elapsed <= 0:
        return None
    rate = job.chars_done / elapsed
    return round(max(0, job.chars_total - job.chars_done) / rate, 1)


def percent_done(job: Job) -> float:
    """Share of the work done, by characters; 100 only once the MP3 is published."""
    if job.status == "done":
        return 100.0
    if job.chars_total <= 0:
        return 0.0
    return min(RUNNING_PERCENT_CAP, round(100 * job.chars_done / job.chars_total, 1))


def job_view(job: Job, base_url: str, now: datetime | None = None) -> dict:
    """The job as the API shows it; output links appear only once they exist."""
    view = {
        "id": job.id, "status": job.status, "title": job.title, "author": job.author,
        "voice": job.voice, "speed": job.speed, "created_at": iso_time(job.created_at),
        "started_at": iso_time(job.started_at), "finished_at": iso_time(job.finished_at),
        "duration": job.duration,
        "progress": {"sentences_done": job.sentences_done, "sentences_total": job.sentences_total,
                     "percent": percent_done(job), "eta_seconds": eta_seconds(job, now)},
        "chapters": [
            {"index": c.index, "title": c.title, "status": c.status,
             "sentences_done": c.sentences_done, "sentences_total": c.sentences_total,
             "duration": c.duration,
             # A canceled job's media is removed; a failed job keeps its finished chapters.
             "audio": (chapter_audio_url(base_url, job.id, c.index)
                       if c.status == "done" and job.status != "canceled" else None)}
            for c in job.chapters],
        "links": {"self": job_url(base_url, job.id),
                  "events": job_url(base_url, job.id, "/events")},
    }
    if job.status == "failed":
        view["error"] = {"code": job.error_code, "message": job.error_message}
    if job.status == "done":
        view["links"].update(audio=job_url(base_url, job.id, "/audio.mp3"),
                             chapters=job_url(base_url, job.id, "/chapters.json"),
                             transcript=job_url(base_url, job.id, "/transcript.vtt"))
    return view
