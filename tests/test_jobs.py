"""The job state machine on a real SQLite file and a real PostgreSQL: creation, idempotency,
progress, cancel, stalls."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import update

from narration.document import Chapter, Document, Metadata, document_to_dict, opening
from narration.pipeline import plan_parts
from narration.script import build_script
from state import jobs
from state.db import MIGRATIONS, Database
from state.models import Base, Job, utcnow
from state.views import job_view

BASE_URL = "https://narrator.example"
DOCUMENT = Document(Metadata(title="Her", author="A. Critic"), (
    Chapter("Opening", ("It begins here. Then it goes on.",)),
    Chapter("Middle", ("One. Two. Three.",)),
    Chapter("End", ("Goodbye.",)),
))
PARTS = plan_parts(build_script(DOCUMENT, max_chars=400))
REQUEST = {"source": "text", "input": "It begins here.", "title": "", "author": ""}


@pytest.fixture(params=["sqlite", "postgres"])
def db(request, tmp_path):
    """A fresh database, migrated: an SQLite file, then a database on a real PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'jobs.db'}"
    else:
        url = request.getfixturevalue("postgres_database")
    database = Database(url)
    database.upgrade()
    yield database
    database.dispose()


def new_job(db, *, planned: bool = True, parts=PARTS, **overrides) -> str:
    """Create a job and, unless told not to, record DOCUMENT's plan as the plan task would."""
    arguments = dict(request=REQUEST, voice="male", speed=1.0, source="text", input_chars=15)
    with db.session() as session:
        job, created = jobs.create_job(session, **{**arguments, **overrides})
        assert created
    if planned:
        with db.session() as session:
            assert jobs.start_plan(session, job.id)
            assert jobs.record_plan(session, job.id, document=document_to_dict(DOCUMENT),
                                    description=opening(DOCUMENT), title="Her",
                                    author="A. Critic", parts=parts)
    return job.id


def load(db, job_id) -> Job:
    """The job as stored, with its (deferred) document loaded too."""
    with db.session() as session:
        job = jobs.get_job(session, job_id)
        job.document, job.request  # noqa: B018 (loads the deferred columns in the session)
        return job


def test_create_job_stores_the_request_unread_and_starts_queued(db):
    job = load(db, new_job(db, planned=False, title="Given"))
    assert (job.status, job.title, job.voice, job.request) == ("queued", "Given", "male", REQUEST)
    assert (job.parts, job.chapters_total, job.planned_at, job.document) == ([], 0, None, None)
    assert job.created_at.tzinfo is not None and job.heartbeat_at == job.created_at
    assert job_view(job, BASE_URL)["chapters"] == []


def test_the_plan_stores_parts_the_document_and_the_facts_of_the_text(db):
    job = load(db, new_job(db))
    assert (job.status, job.title, job.author) == ("queued", "Her", "A. Critic")
    assert [p.title for p in job.parts] == ["Opening", "Middle", "End"]
    assert [p.sentences_total for p in job.parts] == [len(p.script.utterances) for p in PARTS]
    assert job.chars_total == sum(len(u.spoken) for p in PARTS for u in p.script.utterances)
    assert job.document["chapters"][1]["paragraphs"] == ["One. Two. Three."]
    assert job.description and job.description in " ".join(DOCUMENT.chapters[0].paragraphs)
    with db.session() as session:  # a second delivery of the plan task plans nothing again
        assert not jobs.start_plan(session, job.id)
        assert not jobs.record_plan(session, job.id, document={}, description="", title="",
                                    author="", parts=PARTS[:1])
    assert len(load(db, job.id).parts) == 3


def test_a_title_given_with_the_request_wins_over_the_texts(db):
    assert load(db, new_job(db, title="Mine")).title == "Mine"


def test_a_plan_started_too_often_fails_the_job(db):
    job_id = new_job(db, planned=False)
    with db.session() as session:
        for _ in range(3):
            assert jobs.start_plan(session, job_id, max_attempts=3)
        assert not jobs.start_plan(session, job_id, max_attempts=3)
    assert load(db, job_id).error_code == "redelivery_limit"


def test_parts_of_a_chapter_are_one_chapter_to_users(db):
    long_chapter = Document(Metadata(title="Long"), (
        Chapter("Only", tuple(f"Paragraph {n} has a few words in it." for n in range(200))),))
    parts = plan_parts(build_script(long_chapter, max_chars=400), max_chars=1500)
    assert len(parts) > 3 and {p.chapter for p in parts} == {0}
    job_id = new_job(db, planned=False)
    with db.session() as session:
        jobs.start_plan(session, job_id)
        jobs.record_plan(session, job_id, document=document_to_dict(long_chapter),
                         description="", title="Long", author="", parts=parts)
        jobs.start_part(session, job_id, 0)
        jobs.finish_part(session, job_id, 0, 60.0)
    view = job_view(load(db, job_id), BASE_URL)
    [chapter] = view["chapters"]
    assert (chapter["title"], chapter["status"], chapter["audio"]) == ("Only", "running", None)
    assert chapter["sentences_total"] == sum(len(p.script.utterances) for p in parts)
    with db.session() as session:
        for index in range(1, len(parts)):
            jobs.start_part(session, job_id, index)
            jobs.finish_part(session, job_id, index, 60.0)
    [chapter] = job_view(load(db, job_id), BASE_URL)["chapters"]
    assert chapter["status"] == "done" and chapter["duration"] == 60.0 * len(parts)
    assert chapter["audio"].endswith(f"/narrations/{job_id}/chapters/0/audio.mp3")


def test_list_jobs_pages_newest_first_without_gaps_or_repeats(db):
    created = [new_job(db) for _ in range(5)]
    pages, before = [], None
    with db.session() as session:
        while True:
            page = jobs.list_jobs(session, limit=2, before=before)
            if not page:
                break
            pages.append([job.id for job in page])
            before = page[-1].id
    assert [len(page) for page in pages] == [2, 2, 1]
    assert sum(pages, []) == created[::-1]


@pytest.mark.parametrize("second_hash, outcome", [
    ("hash-a", "same job"),
    ("hash-b", "conflict"),
])
def test_idempotency_key(db, second_hash, outcome):
    first = new_job(db, idempotency_key="key-1", request_hash="hash-a")
    with db.session() as session:
        if outcome == "conflict":
            with pytest.raises(jobs.IdempotencyConflict) as error:
                jobs.create_job(session, request=REQUEST, voice="male", speed=1.0,
                                source="text", input_chars=15, idempotency_key="key-1",
                                request_hash=second_hash)
            assert error.value.status == 422 and "Idempotency-Key" in error.value.message
        else:
            job, created = jobs.create_job(session, request=REQUEST, voice="male", speed=1.0,
                                           source="text", input_chars=15, idempotency_key="key-1",
                                           request_hash=second_hash)
            assert (job.id, created) == (first, False)
    with db.session() as session:
        assert len(jobs.list_jobs(session, limit=10)) == 1


def test_without_a_key_every_request_is_a_new_job(db):
    assert new_job(db) != new_job(db)


def test_progress_is_summed_over_parts_and_never_goes_back(db):
    job_id = new_job(db)
    with db.session() as session:
        assert jobs.start_part(session, job_id, 0)
        assert jobs.start_part(session, job_id, 1)
        assert jobs.record_progress(session, job_id, 0, 1, 10) == "running"
        jobs.record_progress(session, job_id, 1, 2, 7)
        jobs.record_progress(session, job_id, 1, 1, 3)  # a re-run part counting again
    job = load(db, job_id)
    assert (job.status, job.sentences_done, job.chars_done) == ("running", 3, 17)
    assert job.started_at is not None
    view = job_view(job, BASE_URL)
    assert view["progress"]["sentences_done"] == 3
    assert 0 < view["progress"]["percent"] < 100
    assert all(chapter["audio"] is None for chapter in view["chapters"])
    assert "audio" not in view["links"]


def test_a_finished_job_shows_its_outputs(db):
    job_id = new_job(db)
    with db.session() as session:
        for index in range(len(PARTS)):
            assert not jobs.start_join(session, job_id)
            jobs.start_part(session, job_id, index)
            assert jobs.finish_part(session, job_id, index, duration=2.5)
        assert jobs.start_join(session, job_id)
        assert jobs.finish_job(session, job_id, duration=9.0, mp3_size=1234)
    job = load(db, job_id)
    assert (job.status, job.sentences_done, job.chars_done) == ("done", job.sentences_total,
                                                                job.chars_total)
    view = job_view(job, BASE_URL + "/")
    assert view["progress"]["percent"] == 100.0 and view["progress"]["eta_seconds"] == 0
    assert view["links"]["audio"] == f"{BASE_URL}/api/v1/narrations/{job_id}/audio.mp3"
    assert view["chapters"][2]["audio"] == f"{BASE_URL}/api/v1/narrations/{job_id}/chapters/2/audio.mp3"
    assert "error" not in view


def test_eta_follows_characters_per_second(db):
    job_id = new_job(db)
    with db.session() as session:
        jobs.start_part(session, job_id, 0)
        jobs.record_progress(session, job_id, 0, 1, 10)
    job = load(db, job_id)
    job.chars_total = 30  # 10 characters took 20 s, so 20 more take 40 s
    view = job_view(job, BASE_URL, now=job.started_at + timedelta(seconds=20))
    assert view["progress"]["eta_seconds"] == pytest.approx(40.0)


def test_a_part_started_too_often_fails_the_job(db):
    job_id = new_job(db)
    with db.session() as session:
        for _ in range(3):
            assert jobs.start_part(session, job_id, 1, max_attempts=3)
        assert not jobs.start_part(session, job_id, 1, max_attempts=3)
    job = load(db, job_id)
    assert (job.status, job.error_code) == ("failed", "redelivery_limit")
    assert "Part 2 (in chapter 'Middle') was started 3 times" in job.error_message
    assert job_view(job, BASE_URL)["error"]["code"] == "redelivery_limit"


def test_a_done_part_or_finished_job_is_not_started_again(db):
    job_id = new_job(db)
    with db.session() as session:
        jobs.start_part(session, job_id, 0)
        jobs.finish_part(session, job_id, 0, 1.0)
        assert not jobs.start_part(session, job_id, 0)
        jobs.cancel_job(session, job_id)
        assert not jobs.start_part(session, job_id, 1)
    assert load(db, job_id).parts[0].attempts == 1


def test_cancel_stops_a_running_job_and_finish_then_refuses(db):
    job_id = new_job(db)
    with db.session() as session:
        jobs.start_part(session, job_id, 0)
        jobs.finish_part(session, job_id, 0, 1.0)
        jobs.start_part(session, job_id, 1)
        assert jobs.cancel_job(session, job_id).status == "canceled"
        assert jobs.record_progress(session, job_id, 1, 1, 3) == "canceled"
        assert not jobs.finish_part(session, job_id, 1, 1.0)
        assert not jobs.start_join(session, job_id)
        assert not jobs.finish_job(session, job_id, duration=1.0, mp3_size=1)
        assert not jobs.fail_job(session, job_id, "x", "y")
    job = load(db, job_id)
    assert [p.status for p in job.parts] == ["done", "canceled", "canceled"]
    assert job.error_code is None and job.finished_at is not None


@pytest.mark.parametrize("finish", ["done", "failed", "canceled"])
def test_cancel_on_a_finished_job_changes_nothing(db, finish):
    job_id = new_job(db)
    with db.session() as session:
        for index in range(len(PARTS)):
            jobs.start_part(session, job_id, index)
            jobs.finish_part(session, job_id, index, 1.0)
        {"done": lambda: jobs.finish_job(session, job_id, duration=3.0, mp3_size=10),
         "failed": lambda: jobs.fail_job(session, job_id, "voice_unavailable", "No voice."),
         "canceled": lambda: jobs.cancel_job(session, job_id)}[finish]()
    before = load(db, job_id)
    with db.session() as session:
        after = jobs.cancel_job(session, job_id)
    assert (after.status, after.finished_at, after.error_code) == (
        finish, before.finished_at, before.error_code)


def test_unknown_jobs(db):
    with db.session() as session:
        assert jobs.get_job(session, "no-such-id") is None
        assert jobs.cancel_job(session, "no-such-id") is None
        assert jobs.list_jobs(session, limit=5, before="no-such-id") == []


def test_stalled_jobs_are_the_silent_active_ones_and_are_claimed_once(db):
    silent, fresh, finished = new_job(db), new_job(db), new_job(db)
    with db.session() as session:
        jobs.cancel_job(session, finished)
        long_ago = utcnow() - timedelta(minutes=11)
        session.execute(update(Job).where(Job.id.in_([silent, finished]))
                        .values(heartbeat_at=long_ago))
    ten_minutes = timedelta(minutes=10)
    with db.session() as session:
        assert [job.id for job in jobs.stalled_jobs(session, silent_for=ten_minutes)] == [silent]
        assert jobs.claim_stalled(session, silent, silent_for=ten_minutes)
        assert not jobs.claim_stalled(session, silent, silent_for=ten_minutes)
        assert not jobs.claim_stalled(session, fresh, silent_for=ten_minutes)
        assert jobs.stalled_jobs(session, silent_for=ten_minutes) == []


def test_mark_enqueued_counts_rounds_and_requeues_running_parts(db):
    job_id = new_job(db)
    with db.session() as session:
        assert jobs.mark_enqueued(session, job_id).attempts == 1
        jobs.start_part(session, job_id, 0)
        job = jobs.mark_enqueued(session, job_id)
        assert job.attempts == 2 and job.parts[0].status == "queued"
        jobs.cancel_job(session, job_id)
        assert jobs.mark_enqueued(session, job_id) is None


def _upgrade(url: str) -> None:
    Database(url).upgrade()


def test_migrations_run_twice_and_concurrently_and_match_the_models(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    context = multiprocessing.get_context("fork")
    processes = [context.Process(target=_upgrade, args=(url,)) for _ in range(2)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
    assert [process.exitcode for process in processes] == [0, 0]
    database = Database(url)
    database.upgrade()
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    with database.engine.connect() as connection:
        migration = MigrationContext.configure(connection)
        assert migration.get_current_heads() == (head,)
        assert compare_metadata(migration, Base.metadata) == []
    database.dispose()
    with sqlite3.connect(tmp_path / "fresh.db") as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)  # PostgreSQL's: test_postgres.py
def test_readers_do_not_wait_for_a_writer_but_writers_queue(db, tmp_path):
    job_id = new_job(db)
    writer = sqlite3.connect(tmp_path / "jobs.db", isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another process in the middle of a write
    try:
        started = time.monotonic()
        with db.session(readonly=True) as session:
            assert jobs.get_job(session, job_id).status == "queued"
        assert time.monotonic() - started < 1.0

        def cancel():
            with db.session() as session:
                jobs.cancel_job(session, job_id)

        waiting = threading.Thread(target=cancel)
        waiting.start()
        waiting.join(0.5)
        assert waiting.is_alive(), "a writer waits for the lock instead of failing"
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    waiting.join(10)
    assert load(db, job_id).status == "canceled"


def test_a_retry_reads_and_plans_the_text_afresh(db):
    job_id = new_job(db)
    with db.session() as session:
        jobs.start_part(session, job_id, 0)
        jobs.finish_part(session, job_id, 0, 1.0)
        jobs.fail_job(session, job_id, "media_store", "The media store is full.")
        job = jobs.retry_job(session, job_id)
        assert (job.status, job.planned_at, job.parts, job.sentences_total) == ("queued", None, [], 0)
        assert jobs.start_plan(session, job_id)
