"""The JSON resource the API returns for a job (built here so the service and tests agree)."""

from __future__ import annotations

from datetime import datetime

from state.models import Job, JobPart, utcnow

API_PREFIX = "/api/v1/narrations"
RUNNING_PERCENT_CAP = 99.0
"""Percent shown while not done: the last step (the join) has no sentences to count."""


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


def chapter_views(job: Job, base_url: str) -> list[dict]:
    """Chapters as users see them: the job's parts summed per chapter.

    A chapter is done when all its parts are; it runs while any does; its audio is playable
    once done (a canceled job's media is removed; a failed job keeps its finished chapters).
    """
    grouped: dict[int, list[JobPart]] = {}
    for part in job.parts:
        grouped.setdefault(part.chapter, []).append(part)
    views = []
    for index, parts in sorted(grouped.items()):
        status = chapter_status([part.status for part in parts])
        durations = [part.duration for part in parts]
        views.append({
            "index": index, "title": parts[0].title, "status": status,
            "sentences_done": sum(p.sentences_done for p in parts),
            "sentences_total": sum(p.sentences_total for p in parts),
            "duration": sum(durations) if None not in durations else None,
            "audio": (chapter_audio_url(base_url, job.id, index)
                      if status == "done" and job.status != "canceled" else None)})
    return views


def chapter_status(statuses: list[str]) -> str:
    """One status for a chapter from its parts' statuses."""
    for status in ("failed", "canceled", "running"):
        if status in statuses:
            return status
    if all(status == "done" for status in statuses):
        return "done"
    return "running" if "done" in statuses else "queued"


def job_view(job: Job, base_url: str, now: datetime | None = None) -> dict:
    """The job as the API shows it; output links appear only once they exist."""
    view = {
        "id": job.id, "status": job.status, "title": job.title, "author": job.author,
        "voice": job.voice, "quote_voice": job.quote_voice,
        "speed": job.speed, "created_at": iso_time(job.created_at),
        "started_at": iso_time(job.started_at), "finished_at": iso_time(job.finished_at),
        "duration": job.duration,
        "progress": {"sentences_done": job.sentences_done, "sentences_total": job.sentences_total,
                     "percent": percent_done(job), "eta_seconds": eta_seconds(job, now)},
        "chapters": chapter_views(job, base_url),
        "links": {"self": job_url(base_url, job.id),
                  "events": job_url(base_url, job.id, "/events")},
    }
    if job.names is not None:
        view["names"] = job.names
    if job.recognition_check:
        view["check"] = check_view(job)
    if job.status == "failed":
        view["error"] = {"code": job.error_code, "message": job.error_message}
    if job.status == "done":
        view["links"].update(audio=job_url(base_url, job.id, "/audio.mp3"),
                             chapters=job_url(base_url, job.id, "/chapters.json"),
                             transcript=job_url(base_url, job.id, "/transcript.vtt"))
        if job.opus_size:
            view["links"]["opus"] = job_url(base_url, job.id, "/audio.opus")
        if job.recognition_check:
            view["links"]["check"] = job_url(base_url, job.id, "/check.json")
    return view


def check_view(job: Job) -> dict:
    """The recognition check as the status shows it: pending until the join stores its summary."""
    if job.check_summary is None:
        return {"status": "pending" if not job.terminal else job.status}
    return {"status": "done", **job.check_summary}
