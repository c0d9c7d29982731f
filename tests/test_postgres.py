"""The state layer on a real PostgreSQL, and writers racing on one job (SQLite and PostgreSQL).

test_jobs.py runs every job state-machine test on both databases (its `db` fixture). This file
adds what only PostgreSQL or concurrency shows: migrations on a fresh server database, read-only
sessions next to row locks, a server restart, and threads that change one job at the same time,
which must end as if they had run one after another.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, update

from narration.document import Chapter, Document, Metadata
from narration.pipeline import plan_parts
from narration.script import build_script
from state import jobs
from state.db import MIGRATIONS, Database
from state.models import Base, Job, utcnow
from test_jobs import db, load, new_job  # noqa: F401  (db: an SQLite file, then PostgreSQL)


CHAPTERS = 6
WIDE_PARTS = plan_parts(build_script(Document(Metadata(title="Wide"), tuple(
    Chapter(f"Part {index}", (" ".join(["A short sentence."] * (3 + index)),))
    for index in range(CHAPTERS))), max_chars=400))
"""Enough parts for several part tasks to race on one job."""


def migration_head() -> str:
    """The newest revision in state/migrations."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()


def run_together(*calls):
    """Run each call in its own thread, all released at once; their results in order."""
    barrier = threading.Barrier(len(calls))

    def released(call):
        barrier.wait(timeout=30)
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        futures = [pool.submit(released, call) for call in calls]
        return [future.result(timeout=60) for future in futures]


def in_session(db, function, *args, **kwargs):
    """A call of a state function in a session (and transaction) of its own, as a task makes one."""
    def call():
        with db.session() as session:
            result = function(session, *args, **kwargs)
            return result.status if isinstance(result, Job) else result
    return call


def test_migrations_build_the_schema_on_a_fresh_database_and_rerun_as_a_no_op(postgres_database):
    database = Database(postgres_database)
    database.upgrade()
    job_id = new_job(database)
    database.upgrade()  # a second start: nothing to do, nothing lost
    with database.engine.connect() as connection:
        migration = MigrationContext.configure(connection)
        assert migration.get_current_heads() == (migration_head(),)
        assert compare_metadata(migration, Base.metadata) == []
        assert set(Base.metadata.tables) <= set(inspect(connection).get_table_names())
    assert load(database, job_id).status == "queued"
    database.dispose()


def _upgrade(url: str) -> None:
    Database(url).upgrade()


def test_processes_starting_together_migrate_once(postgres_server):
    """API and worker processes start at once on a fresh database; every one must come up."""
    context = multiprocessing.get_context("fork")
    for _ in range(4):  # one round fails ~3 times in 4 without a lock: four rounds make it certain
        url = postgres_server.create_database()
        processes = [context.Process(target=_upgrade, args=(url,)) for _ in range(3)]
        for process in processes:
            process.start()
        for process in processes:
            process.join(60)
        assert [process.exitcode for process in processes] == [0, 0, 0]


def test_readonly_sessions_read_past_a_locked_job_and_writers_wait_only_for_that_job(
        postgres_database):
    database = Database(postgres_database)
    database.upgrade()
    locked, other = new_job(database), new_job(database)
    holder = database.engine.connect()  # a worker in the middle of changing `locked`
    holder.begin()
    holder.execute(select(Job.id).where(Job.id == locked).with_for_update())
    try:
        started = time.monotonic()
        with database.session(readonly=True) as session:
            assert jobs.get_job(session, locked).status == "queued"
        assert time.monotonic() - started < 1.0

        waiting = threading.Thread(target=in_session(database, jobs.cancel_job, locked))
        waiting.start()
        waiting.join(0.5)
        assert waiting.is_alive(), "a writer of the locked job waits for the lock"
        started = time.monotonic()
        in_session(database, jobs.cancel_job, other)()  # row locks: other jobs go on meanwhile
        assert time.monotonic() - started < 1.0
    finally:
        holder.rollback()
        holder.close()
    waiting.join(10)
    assert not waiting.is_alive()
    assert (load(database, locked).status, load(database, other).status) == ("canceled", "canceled")
    database.dispose()


def test_parts_finished_at_the_same_moment_are_all_counted(db):
    job_id = new_job(db, parts=WIDE_PARTS)
    assert all(run_together(*[in_session(db, jobs.start_part, job_id, index)
                              for index in range(CHAPTERS)]))
    assert all(run_together(*[in_session(db, jobs.finish_part, job_id, index, 1.5)
                              for index in range(CHAPTERS)]))
    job = load(db, job_id)
    assert [part.status for part in job.parts] == ["done"] * CHAPTERS
    assert job.sentences_done == job.sentences_total == sum(
        len(part.script.utterances) for part in WIDE_PARTS)
    assert job.chars_done == job.chars_total == sum(
        len(u.spoken) for part in WIDE_PARTS for u in part.script.utterances)
    assert [part.attempts for part in job.parts] == [1] * CHAPTERS


@pytest.mark.parametrize("cancel_after", [0.0, 0.02, 0.1])
def test_cancel_racing_part_tasks_ends_in_one_consistent_order(db, cancel_after):
    job_id = new_job(db, parts=WIDE_PARTS)

    def part_task(index):
        """What a part task does: start, report progress, finish; False once it must stop."""
        def call():
            with db.session() as session:
                if not jobs.start_part(session, job_id, index):
                    return False
            with db.session() as session:
                if jobs.record_progress(session, job_id, index, 1, 5) != "running":
                    return False
            with db.session() as session:
                return jobs.finish_part(session, job_id, index, 2.0)
        return call

    def cancel():
        """The user cancels before, amid or after the tasks' work, depending on the case."""
        time.sleep(cancel_after)
        return in_session(db, jobs.cancel_job, job_id)()

    canceled, *finished = run_together(cancel, *[part_task(i) for i in range(CHAPTERS)])
    assert canceled == "canceled"
    job = load(db, job_id)
    assert job.status == "canceled"
    # a part is done exactly when its task was told it finished; all others stopped
    assert [part.status for part in job.parts] == [
        "done" if ok else "canceled" for ok in finished]
    assert job.sentences_done == sum(p.sentences_done for p in job.parts)
    assert job.chars_done == sum(p.chars_done for p in job.parts)


def test_one_of_two_racing_requests_with_the_same_idempotency_key_creates_the_job(db):
    for key in ("key-a", "key-b", "key-c"):
        def create():
            with db.session() as session:
                job, created = jobs.create_job(
                    session, request={"source": "text", "input": "Her."}, voice="male",
                    speed=1.0, source="text", input_chars=4, idempotency_key=key,
                    request_hash="same-body")
                return job.id, created
        (first_id, first_created), (second_id, second_created) = run_together(create, create)
        assert first_id == second_id
        assert sorted([first_created, second_created]) == [False, True]
    with db.session(readonly=True) as session:
        assert len(jobs.list_jobs(session, limit=10)) == 3


def test_two_watchdogs_claim_a_stalled_job_once(db):
    job_id = new_job(db)
    with db.session() as session:
        session.execute(update(Job).where(Job.id == job_id)
                        .values(heartbeat_at=utcnow() - timedelta(minutes=11)))
    claims = run_together(*[in_session(db, jobs.claim_stalled, job_id,
                                       silent_for=timedelta(minutes=10)) for _ in range(2)])
    assert sorted(claims) == [False, True]


def test_a_database_handle_survives_a_server_restart(postgres_server, postgres_database):
    """Keep this last: it restarts the session's server (API and workers outlive the database)."""
    database = Database(postgres_database)
    database.upgrade()
    job_id = new_job(database)
    started = time.monotonic()
    postgres_server.restart()
    restart_seconds = time.monotonic() - started
    with database.session() as session:  # pooled connections are dead: pre-ping replaces them
        assert jobs.cancel_job(session, job_id).status == "canceled"
    assert load(database, job_id).status == "canceled"
    assert restart_seconds < 10
    database.dispose()
