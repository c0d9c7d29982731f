"""Jobs through real Celery worker processes on a real Redis, with the real male (Piper) voice."""

from __future__ import annotations

import json
import logging
import os
import signal
import time
from datetime import timedelta

import numpy as np
import psutil
import pytest
from celery.result import AsyncResult
from sqlalchemy import update

from narration.audio import Audio
from narration.document import Chapter, Document, Metadata
from narration.encode import decode_mp3
from narration.loudness import TARGET_LUFS, TRUE_PEAK_CEILING, integrated_loudness, true_peak
from narration.script import build_script
from narration.timeline import Cue, RenderedChapter
from state import jobs
from state.models import Job, JobChapter, utcnow
from tests.conftest_service import MISSING_VOICE, wait_until
from workers.chapters import decode_part, encode_part, preview_audio

log = logging.getLogger(__name__)

MP3_TOLERANCE = 0.05
"""Seconds a decoded MP3 may differ from the length the job recorded."""


def document(title: str, chapters: dict[str, list[str]]) -> Document:
    """A document with one paragraph per chapter (texts differ per test: the cache is shared)."""
    return Document(Metadata(title=title, author="Test Author"),
                    tuple(Chapter(name, (" ".join(sentences),))
                          for name, sentences in chapters.items()))


def submit(database, doc: Document, voice: str = "male", *, enqueue: bool = True) -> str:
    """Create a job as the service does, then queue it."""
    from workers.tasks import enqueue_job

    plan = jobs.script_plan(build_script(doc, max_chars=400))
    with database.session() as session:
        job, _ = jobs.create_job(session, document=doc, voice=voice, speed=1.0,
                                 source="chapters", plan=plan)
    if enqueue:
        assert enqueue_job(job.id)
    return job.id


def load(database, job_id: str) -> Job:
    with database.session() as session:
        return jobs.get_job(session, job_id)


def wait_for_end(database, job_id: str, timeout: float = 90) -> tuple[Job, list[int]]:
    """Poll the database until the job is finished; also returns the progress seen meanwhile."""
    seen: list[int] = []

    def finished():
        job = load(database, job_id)
        seen.append(job.sentences_done)
        return job if job.terminal else None

    return wait_until(finished, timeout, f"job {job_id} to finish", interval=0.05), seen


def test_a_part_reads_back_as_it_was_rendered():
    samples = np.linspace(-0.5, 0.5, 44100, dtype=np.float32)
    chapter = RenderedChapter("Ünïcode title", Audio(samples, 44100),
                              (Cue(0.0, 0.4, "First."), Cue(0.75, 1.0, "Second — “quoted”.")))
    back = decode_part(*encode_part(chapter))
    assert (back.title, back.cues, back.audio.rate) == (chapter.title, chapter.cues, 44100)
    assert np.max(np.abs(back.audio.samples - samples)) <= 1 / 32767
    again = decode_part(*encode_part(back))
    assert np.array_equal(again.audio.samples, back.audio.samples)  # storing is lossless now


@pytest.mark.parametrize("amplitude", [0.05, 0.9])
def test_a_preview_is_near_the_episode_loudness_and_under_the_peak_ceiling(amplitude):
    from fakes import BabbleEngine

    speech = BabbleEngine(44100, amplitude=amplitude).synthesize("word " * 80)
    preview = preview_audio(speech)
    assert abs(integrated_loudness(preview) - TARGET_LUFS) <= 1.5
    assert true_peak(preview) <= TRUE_PEAK_CEILING + 0.1
    assert len(preview.samples) == len(speech.samples)


def test_three_chapters_narrate_in_parallel_and_publish_an_exact_mp3(database, media_folder,
                                                                     celery_worker):
    doc = document("Parallel", {
        "The start": ["Rain fell on the quiet harbour town.", "Boats rocked at their moorings.",
                      "A gull cried twice and flew off."],
        "The middle": ["By noon the fog had lifted.", "Fishermen mended their torn nets.",
                       "Children ran along the sea wall."],
        "The end": ["Evening came slowly.", "Lamps were lit in every window.",
                    "The town went to sleep."]})
    started = time.monotonic()
    job_id = submit(database, doc)
    job, seen = wait_for_end(database, job_id)
    log.info("three-chapter job took %.1f s", time.monotonic() - started)

    assert job.status == "done", job.error_message
    assert [c.status for c in job.chapters] == ["done"] * 3
    assert job.sentences_done == job.sentences_total > 0
    assert seen == sorted(seen) and any(0 < n < job.sentences_total for n in seen)
    assert len({c.worker for c in job.chapters}) == 2, "chapters should share both processes"

    folder = media_folder / "narrations" / job_id
    mp3 = folder / "audio.mp3"
    assert abs(decode_mp3(mp3).seconds - job.duration) <= MP3_TOLERANCE
    assert job.mp3_size == mp3.stat().st_size
    for chapter in job.chapters:
        preview = decode_mp3(folder / "chapters" / f"{chapter.index}.mp3")
        assert abs(preview.seconds - chapter.duration) <= MP3_TOLERANCE
    marks = json.loads((folder / "chapters.json").read_text())["chapters"]
    assert [mark["title"] for mark in marks] == list(doc_titles(doc))
    assert "Lamps were lit in every window." in (folder / "transcript.vtt").read_text()
    assert not (folder / "parts").exists(), "parts are removed once the episode is published"


def doc_titles(doc: Document) -> list[str]:
    return [chapter.title for chapter in doc.chapters]


def test_cancel_stops_running_chapters_and_publishes_nothing(database, media_folder,
                                                             celery_worker):
    from workers.celery_app import app
    from workers.tasks import cancel

    doc = document("Canceled", {
        f"Part {part}": [f"Sentence {n} of part {part} is about rivers and goes on for a while."
                         for n in range(1, 9)] for part in "ABC"})
    job_id = submit(database, doc)
    wait_until(lambda: load(database, job_id).sentences_done >= 1, 60, "progress")

    canceled_at = time.monotonic()
    assert cancel(job_id).status == "canceled"
    outcomes = [AsyncResult(f"{job_id}.1.chapter{i}", app=app).get(timeout=30) for i in range(3)]
    assert AsyncResult(f"{job_id}.1.assemble", app=app).get(timeout=30) == "discarded"
    log.info("chapter tasks %s within %.1f s of cancel", outcomes, time.monotonic() - canceled_at)

    assert "stopped" in outcomes and set(outcomes) <= {"stopped", "skipped"}
    job = load(database, job_id)
    assert job.status == "canceled" and job.sentences_done < job.sentences_total
    assert not (media_folder / "narrations" / job_id).exists()


def test_a_chapter_delivered_twice_writes_its_part_once(database, media_folder, celery_worker):
    from workers.tasks import narrate_chapter

    doc = document("Twice", {"Only": ["This chapter is narrated right here, in the test.",
                                      "Running it twice must not write it twice."]})
    job_id = submit(database, doc, enqueue=False)
    parts = media_folder / "narrations" / job_id / "parts"

    assert narrate_chapter(job_id, 0) == "done"  # the task body, run in this process
    first = (parts / "0.wav").stat()
    assert narrate_chapter(job_id, 0) == "skipped"
    # A delivery that died after storing the part, before recording it as done:
    with database.session() as session:
        session.execute(update(JobChapter).where(JobChapter.job_id == job_id)
                        .values(status="running"))
    assert narrate_chapter(job_id, 0) == "done"

    again = (parts / "0.wav").stat()
    assert (again.st_ino, again.st_mtime_ns) == (first.st_ino, first.st_mtime_ns)
    assert sorted(path.name for path in parts.iterdir()) == ["0.json", "0.wav"]
    chapter = load(database, job_id).chapters[0]
    assert (chapter.status, chapter.attempts) == ("done", 2)


def test_killing_the_process_mid_chapter_still_finishes_the_job(database, media_folder,
                                                                celery_worker):
    doc = document("Killed", {
        "Long one": [f"Line {n}: the lighthouse keeper counted the ships that passed by night."
                     for n in range(1, 13)],
        "Short one": ["The keeper slept at dawn.", "Nobody noticed."]})
    job_id = submit(database, doc)

    def running_chapter():
        chapters = load(database, job_id).chapters
        return next((c for c in chapters if c.index == 0 and c.status == "running"
                     and c.sentences_done >= 2 and c.worker), None)

    chapter = wait_until(running_chapter, 60, "chapter 0 to be under way")
    pid = int(chapter.worker.rsplit(":", 1)[1])
    assert psutil.Process(pid).ppid() == celery_worker.process.pid  # a pool child of our worker
    os.kill(pid, signal.SIGKILL)
    killed_at = time.monotonic()
    wait_until(lambda: load(database, job_id).chapters[0].attempts >= 2, 60, "redelivery")
    restarted = time.monotonic() - killed_at
    job, _ = wait_for_end(database, job_id)
    log.info("after SIGKILL: chapter restarted in %.1f s, job done %.1f s after the kill",
             restarted, time.monotonic() - killed_at)

    assert job.status == "done", job.error_message
    assert job.chapters[0].attempts == 2
    folder = media_folder / "narrations" / job_id
    assert [p.name for p in folder.rglob("*.mp3") if p.parent == folder] == ["audio.mp3"]
    assert not [p for p in folder.rglob(".*")], "no temp files may be left behind"
    assert abs(decode_mp3(folder / "audio.mp3").seconds - job.duration) <= MP3_TOLERANCE


def test_a_voice_without_its_model_fails_the_job_with_a_reason(database, media_folder,
                                                               celery_worker):
    doc = document("Broken", {"Only": ["This voice has no model file."]})
    job_id = submit(database, doc, voice=MISSING_VOICE)
    job, _ = wait_for_end(database, job_id, timeout=30)
    assert (job.status, job.error_code) == ("failed", "voice_unavailable")
    assert "not installed" in job.error_message and MISSING_VOICE in job.error_message
    assert [c.status for c in job.chapters] == ["failed"]
    assert jobs.job_view(job, "http://x")["error"]["code"] == "voice_unavailable"


def test_the_watchdog_requeues_a_silent_job_once_then_fails_it(database, media_folder,
                                                               celery_worker):
    from workers.watchdog import check_stalled_jobs

    lost = submit(database, document("Lost", {"Only": ["Its tasks were lost with the broker."]}),
                  enqueue=False)
    again = submit(database, document("Again", {"Only": ["It was re-queued once already."]}),
                   enqueue=False)
    with database.session() as session:
        long_ago = utcnow() - timedelta(minutes=11)
        for job_id, attempts in [(lost, 1), (again, 2)]:  # enqueued once; re-queued once already
            session.execute(update(Job).where(Job.id == job_id)
                            .values(heartbeat_at=long_ago, attempts=attempts))

    assert "watchdog started" in celery_worker.log.read_text()  # the worker runs its own too
    actions = dict(check_stalled_jobs(silent_for=timedelta(minutes=10)))
    assert actions == {lost: "requeued", again: "failed"}
    assert check_stalled_jobs(silent_for=timedelta(minutes=10)) == []

    job, _ = wait_for_end(database, lost)
    assert (job.status, job.attempts) == ("done", 2)
    failed = load(database, again)
    assert (failed.status, failed.error_code) == ("failed", "stalled")
    assert "no progress" in failed.error_message
