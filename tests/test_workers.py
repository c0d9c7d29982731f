"""Jobs through real Celery worker processes on a real Redis, with the real male (Piper) voice."""

from __future__ import annotations

import json
import logging
import os
import signal
import time
from datetime import timedelta

import psutil
import pytest
from celery.result import AsyncResult
from sqlalchemy import update

from narration.document import Chapter, Document, Metadata
from narration.encode import decode_mp3
from state import jobs
from state.models import Job, JobPart, utcnow
from state.views import job_view
from tests.conftest_service import MISSING_VOICE, wait_until

log = logging.getLogger(__name__)

MP3_TOLERANCE = 0.05
"""Seconds a decoded MP3 may differ from the length the job recorded."""


def document(title: str, chapters: dict[str, list[str]]) -> Document:
    """A document with one paragraph per chapter (texts differ per test: the cache is shared)."""
    return Document(Metadata(title=title, author="Test Author"),
                    tuple(Chapter(name, (" ".join(sentences),))
                          for name, sentences in chapters.items()))


def submit(database, doc: Document, voice: str = "male", *, enqueue: bool = True) -> str:
    """Store a job as the service does (the text unread), then queue it by name as it does."""
    from workers.celery_app import app
    from state.queue import TaskQueue

    chapters = [{"title": c.title, "text": "\n\n".join(c.paragraphs)} for c in doc.chapters]
    request = {"source": "chapters", "input": chapters, "title": doc.metadata.title,
               "author": doc.metadata.author}
    with database.session() as session:
        job, _ = jobs.create_job(session, request=request, voice=voice, speed=1.0,
                                 source="chapters", input_chars=100, title=doc.metadata.title)
    if enqueue:
        assert TaskQueue(app, database).start_job(job.id)
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
    assert [p.status for p in job.parts] == ["done"] * 3
    assert job.sentences_done == job.sentences_total > 0
    assert seen == sorted(seen) and any(0 < n < job.sentences_total for n in seen)
    assert len({p.worker for p in job.parts}) == 2, "parts should share both processes"

    folder = media_folder / "narrations" / job_id
    mp3 = folder / "audio.mp3"
    assert abs(decode_mp3(mp3).seconds - job.duration) <= MP3_TOLERANCE
    assert job.mp3_size == mp3.stat().st_size
    for part in job.parts:  # one part per chapter here: the preview is its segment
        preview = decode_mp3(folder / "chapters" / f"{part.chapter}.mp3")
        assert abs(preview.seconds - part.duration) <= MP3_TOLERANCE
    marks = json.loads((folder / "chapters.json").read_text())["chapters"]
    assert [mark["title"] for mark in marks] == list(doc_titles(doc))
    assert "Lamps were lit in every window." in (folder / "transcript.vtt").read_text()
    assert not (folder / "parts").exists(), "parts are removed once the episode is published"
    assert not (folder / "plan").exists()


def doc_titles(doc: Document) -> list[str]:
    return [chapter.title for chapter in doc.chapters]


def test_cancel_stops_running_parts_and_publishes_nothing(database, media_folder,
                                                             celery_worker):
    from workers.celery_app import app

    doc = document("Canceled", {
        f"Part {part}": [f"Sentence {n} of part {part} is about rivers and goes on for a while."
                         for n in range(1, 9)] for part in "ABC"})
    job_id = submit(database, doc)
    wait_until(lambda: load(database, job_id).sentences_done >= 1, 60, "progress")

    canceled_at = time.monotonic()
    with database.session() as session:
        assert jobs.cancel_job(session, job_id).status == "canceled"  # as DELETE does
    outcomes = [AsyncResult(f"{job_id}.1.part{i}", app=app).get(timeout=30) for i in range(3)]
    assert AsyncResult(f"{job_id}.1.join", app=app).get(timeout=30) == "discarded"
    log.info("part tasks %s within %.1f s of cancel", outcomes, time.monotonic() - canceled_at)

    assert "stopped" in outcomes and set(outcomes) <= {"stopped", "skipped"}
    job = load(database, job_id)
    assert job.status == "canceled" and job.sentences_done < job.sentences_total
    assert not (media_folder / "narrations" / job_id).exists()


def test_a_part_delivered_twice_writes_its_segment_once(database, media, media_folder,
                                                       celery_worker):
    from workers.planning import plan_job
    from workers.resources import catalogue
    from workers.tasks import narrate_part

    doc = document("Twice", {"Only": ["This chapter is narrated right here, in the test.",
                                      "Running it twice must not write it twice."]})
    job_id = submit(database, doc, enqueue=False)
    assert plan_job(database, media, catalogue(), job_id)  # the plan step, in this process
    parts = media_folder / "narrations" / job_id / "parts"

    assert narrate_part(job_id, 0) == "done"  # the task body, run in this process
    first = (parts / "0.mp3").stat()
    assert narrate_part(job_id, 0) == "skipped"
    # A delivery that died after storing the segment, before recording it as done:
    with database.session() as session:
        session.execute(update(JobPart).where(JobPart.job_id == job_id).values(status="running"))
    assert narrate_part(job_id, 0) == "done"

    again = (parts / "0.mp3").stat()
    assert (again.st_ino, again.st_mtime_ns) == (first.st_ino, first.st_mtime_ns)
    assert sorted(path.name for path in parts.iterdir()) == ["0.json", "0.mp3"]
    part = load(database, job_id).parts[0]
    assert (part.status, part.attempts) == ("done", 2)
    assert (media_folder / "narrations" / job_id / "chapters" / "0.mp3").exists()


def test_killing_the_process_mid_part_still_finishes_the_job(database, media_folder,
                                                                celery_worker):
    doc = document("Killed", {
        "Long one": [f"Line {n}: the lighthouse keeper counted the ships that passed by night."
                     for n in range(1, 13)],
        "Short one": ["The keeper slept at dawn.", "Nobody noticed."]})
    job_id = submit(database, doc)

    def running_part():
        parts = load(database, job_id).parts
        return next((p for p in parts if p.index == 0 and p.status == "running"
                     and p.sentences_done >= 2 and p.worker), None)

    part = wait_until(running_part, 60, "part 0 to be under way")
    pid = int(part.worker.rsplit(":", 1)[1])
    assert psutil.Process(pid).ppid() == celery_worker.process.pid  # a pool child of our worker
    os.kill(pid, signal.SIGKILL)
    killed_at = time.monotonic()
    wait_until(lambda: load(database, job_id).parts[0].attempts >= 2, 60, "redelivery")
    restarted = time.monotonic() - killed_at
    job, _ = wait_for_end(database, job_id)
    log.info("after SIGKILL: part restarted in %.1f s, job done %.1f s after the kill",
             restarted, time.monotonic() - killed_at)

    assert job.status == "done", job.error_message
    assert job.parts[0].attempts == 2
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
    assert [p.status for p in job.parts] == ["failed"]
    assert job_view(job, "http://x")["error"]["code"] == "voice_unavailable"


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


def test_a_long_chapter_is_split_into_parts_that_both_processes_narrate(database, media_folder,
                                                                        celery_worker):
    from narration.pipeline import PART_CHARS
    from narration.render import Pauses

    sentences = [f"Sentence {n}: the tide came in over the flats and the birds moved inland."
                 for n in range(1, 1 + 5 * PART_CHARS // 140)]
    doc = Document(Metadata(title="Tides"), (
        Chapter("One long chapter", tuple(" ".join(sentences[i:i + 4])
                                          for i in range(0, len(sentences), 4))),
        Chapter("Coda", ("The birds came back.",))))
    job_id = submit(database, doc)
    job, _ = wait_for_end(database, job_id, timeout=180)

    assert job.status == "done", job.error_message
    long_parts = [p for p in job.parts if p.chapter == 0]
    assert len(long_parts) >= 3 and len({p.worker for p in long_parts}) == 2
    folder = media_folder / "narrations" / job_id
    marks = json.loads((folder / "chapters.json").read_text())["chapters"]
    assert [mark["title"] for mark in marks] == ["One long chapter", "Coda"]
    decoded = decode_mp3(folder / "audio.mp3").seconds
    assert abs(decoded - job.duration) <= MP3_TOLERANCE
    preview = decode_mp3(folder / "chapters" / "0.mp3").seconds
    assert abs(preview - sum(p.duration for p in long_parts)) <= 0.05 * len(long_parts)
    # The coda's mark starts on its first words: after the whole first chapter and the gap.
    assert marks[1]["startTime"] == pytest.approx(preview + Pauses().chapter,
                                                  abs=0.1 + 0.03 * len(long_parts))


KILL_AT_THE_MP3 = """
import os, sys
from workers import joining
from workers.resources import database, media_store
media = media_store()
publish = media.put_file
def put_file(key, path, content_type=None):
    if key.endswith("/audio.mp3"):
        os._exit(9)  # killed after the sidecars were published, before the MP3
    publish(key, path, content_type)
media.put_file = put_file
joining.join_job(database(), media, sys.argv[1], max_attempts=3)
"""


def test_a_join_killed_midway_is_done_again_with_exactly_one_episode(database, media,
                                                                     media_folder, service_env):
    import subprocess
    import sys

    from tests.conftest_service import REPO
    from workers.joining import join_job
    from workers.planning import plan_job
    from workers.resources import catalogue
    from workers.tasks import narrate_part

    doc = document("Joined twice", {"First": ["The join of this job dies halfway."],
                                    "Second": ["Then it runs again and finishes."]})
    job_id = submit(database, doc, enqueue=False)
    assert plan_job(database, media, catalogue(), job_id)
    assert [narrate_part(job_id, index) for index in range(2)] == ["done", "done"]
    killed = subprocess.run([sys.executable, "-c", KILL_AT_THE_MP3, job_id], cwd=REPO,
                            env={**os.environ, **service_env}, timeout=120)
    folder = media_folder / "narrations" / job_id
    assert killed.returncode == 9 and (folder / "chapters.json").exists()
    assert not (folder / "audio.mp3").exists() and load(database, job_id).status == "running"

    assert join_job(database, media, job_id, max_attempts=3) == "done"  # the redelivery
    job = load(database, job_id)
    assert (job.status, job.assembly_attempts) == ("done", 2)
    assert [p.name for p in folder.iterdir() if p.suffix == ".mp3"] == ["audio.mp3"]
    assert abs(decode_mp3(folder / "audio.mp3").seconds - job.duration) <= MP3_TOLERANCE
    marks = json.loads((folder / "chapters.json").read_text())["chapters"]
    assert [mark["title"] for mark in marks] == ["First", "Second"]
    assert not [p for p in folder.rglob(".*")], "no temp files may be left behind"
