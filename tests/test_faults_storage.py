"""Issue 5 §1, storage faults: the media store fails mid-job (a full tmpfs, a stopped SeaweedFS),
and the fault tests again with media in S3 (SeaweedFS) and jobs in PostgreSQL.

Everything is real: Redis, a prefork Celery worker speaking with the Piper voice, the web process
under gunicorn (both started by tests/stack.py, as for the other fault tests), a tmpfs,
SeaweedFS and PostgreSQL. Each class builds its own stack (class-scoped
fixtures), because the web app and the workers read their settings from os.environ.
"""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import psutil
import pytest
import requests

from narration.encode import decode_mp3
from state.db import Database
from state.media import MediaStore, narration_key
from state.models import Job
from tests.conftest_service import service_environment, wait_until
from tests.stack import Stack as Service
from tests.servers import (
    SECRET_KEY,
    PostgresServer,
    ensure_postgres,
    start_seaweed_or_skip,
    tmpfs,
)

pytestmark = pytest.mark.fault

PAGE = 4096
"""tmpfs charges whole pages per file (and nothing for folders)."""
MP3_TOLERANCE = 0.05
"""Seconds a decoded MP3 may differ from the duration the job reports."""
FINISHED = ("done", "failed", "canceled")
KILL_TRIALS = 3
S3_OUTAGE_TRIALS = 2
PG_RESTART_TRIALS = 2
FULL_DISK_TRIALS = 2
STORY = ["the keeper climbed the stairs", "the lamp was cleaned and lit",
         "a ship passed far out at sea", "the fog horn sounded twice", "gulls slept on the rocks",
         "the tide turned before midnight", "the log book was filled in", "dawn came up grey"]


def narration(title: str, long_sentences: int = 6) -> dict:
    """A two-chapter POST body: a long first chapter (time to act mid-chapter), a short second."""
    return {"title": title, "voice": "male", "chapters": [
        {"title": "Night", "text": " ".join(f"In the {title} story, {line}."
                                            for line in STORY[:long_sentences])},
        {"title": "Morning", "text": f"The {title} story ends here. Everyone slept."}]}


@dataclass
class Stack:
    """One running service (web and worker processes), a signed-in client, its database and store."""

    url: str
    http: requests.Session
    database: Database
    media: MediaStore
    service: Service
    secrets: list[str]
    api_errors: list[int] = field(default_factory=list)

    def submit(self, body: dict) -> dict:
        """POST a narration that must be accepted (202)."""
        response = self.http.post(f"{self.url}/api/v1/narrations", json=body, timeout=30)
        assert response.status_code == 202, response.text
        return response.json()

    def view(self, job_id: str) -> dict | None:
        """The job resource, or None while the API cannot answer (counted in api_errors)."""
        try:
            response = self.http.get(f"{self.url}/api/v1/narrations/{job_id}", timeout=15)
        except requests.RequestException:
            self.api_errors.append(0)
            return None
        if response.status_code != 200:
            self.api_errors.append(response.status_code)
            return None
        return response.json()

    def wait_for(self, job_id: str, statuses=FINISHED, timeout: float = 120) -> dict:
        """Poll the API until the job reaches one of `statuses`."""
        def reached():
            view = self.view(job_id)
            return view if view and view["status"] in statuses else None
        return wait_until(reached, timeout, f"job {job_id} to be {'/'.join(statuses)}\n"
                                            f"{self.service.log_tail('worker', 30)}", interval=0.1)

    def retry(self, job_id: str) -> dict:
        """The one API call that re-runs a failed narration."""
        response = self.http.post(f"{self.url}/api/v1/narrations/{job_id}/retry", timeout=30)
        assert response.status_code == 202, response.text
        view = response.json()  # queued, or already running: the worker is quick to start
        assert view["status"] in ("queued", "running") and "error" not in view, view
        return view

    def row(self, job_id: str) -> Job:
        """The job straight from the database (for the worker pid of a running chapter)."""
        with self.database.session(readonly=True) as session:
            return session.get(Job, job_id)

    def wait_mid_chapter(self, job_id: str, sentences: int = 2, *, second_done: bool = False):
        """Wait until chapter 0 runs and has spoken `sentences` (and chapter 1 is done, if
        asked); chapter 0's row."""
        def under_way():
            parts = sorted(self.row(job_id).parts, key=lambda c: c.index)
            if not parts:
                return None  # not planned yet
            first, second = parts
            ok = (first.status == "running" and first.sentences_done >= sentences and first.worker
                  and (second.status == "done" or not second_done))
            return first if ok else None
        return wait_until(under_way, 60, f"chapter 0 of {job_id} to be under way", interval=0.05)


@contextmanager
def running_stack(redis_url: str, folder: Path, **overrides: str):
    """Environment, migrated database, a user, and the web and worker processes (tests/stack.py)."""
    from state import users
    from state.media import open_media_store

    with service_environment(redis_url, folder, **overrides) as env:
        database = Database(env["DATABASE_URL"])
        database.upgrade()
        with database.session() as session:
            key = users.create_user(session, "storage-faults")[1]
        try:
            with Service(env, folder / "processes") as service, requests.Session() as http:
                http.headers["Authorization"] = f"Bearer {key}"
                media = open_media_store(env["MEDIA_URL"])
                secrets = [secret for secret in (key, SECRET_KEY, urlsplit(redis_url).password,
                                                 urlsplit(env["DATABASE_URL"]).password) if secret]
                yield Stack(service.url, http, database, media, service, secrets)
        finally:
            database.dispose()


def assert_fails_readably(stack: Stack, job: dict, *phrases: str) -> str:
    """The job failed with the media store's code and one plain sentence naming the cause."""
    assert job["status"] == "failed", job
    error = job["error"]
    assert error["code"] == "media_unavailable", error
    message = error["message"]
    assert any(phrase in message for phrase in phrases), message
    assert "Traceback" not in message and 'File "' not in message, message
    assert not [secret for secret in stack.secrets if secret in message], message
    print(f"failure reason shown to the user: {message}")
    return message


def assert_outputs_not_served(stack: Stack, job_id: str) -> None:
    """A failed job's outputs answer 404 not_ready: never a partial MP3."""
    for name in ("audio.mp3", "chapters.json", "transcript.vtt"):
        url = f"{stack.url}/api/v1/narrations/{job_id}/{name}"
        response = stack.http.get(url, headers={"Range": "bytes=0-1"}, timeout=30)
        assert response.status_code == 404, (name, response.status_code)
        assert response.json()["error"]["code"] == "not_ready"
        assert stack.http.head(url, timeout=30).status_code == 404
    assert stack.media.stat(narration_key(job_id, "audio.mp3")) is None


def assert_valid_episode(stack: Stack, job: dict, folder: Path) -> int:
    """The finished MP3 is served whole and by byte ranges, and decodes to the job's length."""
    url = job["links"]["audio"]
    whole = stack.http.get(url, timeout=60)
    assert whole.status_code == 200 and whole.headers["Content-Type"] == "audio/mpeg"
    size = len(whole.content)
    assert int(whole.headers["Content-Length"]) == size > 1000
    for start, end in [(0, 1), (1000, 1999), (size - 10, size - 1)]:
        part = stack.http.get(url, headers={"Range": f"bytes={start}-{end}"}, timeout=30)
        assert part.status_code == 206, part.status_code
        assert part.headers["Content-Range"] == f"bytes {start}-{end}/{size}"
        assert part.content == whole.content[start:end + 1]
    path = folder / f"{job['id']}.mp3"
    path.write_bytes(whole.content)
    assert abs(decode_mp3(path).seconds - job["duration"]) <= MP3_TOLERANCE
    return size


# --- a full media folder (tmpfs) -------------------------------------------------------------------

def pages(size: int) -> int:
    """Bytes a file of `size` bytes takes on tmpfs."""
    return -(-size // PAGE) * PAGE


def free_bytes(folder: Path) -> int:
    return shutil.disk_usage(folder).free


def space_before_the_mp3(folder: Path, done: dict) -> tuple[int, int]:
    """(bytes a job like `done` stores before its final MP3, bytes of that MP3) on tmpfs.

    A job stores per part its script (a page of JSON), its MP3 segment and the segment's record
    (a page), and per chapter a preview joined from its segments (so about the segments' size
    again); then chapters.json and transcript.vtt, then the MP3. Parts and scripts are removed
    once the MP3 is published; here every chapter is one part. The same text again gives the
    same bytes: every part comes from the workers' segment cache.
    """
    job_folder = folder / "narrations" / done["id"]
    parts = sum(pages((job_folder / "chapters" / f"{c['index']}.mp3").stat().st_size) + 2 * PAGE
                for c in done["chapters"])
    stored = sum(pages(p.stat().st_size) for p in job_folder.rglob("*") if p.is_file()
                 and p.name != "audio.mp3")
    return parts + stored, pages((job_folder / "audio.mp3").stat().st_size)


@pytest.fixture(scope="class")
def disk(redis_url, tmp_path_factory):
    """A stack whose media folder is a 48 MiB tmpfs; (stack, that folder)."""
    folder = tmp_path_factory.mktemp("full-disk")
    with (tmpfs(folder / "media", "size=48m") as media_folder,
          running_stack(redis_url, folder) as stack):
        yield stack, media_folder


class TestFullMediaFolder:
    """MEDIA_URL is a small tmpfs that fills up: the chapter parts fit, the final MP3 does not."""

    def test_a_full_media_folder_fails_the_job_readably_and_retry_succeeds(self, disk, tmp_path,
                                                                          record_figure):
        stack, folder = disk
        body = narration("harbour", long_sentences=3)
        reference = stack.wait_for(stack.submit(body)["id"])
        assert reference["status"] == "done", reference
        need, mp3 = space_before_the_mp3(folder, reference)
        failed_readably = retried = 0
        for trial in range(FULL_DISK_TRIALS):
            filler = folder / "filler.bin"
            with open(filler, "wb") as out:  # leave room for everything but half the MP3
                os.posix_fallocate(out.fileno(), 0, free_bytes(folder) - need - mp3 // 2)
            started = time.monotonic()
            job = stack.wait_for(stack.submit(body)["id"])
            failed_after = time.monotonic() - started
            assert job["status"] == "failed", f"the MP3 fit ({need=}, {mp3=}): {job}"
            assert [c["status"] for c in job["chapters"]] == ["done", "done"], "parts must fit"
            message = assert_fails_readably(stack, job, "is full (no space left on device)")
            assert "audio.mp3" in message and "MEDIA_URL" in message
            assert_outputs_not_served(stack, job["id"])
            assert not [p for p in folder.rglob("*") if p.name.endswith(".part")], "temp files"
            failed_readably += 1

            filler.unlink()  # space freed
            stack.retry(job["id"])
            started = time.monotonic()
            done = stack.wait_for(job["id"])
            assert done["status"] == "done", done
            assert_valid_episode(stack, done, tmp_path)
            assert not (folder / "narrations" / job["id"] / "parts").exists()
            retried += 1
            record_figure(f"full disk trial {trial + 1}: failed after", round(failed_after, 1), "s")
            record_figure(f"full disk trial {trial + 1}: done after retry",
                          round(time.monotonic() - started, 1), "s")
        record_figure("full disk: trials", FULL_DISK_TRIALS)
        record_figure("full disk: failed with a readable reason, nothing partial served",
                      failed_readably)
        record_figure("full disk: done after one retry call", retried)


# --- S3 media (SeaweedFS) and jobs in PostgreSQL ---------------------------------------------------

@dataclass
class CloudStack:
    stack: Stack
    seaweed: object
    postgres: PostgresServer


def s3_keys(media, job_id: str) -> list[str]:
    """Every object key of a job in the bucket, relative to the job's folder."""
    folder = f"{media.prefix}/{narration_key(job_id, '_')[:-2]}/"
    listing = media.client.list_objects_v2(Bucket=media.bucket, Prefix=folder)
    return sorted(item["Key"].removeprefix(folder) for item in listing.get("Contents", []))


def episodes_of(stack: Stack, job_id: str) -> int:
    """How many times the narration appears in the user's default podcast feed."""
    feeds = stack.http.get(f"{stack.url}/api/v1/feeds", timeout=30).json()["feeds"]
    default = next(feed for feed in feeds if feed["default"])
    listing = stack.http.get(default["links"]["episodes"], timeout=30).json()["episodes"]
    return sum(entry["narration"] == job_id for entry in listing)


@pytest.fixture(scope="class")
def cloud(redis_url, tmp_path_factory):
    """A stack on our own SeaweedFS and PostgreSQL (these tests stop and restart them)."""
    ensure_postgres()
    seaweed = start_seaweed_or_skip(tmp_path_factory.mktemp("seaweed"))
    pg_folder = Path(tempfile.mkdtemp(prefix="narrator-pg-"))
    postgres = PostgresServer(pg_folder)
    try:
        try:
            postgres.start()
        except RuntimeError as exc:
            pytest.skip(f"PostgreSQL could not be started: {exc}")
        env = {"DATABASE_URL": postgres.create_database(), "MEDIA_URL": seaweed.media_url(),
               **seaweed.env()}
        with running_stack(redis_url, tmp_path_factory.mktemp("cloud"), **env) as stack:
            yield CloudStack(stack, seaweed, postgres)
    finally:
        postgres.stop()
        seaweed.stop()
        shutil.rmtree(pg_folder, ignore_errors=True)


class TestS3AndPostgres:
    """MEDIA_URL=s3://… on a real SeaweedFS, DATABASE_URL on a real PostgreSQL (both our own,
    since these tests stop and restart them)."""

    def test_a_narration_is_stored_in_s3_and_served_with_ranges(self, cloud, tmp_path,
                                                               record_figure):
        stack = cloud.stack
        started = time.monotonic()
        job = stack.wait_for(stack.submit(narration("lighthouse", long_sentences=3))["id"])
        assert job["status"] == "done", job
        record_figure("S3+PostgreSQL: narration done after", round(time.monotonic() - started, 1), "s")
        size = assert_valid_episode(stack, job, tmp_path)
        # The Opus copy follows the episode, made by a task of its own.
        wait_until(lambda: "audio.opus" in s3_keys(stack.media, job["id"]), 60, "the Opus copy")
        assert s3_keys(stack.media, job["id"]) == ["audio.mp3", "audio.opus", "chapters.json",
                                                   "chapters/0.mp3", "chapters/1.mp3",
                                                   "transcript.vtt"]
        assert stack.media.stat(narration_key(job["id"], "audio.mp3")).size == size
        assert episodes_of(stack, job["id"]) == 1

    def test_a_killed_worker_child_mid_chapter_still_gives_one_episode(self, cloud, tmp_path,
                                                                      record_figure):
        stack = cloud.stack
        finished, after_kill = 0, []
        for trial in range(KILL_TRIALS):
            job_id = stack.submit(narration(f"killed{'abc'[trial]}"))["id"]
            chapter = stack.wait_mid_chapter(job_id)
            pid = int(chapter.worker.rsplit(":", 1)[1])
            assert psutil.Process(pid).ppid() == stack.service.worker.pid  # a pool child of ours
            os.kill(pid, signal.SIGKILL)
            killed_at = time.monotonic()
            job = stack.wait_for(job_id)
            after_kill.append(time.monotonic() - killed_at)
            assert job["status"] == "done", job
            assert_valid_episode(stack, job, tmp_path)
            keys = s3_keys(stack.media, job_id)
            assert [key for key in keys if "/" not in key and key.endswith(".mp3")] == ["audio.mp3"]
            assert not [key for key in keys if key.startswith("parts/")], keys
            assert episodes_of(stack, job_id) == 1
            assert stack.row(job_id).parts[0].attempts == 2
            finished += 1
        record_figure("S3+PostgreSQL SIGKILL mid-chapter: trials", KILL_TRIALS)
        record_figure("S3+PostgreSQL SIGKILL mid-chapter: finished with one episode", finished)
        record_figure("S3+PostgreSQL SIGKILL mid-chapter: done after the kill (max)",
                      round(max(after_kill), 1), "s")

    def test_a_stopped_s3_server_fails_the_job_readably_and_retry_succeeds(self, cloud, tmp_path,
                                                                          record_figure):
        failed_after, done_after = zip(*(s3_outage_trial(cloud, f"outage{'ab'[trial]}", tmp_path)
                                         for trial in range(S3_OUTAGE_TRIALS)))
        record_figure("S3 stopped mid-job: trials", S3_OUTAGE_TRIALS)
        record_figure("S3 stopped mid-job: failed readably, then done after one retry call",
                      len(done_after))
        record_figure("S3 stopped mid-job: failed after (max)", round(max(failed_after), 1), "s")
        record_figure("S3 stopped mid-job: done after retry (max)", round(max(done_after), 1), "s")

    def test_a_database_failure_reads_as_one_sentence(self, cloud):
        """A job that fails because PostgreSQL dropped its connection says so without SQL."""
        from psycopg.sql import Literal
        from sqlalchemy import text
        from sqlalchemy.exc import OperationalError

        from state import jobs
        from workers.tasks import describe_failure

        database = Database(cloud.stack.database.url)
        try:
            with pytest.raises(OperationalError) as raised, database.session() as session:
                backend = session.execute(text("SELECT pg_backend_pid()")).scalar()
                cloud.postgres.execute("SELECT pg_terminate_backend({})", Literal(backend))
                jobs.record_progress(session, "00000000-0000-4000-8000-000000000000", 0, 1, 9)
        finally:
            database.dispose()
        code, message = describe_failure(raised.value, "narrator.narrate_part")
        assert code == "service_unavailable"
        assert "terminating connection" in message, message
        assert "\n" not in message and "[SQL" not in message and "sqlalche.me" not in message, message
        assert cloud.postgres.password not in message

    def test_a_postgres_restart_mid_job_finishes_or_fails_clearly_and_retries(self, cloud, tmp_path,
                                                                            record_figure):
        outcomes = [postgres_restart_trial(cloud, f"restart{'ab'[trial]}", tmp_path)
                    for trial in range(PG_RESTART_TRIALS)]
        record_figure("PostgreSQL restart mid-job: trials", PG_RESTART_TRIALS)
        record_figure("PostgreSQL restart mid-job: finished without help",
                      sum(outcome == "done" for outcome, _ in outcomes))
        record_figure("PostgreSQL restart mid-job: failed readably, done after retry",
                      sum(outcome == "failed" for outcome, _ in outcomes))
        record_figure("PostgreSQL restart mid-job: API errors while polling",
                      sum(errors for _, errors in outcomes))


def s3_outage_trial(cloud: CloudStack, title: str, tmp_path: Path) -> tuple[float, float]:
    """Stop SeaweedFS mid-chapter: the job fails readably and serves nothing; start it again: one
    retry call finishes the job. (Seconds to the failure, seconds from retry to done.)"""
    stack, seaweed = cloud.stack, cloud.seaweed
    job_id = stack.submit(narration(title, long_sentences=8))["id"]
    stack.wait_mid_chapter(job_id, sentences=1, second_done=True)
    seaweed.stop()
    stopped_at = time.monotonic()
    try:
        job = stack.wait_for(job_id, timeout=90)
        failed_after = time.monotonic() - stopped_at
        # A stopping SeaweedFS may still answer, with 500, while its parts shut down one by one.
        assert_fails_readably(stack, job, "did not answer", "answered 500")
        assert seaweed.endpoint in job["error"]["message"]
        response = stack.http.get(f"{stack.url}/api/v1/narrations/{job_id}/audio.mp3", timeout=30)
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_ready"
        # The finished chapter's preview cannot be read now: a JSON 503, no audio bytes.
        preview = stack.http.get(job["chapters"][1]["audio"], timeout=60)
        assert preview.status_code == 503, preview.status_code
        assert preview.headers["Content-Type"] == "application/json"
        assert preview.json()["error"]["code"] == "media_unavailable"
    finally:
        seaweed.start()
    assert_outputs_not_served(stack, job_id)
    assert "audio.mp3" not in s3_keys(stack.media, job_id)
    uploads = stack.media.client.list_multipart_uploads(
        Bucket=stack.media.bucket, Prefix=stack.media.prefix).get("Uploads", [])
    assert uploads == [], "no unfinished upload may be left"

    stack.retry(job_id)
    started = time.monotonic()
    done = stack.wait_for(job_id)
    assert done["status"] == "done", done
    assert_valid_episode(stack, done, tmp_path)
    assert episodes_of(stack, job_id) == 1
    return failed_after, time.monotonic() - started


def postgres_restart_trial(cloud: CloudStack, title: str, tmp_path: Path) -> tuple[str, int]:
    """Restart PostgreSQL mid-chapter: the job ends done, or failed with a one-line reason and
    then done after one retry call. (How it ended first, API errors seen while polling.)"""
    stack = cloud.stack
    job_id = stack.submit(narration(title))["id"]
    stack.wait_mid_chapter(job_id)
    cloud.postgres.restart()
    stack.api_errors.clear()
    job = stack.wait_for(job_id)
    outcome, errors = job["status"], len(stack.api_errors)
    if outcome == "failed":
        message = job["error"]["message"]
        assert "\n" not in message and "[SQL" not in message, message
        assert cloud.postgres.password not in message, message
        stack.retry(job_id)
        job = stack.wait_for(job_id)
    assert job["status"] == "done", job
    assert_valid_episode(stack, job, tmp_path)
    assert episodes_of(stack, job_id) == 1
    return outcome, errors
