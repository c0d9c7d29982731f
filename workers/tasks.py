"""Job tasks, registered under the names the web process sends (state/queue.py):
`plan_job` reads the text once and queues one `narrate_part` per part (a chord, so they run in
parallel), then `join_job`, which joins the parts' segments and publishes the episode.

Tasks receive ids only and keep their results in the database and the media store. They are
safe to run twice: a planned job, a finished part or job makes a task return at once, and every
output has a fixed key and is written atomically.
"""

from __future__ import annotations

import logging

import redis.exceptions
from celery import Task, chord
from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy.exc import OperationalError

import voices
from narration.check import EpisodeCheck, make_retake
from narration.errors import NarrationError
from state import jobs
from state.lexicons import resolve_lexicon
from state.media import MediaStoreError
from state.voices import voices_for_user
from state.queue import PLAN_TASK, SPEAK_STREAM_TASK, SPEAK_TASK, TaskQueue
from state.speech_stream import ChunkWriter
from workers import joining, planning, speech
from workers.celery_app import app
from workers.parts import (JobStopped, PartProgress, publish_preview, speak_part,
                           stored_segment)
from workers.resources import (catalogue, database, media_store, recognizer, segment_cache,
                               sentence_cache, settings, worker_name)

log = logging.getLogger(__name__)

MAX_DELIVERIES = 3
"""Starts of one step (plan, part, join) before the job fails instead of trying again."""
TRANSIENT_ERRORS = (OperationalError, MediaStoreError, redis.exceptions.ConnectionError)
"""Failures that may pass: a locked or restarting database, an unreachable store or broker."""


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


def task_queue() -> TaskQueue:
    """How the watchdog starts a job again: as the web process does."""
    return TaskQueue(app, database())


@app.task(base=JobTask, bind=True, name=PLAN_TASK)
def plan_job(self, job_id: str) -> str:
    """Read and plan the job unless that is done, then queue its unfinished parts and the join."""
    if not planning.plan_job(database(), media_store(), catalogue(), job_id,
                             max_attempts=MAX_DELIVERIES):
        return "skipped"
    with database().session(readonly=True) as session:
        job = jobs.get_job(session, job_id)
        if job is None or job.terminal:
            return "skipped"
        round_, pending = job.attempts, [p.index for p in job.parts if p.status != "done"]
    queue_parts(job_id, round_, pending)
    return "queued"


def queue_parts(job_id: str, round_: int, pending: list[int]) -> None:
    """The unfinished parts in parallel, then the join once they all return."""
    # Readable task ids: job, queue round, step.
    body = join_job.si(job_id).set(task_id=f"{job_id}.{round_}.join")
    if pending:
        chord([narrate_part.si(job_id, index).set(task_id=f"{job_id}.{round_}.part{index}")
               for index in pending])(body)
    else:
        body.apply_async()
    log.info("queued job %s (round %d): parts %s, then the join", job_id, round_, pending)


@app.task(base=JobTask, bind=True, name="narrator.narrate_part")
def narrate_part(self, job_id: str, index: int) -> str:
    """Speak one part, store it as its final MP3 segment, and publish its chapter's preview
    once every part of that chapter is done."""
    with database().session() as session:
        job = jobs.get_job(session, job_id)
        if job is None or job.terminal:
            return "skipped"
        (voice, quote_voice), speed = job_voices(session, job), job.speed
        check_names = name_words(job.names) if job.recognition_check else None
        if not jobs.start_part(session, job_id, index, max_attempts=MAX_DELIVERIES,
                               worker=worker_name()):
            return "skipped"
    media = media_store()
    segment = stored_segment(media, job_id, index)
    if segment is None:
        part = planning.load_part(media, job_id, index)
        engine = voices.load_voices(voice, quote_voice)  # each engine cached per process
        progress = PartProgress(lambda sentences, chars: record(job_id, index, sentences, chars))
        try:
            checker = None
            if check_names is not None:  # the recognition check hears the part before it is finished
                checker = EpisodeCheck(recognizer(), make_retake(engine, speed), names=check_names)
            segment = speak_part(media, job_id, index, part, engine, speed=speed,
                                 bitrate=settings().bitrate, progress=progress,
                                 sentences=sentence_cache(), segments=segment_cache(),
                                 checker=checker)
        except JobStopped as stopped:
            log.info("job %s part %d stopped: job is %s", job_id, index, stopped)
            return "stopped"
    with database().session() as session:
        if not jobs.finish_part(session, job_id, index, segment.seconds):
            return "stopped"
        chapter = jobs.chapter_parts(jobs.get_job(session, job_id), segment.chapter)
        if all(p.status == "done" for p in chapter):
            # Inside the transaction: the chapter shows as done only once its preview exists.
            publish_preview(media, job_id, segment.chapter, [p.index for p in chapter])
    return "done"


def name_words(names: dict | None) -> list[str]:
    """The words of the job's names check, which the recognition check reports when not heard."""
    return [name["word"] for name in (names or {}).get("words", [])]


def job_voices(session, job):
    """The job's voice and its quote voice (None unless the request named one): the
    catalogue's, or its owner's own (a blend)."""
    found = voices_for_user(session, job.user_id, catalogue())
    quote = job.quote_voice
    return found.find(job.voice), found.find(quote, field="quote_voice") if quote else None


def record(job_id: str, index: int, sentences: int, chars: int) -> str | None:
    """Store a part's progress; the job's status."""
    with database().session() as session:
        return jobs.record_progress(session, job_id, index, sentences, chars)


@app.task(base=JobTask, bind=True, name="narrator.join_job")
def join_job(self, job_id: str) -> str:
    """Join the parts' segments into the episode and publish it with its sidecars; then queue
    its Opus copy."""
    outcome = joining.join_job(database(), media_store(), job_id, max_attempts=MAX_DELIVERIES)
    if outcome == "done" and settings().opus_bitrate:
        add_opus_copy.delay(job_id)
    return outcome


@app.task(name="narrator.add_opus_copy", autoretry_for=TRANSIENT_ERRORS, retry_backoff=2,
          max_retries=MAX_DELIVERIES - 1)
def add_opus_copy(job_id: str) -> str:
    """The done episode as Ogg Opus, offered beside the MP3 (nothing waits for it; a copy that
    cannot be made leaves the episode as it is)."""
    return joining.add_opus_copy(database(), media_store(), job_id,
                                 bitrate=settings().opus_bitrate)


@app.task(name=SPEAK_TASK)
def speak(request_id: str, text: str, voice_id: str, speed: float, audio_format: str,
          user_id: str | None = None, lexicons: list[str] | None = None) -> dict:
    """Speak a short text for /v1/audio/speech or a lexicon preview, with the user's lexicons
    (those named, else their defaults): {"key": media key}, or {"error": {code, message, field,
    status}} for a text or lexicon the web process answers as a 4xx."""
    try:
        with database().session(readonly=True) as session:
            lexicon = resolve_lexicon(session, user_id, lexicons)
            voice = voices_for_user(session, user_id, catalogue()).find(voice_id)
        engine = voices.load_engine(voice)
        key = speech.speak_text(media_store(), engine, request_id, text, speed=speed,
                                audio_format=audio_format, bitrate=settings().bitrate,
                                lexicon=lexicon)
    except NarrationError as error:
        return {"error": {"code": error.code, "message": error.message, "field": error.field,
                          "status": error.status}}
    return {"key": key}


@app.task(name=SPEAK_STREAM_TASK, ignore_result=True)
def speak_stream(request_id: str, text: str, voice_id: str, speed: float, audio_format: str,
                 user_id: str | None = None, lexicons: list[str] | None = None) -> None:
    """Speak a short text for /v1/audio/speech with "stream": each sentence's audio goes to the
    request's Redis list as soon as it is encoded, then the end marker; a failure goes there as
    an error marker (a text or lexicon error with its 4xx status, anything else as a 500) for
    the web process to answer or to end the stream with."""
    chunks = ChunkWriter(app.backend.client, request_id)
    if chunks.canceled():  # the listener left while the task waited in the queue
        log.info("speech stream %s: the listener left before it started", request_id)
        return
    try:
        with database().session(readonly=True) as session:
            lexicon = resolve_lexicon(session, user_id, lexicons)
            voice = voices_for_user(session, user_id, catalogue()).find(voice_id)
        engine = voices.load_engine(voice)
        spoken, total = speech.stream_text(chunks, engine, text, speed=speed,
                                           audio_format=audio_format,
                                           bitrate=settings().bitrate, lexicon=lexicon)
    except NarrationError as error:
        chunks.error(error.code, error.message, error.field, error.status)
        return
    except Exception as error:
        log.exception("speech stream %s failed", request_id)
        chunks.error("speech_failed", f"The worker could not speak the text: {error}", None, 500)
        return
    if spoken < total:
        log.info("speech stream %s stopped: the listener left after %d of %d sentences",
                 request_id, spoken, total)
    else:
        log.info("speech stream %s done: %d sentences, %d chunks, %d bytes", request_id, total,
                 chunks.chunks, chunks.bytes)
