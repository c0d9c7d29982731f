"""Load (issue 5 §2): many clients at once against the real app on gunicorn (gthread, as
`narrator up` runs it) and a real Celery worker speaking with the real male (Piper) voice.

Figures go to `record_figure`. NARRATOR_LOAD_JOBS sets how many jobs the memory test runs
(default 100 in CI; `bench/reliability.py` sets 500).
"""

from __future__ import annotations

import io
import itertools
import os
import re
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import psutil
import pytest
import requests
from mutagen.id3 import ID3
from requests.adapters import HTTPAdapter
from sqlalchemy import func, select

from state import users
from state.models import Job
from tests.conftest_service import wait_until
from tests.stack import Stack

pytestmark = pytest.mark.slow

CLIENTS = 50
JOBS_PER_CLIENT = 4
MEMORY_JOBS = int(os.environ.get("NARRATOR_LOAD_JOBS", "100"))
WARM_UP_JOBS = 10
"""Jobs before the memory baseline: each pool process loads its voice model on its first job."""
MAX_GROWTH = 0.25
"""Allowed growth of the workers' RSS after warm-up, as a share of the warmed-up figure."""
POLL_SECONDS = 2.0
"""Between a client's list requests (what a polling client does; gunicorn keeps idle
connections 30 s, see service/gunicorn_conf.py)."""
SECONDS_PER_JOB = 3.0
"""Generous time per queued job on two pool processes (a job takes about 0.5 s), for timeouts."""
TERMINAL = ("done", "failed", "canceled")
BATCH = 50
"""Jobs one user has queued at once in the memory test: within the running-jobs quota."""

# Word lists of coprime lengths (11, 13, 17) give every job a first sentence never spoken before
# in the module (under 2431 jobs), so each job really runs the engine, not the sentence cache.
ADJECTIVES = ["quiet", "bright", "tired", "careful", "gentle", "restless", "patient", "clever",
              "honest", "nervous", "cheerful"]
PEOPLE = ["painter", "sailor", "teacher", "baker", "doctor", "gardener", "writer", "pilot",
          "farmer", "singer", "builder", "student", "driver"]
ACTIONS = ["walked along the river", "waited at the station", "read a letter by the window",
           "fixed the old fence", "sang in the kitchen", "planted beans in the garden",
           "crossed the empty square", "watched the evening rain", "painted the blue door",
           "counted the passing boats", "laughed at the small dog", "climbed the steep hill",
           "closed the heavy shutters", "opened a new book", "carried bread to the market",
           "listened to the radio", "waved from the bridge"]
ENDINGS = ["The film ends there.", "It was a fine scene.", "Nobody said a word.",
           "The music rose softly.", "Then the lights went out.", "Everyone went home."]
MARKERS = ["aardvark", "badger", "camel", "dolphin", "eagle", "ferret", "giraffe", "hedgehog",
           "iguana", "jackal", "koala", "lemur", "meerkat", "narwhal", "ocelot", "penguin",
           "quokka", "raccoon", "salmon", "tortoise", "urchin", "vulture", "walrus", "yak",
           "zebra", "beaver"]
"""One per job in the two-user test; none is part of another or of the fixed wording."""

_sentence_numbers = itertools.count()  # next() on it is atomic: client threads share it


def short_text() -> str:
    """A new one- or two-sentence text, never used before in this module."""
    n = next(_sentence_numbers)
    first = f"The {ADJECTIVES[n % 11]} {PEOPLE[n % 13]} {ACTIONS[n % 17]}."
    return first if n % 2 else f"{first} {ENDINGS[n % len(ENDINGS)]}"


@pytest.fixture(scope="module")
def web(service_env, database, tmp_path_factory):
    """The real app under gunicorn (one gthread process, 32 threads), as `narrator up` starts it;
    the module's `celery_worker` does the work."""
    with Stack(service_env, tmp_path_factory.mktemp("gunicorn"), worker=False) as stack:
        yield stack


def new_user(database) -> tuple[str, str]:
    """(user id, API key) of a fresh user of the module's database."""
    with database.session() as session:
        user, key = users.create_user(session, f"load-{uuid.uuid4().hex[:8]}")
        return user.id, key


class FromAddress(HTTPAdapter):
    """Connections from one loopback address (all of 127.0.0.0/8 reaches this machine), so each
    simulated client is its own client address, as it would be for the per-address rate limit."""

    def __init__(self, address: str):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, source_address=(self.address, 0), **kwargs)


def client(key: str, number: int = 0) -> requests.Session:
    """A session sending the key from address 127.0.0.(2 + number), as one API client would."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {key}"
    session.mount("http://", FromAddress(f"127.0.0.{2 + number}"))
    return session


def submit(http: requests.Session, url: str, body: dict) -> tuple[requests.Response, float]:
    """POST one narration; the response and its latency in milliseconds."""
    started = time.perf_counter()
    response = http.post(f"{url}/api/v1/narrations", json=body, timeout=60)
    return response, (time.perf_counter() - started) * 1000


def listed(http: requests.Session, url: str) -> tuple[dict[str, str], list[float]]:
    """Every narration in the caller's list, id → status (following `next`), and GET latencies."""
    found, latencies, page = {}, [], f"{url}/api/v1/narrations?limit=100"
    while page:
        started = time.perf_counter()
        response = http.get(page, timeout=60)
        latencies.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.text
        found.update((job["id"], job["status"]) for job in response.json()["narrations"])
        page = response.json()["next"]
    return found, latencies


def count_jobs(database, user_ids: list[str], statuses=None) -> int:
    """Job rows of these users in the database (optionally only with these statuses)."""
    query = select(func.count()).select_from(Job).where(Job.user_id.in_(user_ids))
    if statuses:
        query = query.where(Job.status.in_(statuses))
    with database.session(readonly=True) as session:
        return session.scalar(query)


def last_finished(database, user_ids: list[str]) -> datetime:
    """When the last job of these users ended (UTC)."""
    with database.session(readonly=True) as session:
        last = session.scalar(select(func.max(Job.finished_at)).where(Job.user_id.in_(user_ids)))
    return last  # aware: the column type makes it so, on SQLite too


def worker_rss(worker) -> int:
    """Resident memory of the worker: its main process plus its pool children, in bytes."""
    main = psutil.Process(worker.process.pid)
    total = 0
    for process in [main, *main.children(recursive=True)]:
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:  # a child being replaced right now
            pass
    return total


def percentile_ms(latencies: list[float], share: int) -> float:
    return round(float(np.percentile(latencies, share)), 1)


def run_jobs(url: str, key: str, database, user_id: str, count: int) -> None:
    """Submit `count` more jobs for one user (8 at a time) and wait until all of them ended.

    In batches within the user's quota of running jobs (NARRATOR_QUOTA_ACTIVE_JOBS, 100)."""
    for batch in range(0, count, BATCH):
        size = min(BATCH, count - batch)
        before = count_jobs(database, [user_id])
        bodies = [{"text": short_text(), "voice": "male", "title": "Memory"} for _ in range(size)]
        with client(key) as http, ThreadPoolExecutor(8) as pool:
            responses = [r for r, _ in pool.map(lambda body: submit(http, url, body), bodies)]
        assert [r.status_code for r in responses] == [202] * size, responses[-1].text
        wait_for_ended(database, user_id, before + size, timeout=60 + size * SECONDS_PER_JOB)


def wait_for_ended(database, user_id: str, expected: int, timeout: float) -> None:
    """Until `expected` jobs of the user have ended."""
    wait_until(lambda: count_jobs(database, [user_id], TERMINAL) == expected, timeout,
               f"{expected} jobs to end", interval=0.5)


def test_worker_memory_stays_flat_over_many_jobs(web, database, celery_worker, record_figure):
    """RSS at start, after warm-up, after 100 and after NARRATOR_LOAD_JOBS jobs."""
    mib = 1 << 20
    user_id, key = new_user(database)
    start = worker_rss(celery_worker)
    record_figure("worker RSS at start", round(start / mib, 1), "MiB")
    run_jobs(web.url, key, database, user_id, WARM_UP_JOBS)
    warm = worker_rss(celery_worker)
    record_figure(f"worker RSS after {WARM_UP_JOBS} jobs (warm-up)", round(warm / mib, 1), "MiB")
    checkpoints = sorted({*range(100, MEMORY_JOBS + 1, 100), MEMORY_JOBS})  # a curve, not 2 dots
    done, readings = WARM_UP_JOBS, []
    for checkpoint in checkpoints:
        run_jobs(web.url, key, database, user_id, checkpoint - done)
        done = checkpoint
        readings.append(worker_rss(celery_worker))
        record_figure(f"worker RSS after {checkpoint} jobs", round(readings[-1] / mib, 1), "MiB")
    growth = max(readings) / warm - 1
    record_figure("worker RSS growth after warm-up", round(growth * 100, 1), "%")
    if len(readings) > 1:  # the steady state: from 100 jobs on
        late = round((readings[-1] / readings[0] - 1) * 100, 1)
        record_figure(f"worker RSS growth from 100 to {MEMORY_JOBS} jobs", late, "%")

    assert count_jobs(database, [user_id], ["done"]) == MEMORY_JOBS, celery_worker.log_tail()
    assert growth < MAX_GROWTH, (f"worker RSS grew {growth:.0%} after warm-up: "
                                 f"{[round(r / mib) for r in readings]} MiB")


@dataclass
class ClientRun:
    """What one load client saw."""

    posted: list[str] = field(default_factory=list)
    post_codes: list[int] = field(default_factory=list)
    post_ms: list[float] = field(default_factory=list)
    get_ms: list[float] = field(default_factory=list)
    final: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def load_client(url: str, key: str, number: int, start: threading.Barrier,
                deadline: float) -> ClientRun:
    """Submit this client's jobs as fast as it can, then poll its list until they all ended."""
    run = ClientRun()
    with client(key, number) as http:
        start.wait()
        try:
            for _ in range(JOBS_PER_CLIENT):
                response, ms = submit(http, url, {"text": short_text(), "voice": "male"})
                run.post_codes.append(response.status_code)
                run.post_ms.append(ms)
                if response.status_code == 202:
                    run.posted.append(response.json()["id"])
            while time.monotonic() < deadline:
                run.final, latencies = listed(http, url)
                run.get_ms += latencies
                if all(run.final.get(job_id) in TERMINAL for job_id in run.posted):
                    break
                time.sleep(POLL_SECONDS)
        except (requests.RequestException, AssertionError) as error:  # reported, not raised
            run.errors.append(f"client {number}: {type(error).__name__}: {error}")
    return run


def test_jobs_from_many_clients_all_finish_once(web, database, celery_worker, media_folder,
                                                record_figure):
    """50 clients submit 4 short narrations each at once: all done, none lost or duplicated."""
    total = CLIENTS * JOBS_PER_CLIENT
    accounts = [new_user(database) for _ in range(CLIENTS)]
    start = threading.Barrier(CLIENTS)
    began, began_at = time.monotonic(), datetime.now(UTC)
    deadline = began + 60 + total * SECONDS_PER_JOB
    with ThreadPoolExecutor(CLIENTS) as pool:
        runs = list(pool.map(lambda n: load_client(web.url, accounts[n][1], n, start, deadline),
                             range(CLIENTS)))
    seen_all = time.monotonic() - began

    post_ms = [ms for run in runs for ms in run.post_ms]
    get_ms = [ms for run in runs for ms in run.get_ms]
    ids = [job_id for run in runs for job_id in run.posted]
    statuses = [run.final.get(job_id) for run in runs for job_id in run.posted]
    record_figure("clients", CLIENTS)
    record_figure("jobs submitted", total)
    record_figure("jobs accepted (202)", len(ids))
    record_figure("jobs done", statuses.count("done"))
    record_figure("POST latency p50", percentile_ms(post_ms, 50), "ms")
    record_figure("POST latency p99", percentile_ms(post_ms, 99), "ms")
    record_figure("GET latency p50", percentile_ms(get_ms, 50), "ms")
    record_figure("GET latency p99", percentile_ms(get_ms, 99), "ms")
    record_figure("GET requests", len(get_ms))
    user_ids = [user_id for user_id, _ in accounts]
    wall = (last_finished(database, user_ids) - began_at).total_seconds()
    record_figure("wall time (first POST to last job done)", round(wall, 1), "s")
    record_figure("wall time until every client saw its jobs end", round(seen_all, 1), "s")
    record_figure("throughput", round(total / wall * 60, 1), "jobs/min")

    errors = [error for run in runs for error in run.errors]
    assert errors == [], f"{errors[:5]}\n{web.log_tail('web')}"
    assert [code for run in runs for code in run.post_codes] == [202] * total
    assert len(set(ids)) == total, "a job id was handed out twice"
    for run in runs:  # each client's list holds exactly its own jobs, all of them
        assert set(run.final) == set(run.posted)
    assert statuses == ["done"] * total, celery_worker.log_tail()
    assert count_jobs(database, user_ids) == count_jobs(database, user_ids, ["done"]) == total
    missing = [i for i in ids if not (media_folder / "narrations" / i / "audio.mp3").is_file()]
    assert missing == []


def vtt_cues(text: str) -> list[str]:
    """The cue texts of a WebVTT transcript, in order."""
    blocks = [block.splitlines() for block in text.strip().split("\n\n")[1:]]
    return [" ".join(lines[2:]) for lines in blocks]


def marker_narration(marker: str) -> tuple[dict, list[str]]:
    """A request whose every spoken line names `marker`, and the sentences it must speak."""
    sentences = [f"This narration is about the {marker} alone.",
                 f"Only the {marker} belongs in this recording."]
    return {"title": f"The {marker}", "text": " ".join(sentences), "voice": "male"}, sentences


def test_two_users_at_once_get_only_their_own_narrations(web, database, celery_worker):
    """Users A and B submit 12 narrations each at the same time; no output mixes them."""
    per_user = 12
    (_, key_a), (_, key_b) = new_user(database), new_user(database)
    plan = list(zip([key_a] * per_user + [key_b] * per_user, MARKERS))
    start = threading.Barrier(len(plan))

    def post(entry):
        key, marker = entry
        body, sentences = marker_narration(marker)
        with client(key, 0 if key == key_a else 1) as http:
            start.wait()
            response, _ = submit(http, web.url, body)
        assert response.status_code == 202, response.text
        return key, marker, sentences, response.json()["id"]

    with ThreadPoolExecutor(len(plan)) as pool:
        submitted = list(pool.map(post, plan))
    with client(key_a, 0) as http_a, client(key_b, 1) as http_b:
        sessions = {key_a: http_a, key_b: http_b}
        wait_until(lambda: all(status in TERMINAL for http in sessions.values()
                               for status in listed(http, web.url)[0].values()),
                   60 + len(plan) * SECONDS_PER_JOB, "both users' jobs to end", interval=1)
        for key, http in sessions.items():  # each list shows that user's jobs and no others
            assert set(listed(http, web.url)[0]) == {i for k, _, _, i in submitted if k == key}
        for key, marker, sentences, job_id in submitted:
            others = [m for _, m, _, _ in submitted if m != marker]
            check_own_outputs(sessions[key], f"{web.url}/api/v1/narrations/{job_id}", marker,
                              sentences, others)
            stranger = sessions[key_b if key == key_a else key_a]
            assert stranger.get(f"{web.url}/api/v1/narrations/{job_id}").status_code == 404


def check_own_outputs(http: requests.Session, job_url: str, marker: str, sentences: list[str],
                      others: list[str]) -> None:
    """The job's transcript speaks its sentences and only them; its MP3 carries its own title."""
    job = http.get(job_url, timeout=30).json()
    assert job["status"] == "done", job
    cues = vtt_cues(http.get(job["links"]["transcript"], timeout=30).text)
    assert cues[-len(sentences):] == sentences, cues
    assert all(re.search(rf"\b{marker}\b", cue) for cue in cues), cues  # the spoken title too
    spoken = " ".join(cues)
    assert [m for m in others if re.search(rf"\b{m}\b", spoken)] == [], cues
    tags = ID3(io.BytesIO(http.get(job["links"]["audio"], timeout=30).content))
    assert str(tags["TIT2"]) == f"The {marker}"
