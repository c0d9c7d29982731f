"""Job tasks: one `narrate_chapter` per chapter (a chord, so they run in parallel), then
`assemble_job`, which joins the parts and publishes the MP3 and its sidecars.

Tasks receive ids only and keep their results in the database and the media store. They are
safe to run twice: a finished chapter or job makes a task return at once, and every output has
a fixed key and is written atomically.
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path

import redis.exceptions
from celery import Task, chord
from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy.exc import OperationalError

import voices
from narration.assemble import assemble_episode
from narration.cover import render_cover
from narration.document import document_from_dict
from narration.encode import export_mp3
from narration.errors import NarrationError
from narration.pipeline import make_speaker
from narration.render import render_chapter
from narration.script import ChapterScript, Utterance, build_script
from narration.tags import write_episode
from narration.timeline import RenderedChapter
from state import jobs
from state.media import MediaStore, MediaStoreError, narration_key
from state.models import Job
from workers.celery_app import app
from workers.chapters import (decode_part, encode_part, job_folder, part_duration, part_keys,
                              preview_audio, preview_key)
from workers.resources import (catalogue, database, media_store, sentence_cache, settings,
                               worker_name)

log = logging.getLogger(__name__)

MAX_DELIVERIES = 3
"""Starts of one chapter (or of the assembly) before the job fails instead of trying again."""
TRANSIENT_ERRORS = (OperationalError, MediaStoreError, redis.exceptions.ConnectionError)
"""Failures that may pass: a locked or restarting database, an unreachable store or broker."""
PROGRESS_INTERVAL = 0.5
"""Seconds between progress writes (and cancellation checks) of one chapter task."""


class JobStopped(Exception):
    """The job was canceled or failed elsewhere while this task was working on it."""


class JobTask(Task):
    """Base of the job tasks: transient errors retry with backoff; any other failure marks the
    job failed with a reason people can read."""

    autoretry_for = TRANSIENT_ERRORS
    retry_backoff = 2
    retry_backoff_max = 60
    retry_jitter = True
    # Retries are starts too; this keeps them within MAX_DELIVERIES.
    max_retries = MAX_DELIVERIES - 1

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        """Runs in the worker process after the task raised (not after a retry)."""
        job_id = args[0] if args else kwargs.get("job_id")
        code, message = describe_failure(exc, self.name)
        log.error("task %s for job %s failed: %s: %s", task_id, job_id, code, message)
        with database().session() as session:
            jobs.fail_job(session, job_id, code, message)


def describe_failure(exc: BaseException, task_name: str) -> tuple[str, str]:
    """(error code, message) for a job that failed with `exc`."""
    if isinstance(exc, NarrationError):
        return exc.code, exc.message
    if isinstance(exc, SoftTimeLimitExceeded):
        return "time_limit", (
            f"A step of this narration ran longer than {settings().task_time_limit} s and was "
            "stopped; raise NARRATOR_TASK_TIME_LIMIT or split the text into shorter chapters.")
    if isinstance(exc, TRANSIENT_ERRORS):
        return "service_unavailable", (
            f"The database, media store or broker failed {MAX_DELIVERIES} times in a row "
            f"({one_line(exc)}); check that they are running, then retry the narration.")
    step = task_name.rsplit(".", 1)[-1].replace("_", " ")
    return "internal_error", f"Unexpected error in step '{step}': {one_line(exc)}"


def one_line(exc: BaseException) -> str:
    """The cause in one line, for users: SQLAlchemy's text adds the SQL, its parameters and a
    help link on lines of their own; the driver's error it wraps (`orig`) says what happened."""
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {lines[0]}" if lines else type(cause).__name__


def enqueue_job(job_id: str) -> bool:
    """Queue a job's unfinished chapters and then its assembly; False if the job is over.

    Also used by the watchdog to re-queue a stalled job: chapters already done are not redone.
    Raises redis's ConnectionError at once when Redis is down (see `check_broker`).
    """
    check_broker()
    with database().session() as session:
        job = jobs.mark_enqueued(session, job_id)
        if job is None:
            return False
        round_, pending = job.attempts, [c.index for c in job.chapters if c.status != "done"]
    # Readable task ids: job, queue round, step.
    body = assemble_job.si(job_id).set(task_id=f"{job_id}.{round_}.assemble")
    if pending:
        chord([narrate_chapter.si(job_id, index).set(task_id=f"{job_id}.{round_}.chapter{index}")
               for index in pending])(body)
    else:
        body.apply_async()
    log.info("queued job %s (round %d): chapters %s, then assembly", job_id, round_, pending)
    return True


def check_broker() -> None:
    """Fail fast when Redis is unreachable: sending a task would first spend ~20 s in the result
    backend's reconnect retries (subscribing to the task's result) and then fail with a message
    about restarting Celery, while the client that submitted the job waits for its answer."""
    app.backend.client.ping()


def cancel(job_id: str) -> Job | None:
    """Cancel a job; its running chapter tasks stop within a sentence. None if unknown.

    Tasks are not revoked: a revoked chord member would keep the assembly from ever running, and
    the assembly is what removes a canceled job's partial media. Queued tasks of a canceled job
    start, see the status and return at once.
    """
    with database().session() as session:
        return jobs.cancel_job(session, job_id)


class ChapterProgress:
    """The `on_spoken` callback: counts sentences, writes them at most every PROGRESS_INTERVAL
    and raises JobStopped when the job is no longer running."""

    def __init__(self, job_id: str, index: int):
        self.job_id, self.index = job_id, index
        self.sentences = self.chars = 0
        self.last_write = time.monotonic()

    def spoken(self, utterance: Utterance, _cache_hit: bool) -> None:
        self.sentences += 1
        self.chars += len(utterance.spoken)
        if time.monotonic() - self.last_write >= PROGRESS_INTERVAL:
            self.write()

    def write(self) -> None:
        """Store progress and learn the job's status in one transaction."""
        with database().session() as session:
            status = jobs.record_progress(session, self.job_id, self.index, self.sentences,
                                          self.chars)
        self.last_write = time.monotonic()
        if status != "running":
            raise JobStopped(status)


@app.task(base=JobTask, bind=True)
def narrate_chapter(self, job_id: str, index: int) -> str:
    """Speak one chapter and store it as a part (for assembly) and a preview MP3 (to play now)."""
    with database().session(readonly=True) as session:
        job = jobs.get_job(session, job_id)
        if job is None or job.terminal:
            return "skipped"
        document, voice_id, speed = document_from_dict(job.document), job.voice, job.speed
    engine = voices.load_engine(catalogue().find(voice_id))  # cached per process
    script = build_script(document, max_chars=engine.max_chars)[index]
    _, sentences, chars = jobs.script_plan([script])[0]  # what this engine will really speak
    with database().session() as session:
        started = jobs.start_chapter(session, job_id, index, max_attempts=MAX_DELIVERIES,
                                     worker=worker_name(), sentences_total=sentences,
                                     chars_total=chars)
    if not started:
        return "skipped"
    media = media_store()
    wav_key, cues_key = part_keys(job_id, index)
    if media.stat(wav_key) is not None:
        # A delivery before this one stored the part but died before recording it.
        duration = part_duration(media.get_bytes(cues_key))
    else:
        try:
            rendered = speak_chapter(job_id, index, script, engine, speed)
        except JobStopped as stopped:
            log.info("job %s chapter %d stopped: job is %s", job_id, index, stopped)
            return "stopped"
        publish_chapter(media, job_id, index, rendered)
        duration = rendered.audio.seconds
    with database().session() as session:
        jobs.finish_chapter(session, job_id, index, duration)
    return "done"


def speak_chapter(job_id: str, index: int, script: ChapterScript, engine,
                  speed: float) -> RenderedChapter:
    """Render the chapter through the sentence cache, recording progress as it goes."""
    progress = ChapterProgress(job_id, index)
    speak = make_speaker(engine, speed, sentence_cache(), progress.spoken)
    rendered = render_chapter(script, speak)
    progress.write()  # the final count, and a last check before anything is published
    return rendered


def publish_chapter(media: MediaStore, job_id: str, index: int, rendered: RenderedChapter) -> None:
    """Store the preview MP3, the cues and the WAV part; the WAV last, as the mark of completion."""
    wav, cues = encode_part(rendered)
    with tempfile.TemporaryDirectory(prefix="narrator-chapter-") as folder:
        preview = Path(folder) / "chapter.mp3"
        # One encode, in a private temp folder; put_file then publishes it atomically.
        export_mp3(preview_audio(rendered.audio), preview, settings().bitrate)
        media.put_file(preview_key(job_id, index), preview, "audio/mpeg")
    wav_key, cues_key = part_keys(job_id, index)
    media.put_bytes(cues_key, cues, "application/json")
    media.put_bytes(wav_key, wav, "audio/wav")


@app.task(base=JobTask, bind=True)
def assemble_job(self, job_id: str) -> str:
    """Join the chapter parts, encode once, publish the sidecars and then the MP3."""
    media = media_store()
    with database().session() as session:
        job = jobs.get_job(session, job_id)
        if job is None:
            return "skipped"
        if job.status in ("canceled", "failed"):
            discard_outputs(media, job_id)
            return "discarded"
        if not jobs.start_assembly(session, job_id, max_attempts=MAX_DELIVERIES):
            return "skipped"
        document, chapters_total = document_from_dict(job.document), job.chapters_total
    parts = [decode_part(*(media.get_bytes(key) for key in part_keys(job_id, index)))
             for index in range(chapters_total)]
    episode = assemble_episode(parts)
    meta = document.metadata
    cover = render_cover(meta.title or parts[0].title, meta.headline)
    with tempfile.TemporaryDirectory(prefix="narrator-episode-") as folder:
        files = write_episode(episode, meta, Path(folder) / "audio.mp3", cover=cover,
                              bitrate=settings().bitrate)
        with database().session() as session:
            status = jobs.get_job(session, job_id).status
            jobs.touch_job(session, job_id)
        if status != "running":
            discard_outputs(media, job_id)
            return "discarded"
        media.put_file(narration_key(job_id, "chapters.json"), files.chapters_json,
                       "application/json")
        media.put_file(narration_key(job_id, "transcript.vtt"), files.vtt, "text/vtt")
        # The MP3 last: whoever finds it finds its sidecars too.
        media.put_file(narration_key(job_id, "audio.mp3"), files.mp3, "audio/mpeg")
        mp3_size = files.mp3.stat().st_size
    with database().session() as session:
        finished = jobs.finish_job(session, job_id, duration=files.duration, mp3_size=mp3_size)
        status = jobs.get_job(session, job_id).status
    if not finished and status != "done":
        # Canceled between the check above and now: take back what was published.
        discard_outputs(media, job_id)
        return "discarded"
    try:
        media.delete_prefix(narration_key(job_id, "parts"))  # only assembly needed them
    except MediaStoreError:  # the episode is published; leftover parts only take space
        log.warning("job %s is done but its chapter parts could not be removed", job_id)
    log.info("job %s done: %.1f s, %d bytes", job_id, files.duration, mp3_size)
    return "done"


def discard_outputs(media: MediaStore, job_id: str) -> None:
    """Remove everything a canceled or failed job stored, so nothing half-made stays published."""
    media.delete_prefix(job_folder(job_id))
