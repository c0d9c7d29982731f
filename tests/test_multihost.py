"""Issue 12, across hosts: the Procfile deployment on seven hosts, one of them cut off mid-chapter.

Each host is a network namespace on one private bridge (tests/netns.py): the web process
(gunicorn, the Procfile's `web` line), two worker hosts (the Procfile's `worker` line, each with
its own hostname and data folder), Redis (with a password), PostgreSQL, SeaweedFS (S3), and the
client this test speaks from. Jobs go in through the public HTTP API only. While worker-a speaks
a chapter, its cable is pulled (link down at the switch: its packets vanish, as in a network
partition); the other host must finish every job through the watchdog. Then the cable goes back
in and worker-a comes back with its half-done chapter: nothing it does may change what was
published. Outcomes are read where users and operators see them: the API, the podcast feed,
the MP3 (decoded by ffmpeg), the bucket and the database rows.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import feedparser
import psycopg
import pytest
import requests
from psycopg.sql import Literal

from cli.embedded import EmbeddedRedis
from tests.checks import decode
from tests.conftest_service import REPO, wait_until
from tests.netns import Host, Network, require_netns
from tests.servers import (
    BUCKET,
    PostgresServer,
    SeaweedServer,
    ensure_postgres,
    start_seaweed_or_skip,
)

pytestmark = [pytest.mark.multihost, pytest.mark.slow]

JOBS = 4
WORKERS = ("worker-a", "worker-b")
CUT = "worker-a"
WEB_PORT = "8000"
MEDIA_PREFIX = "multihost"
STALL_TIMEOUT = 15
"""NARRATOR_STALL_TIMEOUT: the watchdog re-queues a silent job within ~1.5 of these seconds.
Short for the test; long enough that no healthy job on a busy machine looks stalled."""
SETTINGS = {
    "NARRATOR_STALL_TIMEOUT": str(STALL_TIMEOUT),
    # Production's order of timeouts (stall < task time limit < visibility timeout), scaled down:
    # the watchdog, not Redis's redelivery, rescues the cut-off chapter.
    "NARRATOR_TASK_TIME_LIMIT": "240",
    "NARRATOR_VISIBILITY_TIMEOUT": "300",
    "NARRATOR_ENGINE_THREADS": "1",
}
IDLE_IN_TRANSACTION_TIMEOUT = "10s"
"""A worker cut off inside a transaction keeps its row locks until PostgreSQL drops the session;
without this limit the watchdog waits on that lock for hours (see docs/deploy.md)."""
MP3_RATE = 44100
"""Episodes are mono 44.1 kHz (README)."""
DURATION_TOLERANCE = 0.05
START_TIMEOUT = 90.0
SETTLE_TIMEOUT = 180.0
"""Seconds worker-a may take to finish with its chapter once back: its TCP connections resend
with exponential backoff, so it hears the network again up to about one cut length later."""
LINES = ["the keeper climbed the stairs to the lamp", "the glass was cleaned and the wick trimmed",
         "a ship passed far out beyond the reef", "the fog horn sounded twice in the dark",
         "gulls slept on the black rocks below", "the tide turned an hour before midnight",
         "rain came in sideways from the west", "the log book was filled in by candle",
         "a bell rang somewhere along the coast", "the wind dropped before the dawn watch",
         "the keeper's tea went cold on the sill", "dawn came up grey over the water"]


def narration(number: int, feed_id: str) -> dict:
    """A two-chapter body, different per job (each host has its own sentence cache): a long
    first chapter, so that a cut lands mid-chapter, and a short second one."""
    return {"title": f"Harbour night {number}", "voice": "male", "feed": feed_id, "chapters": [
        {"title": "Night", "text": " ".join(f"On night {number}, {line}." for line in LINES)},
        {"title": "Morning", "text": f"Morning {number} came. The keeper slept. The lamp was out."},
    ]}


@dataclass
class Cluster:
    """The running layout, seen from the client host."""

    network: Network
    hosts: dict[str, Host]
    url: str
    http: requests.Session
    database_url: str
    seaweed: SeaweedServer
    probe: object
    """A Celery app on the cluster's Redis, to ask the workers what they are doing."""
    folder: Path

    def log_tail(self, role: str, lines: int = 40) -> str:
        text = (self.folder / f"{role}.log").read_text(errors="replace")
        return f"--- {role} log ---\n" + "\n".join(text.splitlines()[-lines:])

    def query(self, sql: str, *params) -> list[tuple]:
        """Rows straight from the job database (PostgreSQL on its own host)."""
        with psycopg.connect(self.database_url, connect_timeout=10) as connection:
            return connection.execute(sql, params).fetchall()

    def narrations(self) -> dict[str, dict]:
        """Every narration of the user, by id, from the public API."""
        answer = self.http.get(f"{self.url}/api/v1/narrations", params={"limit": 100}, timeout=30)
        assert answer.status_code == 200, answer.text
        return {view["id"]: view for view in answer.json()["narrations"]}

    def objects(self) -> dict[str, tuple]:
        """Every object under the media prefix: key -> (ETag, size, last modified)."""
        client, found = self.seaweed_client(), {}
        for page in client.get_paginator("list_objects_v2").paginate(
                Bucket=BUCKET, Prefix=f"{MEDIA_PREFIX}/"):
            for item in page.get("Contents", []):
                found[item["Key"]] = (item["ETag"], item["Size"], item["LastModified"])
        return found

    def seaweed_client(self):
        import boto3
        from botocore.config import Config

        env = self.seaweed.env()
        return boto3.client("s3", endpoint_url=env["S3_ENDPOINT_URL"],
                            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
                            region_name=env["AWS_DEFAULT_REGION"],
                            config=Config(s3={"addressing_style": "path"}))

    def workers_idle(self) -> bool:
        """Both workers answer and hold no task (running, reserved or waiting for a retry), and
        no task waits in the queue."""
        nodes = [f"celery@{role}" for role in WORKERS]
        inspect = self.probe.control.inspect(destination=nodes, timeout=2.0)
        for ask in (inspect.active, inspect.reserved, inspect.scheduled):
            answer = ask() or {}
            if set(answer) != set(nodes) or any(answer.values()):
                return False
        with self.probe.connection_for_read() as connection:
            try:
                waiting = connection.default_channel.queue_declare("celery", passive=True)
            except connection.channel_errors:
                return True  # Redis drops an empty queue's key
            return waiting.message_count == 0


def procfile() -> dict[str, str]:
    """The Procfile's process types and commands."""
    lines = (REPO / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip() and not line.startswith("#"))


def host_env(common: dict[str, str], folder: Path, role: str) -> dict[str, str]:
    """A host's environment: the shared settings, its own data folder, this checkout's code."""
    data = folder / f"{role}-data"
    data.mkdir()
    return {"PATH": f"{Path(sys.executable).parent}:/usr/sbin:/usr/bin:/sbin:/bin",
            "PYTHONPATH": str(REPO), "HOME": str(data), "LANG": "C.UTF-8",
            "NARRATOR_DATA_DIR": str(data), "PORT": WEB_PORT, **common}


def start_servers(stack: ExitStack, network: Network, hosts: dict[str, Host],
                  folder: Path) -> tuple[dict[str, str], SeaweedServer]:
    """Redis, PostgreSQL and SeaweedFS, each started on its own host and stopped with `stack`;
    (the settings that reach them, the SeaweedFS server)."""
    redis = EmbeddedRedis(folder / "redis", persistent=False, host=hosts["redis"].address,
                          port=6379)
    with network.inside(hosts["redis"]):
        redis.start()
    stack.callback(redis.stop)
    pg_folder = Path(tempfile.mkdtemp(prefix="narrator-pg-"))  # reachable by the postgres user
    stack.callback(shutil.rmtree, pg_folder, ignore_errors=True)
    postgres = PostgresServer(pg_folder, host=hosts["postgres"].address)
    with network.inside(hosts["postgres"]):
        postgres.start()
    stack.callback(postgres.stop)
    postgres.execute("ALTER SYSTEM SET idle_in_transaction_session_timeout = {}",
                     Literal(IDLE_IN_TRANSACTION_TIMEOUT))
    postgres.execute("SELECT pg_reload_conf()")
    (folder / "s3").mkdir()
    with network.inside(hosts["s3"]):
        seaweed = start_seaweed_or_skip(folder / "s3", host=hosts["s3"].address)
    stack.callback(seaweed.stop)
    return {"REDIS_URL": redis.url, "DATABASE_URL": postgres.create_database(),
            "MEDIA_URL": seaweed.media_url(MEDIA_PREFIX), **seaweed.env(), **SETTINGS}, seaweed


def start_procfile(network: Network, hosts: dict[str, Host], common: dict[str, str],
                   folder: Path) -> dict[str, subprocess.Popen]:
    """The Procfile's web line on the web host and its worker line on each worker host, as
    `ip netns exec` runs them; logs in `folder`/<role>.log."""
    commands = procfile()
    processes = {"web": network.spawn(hosts["web"], ["sh", "-c", commands["web"]],
                                      host_env(common, folder, "web"), folder / "web.log")}
    for role in WORKERS:
        # One pool process per worker host: two hosts on a 2-core machine shared with others.
        processes[role] = network.spawn(hosts[role],
                                        ["sh", "-c", commands["worker"] + " --concurrency 1"],
                                        host_env(common, folder, role), folder / f"{role}.log")
    return processes


def wait_until_serving(url: str, processes: dict[str, subprocess.Popen], folder: Path) -> None:
    """Until gunicorn answers and every Celery worker says it is ready (from the client host)."""
    def alive(role: str) -> str:
        log = (folder / f"{role}.log").read_text(errors="replace")
        assert processes[role].poll() is None, f"{role} exited:\n{log[-3000:]}"
        return log

    def web_answers() -> bool:
        alive("web")
        try:
            return requests.get(f"{url}/api/v1/voices", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    wait_until(web_answers, START_TIMEOUT, "gunicorn on the web host to answer", interval=0.2)
    for role in WORKERS:
        wait_until(lambda role=role: f"celery@{role} ready." in alive(role), START_TIMEOUT,
                   f"the Celery worker on {role} to be ready")


@pytest.fixture
def cluster(tmp_path):
    """Seven hosts running the Procfile deployment; the test body runs on the client host.

    Everything (processes, servers, namespaces) is torn down when the test ends, failed or not.
    """
    require_netns()
    ensure_postgres()
    from celery import Celery

    with ExitStack() as stack:
        network = stack.enter_context(Network())
        hosts = {role: network.add_host(role) for role in
                 ("redis", "postgres", "s3", "web", *WORKERS, "client")}
        common, seaweed = start_servers(stack, network, hosts, tmp_path)
        stack.callback(network.stop_processes)  # before the servers they use stop
        processes = start_procfile(network, hosts, common, tmp_path)
        stack.enter_context(network.inside(hosts["client"]))
        url = f"http://{hosts['web'].address}:{WEB_PORT}"
        wait_until_serving(url, processes, tmp_path)
        made = network.run(hosts["web"], ["narrator", "users", "create", "across-hosts"],
                           host_env(common, tmp_path, "cli"))
        assert made.returncode == 0, made.stdout + made.stderr
        key = re.search(r"\bnk_\S+", made.stdout).group(0)  # the key `users create` printed
        http = stack.enter_context(requests.Session())
        http.headers["Authorization"] = f"Bearer {key}"
        probe = Celery("multihost-probe", broker=common["REDIS_URL"], set_as_current=False)
        stack.callback(probe.close)
        database_url = common["DATABASE_URL"].replace("postgresql+psycopg://", "postgresql://")
        yield Cluster(network, hosts, url, http, database_url, seaweed, probe, tmp_path)


def chapter_mid_way(cluster: Cluster, role: str) -> tuple | None:
    """(job id, chapter index, sentences done, sentences total) of a chapter `role` is speaking,
    with at least one sentence spoken and four to go, or None."""
    rows = cluster.query(
        'SELECT job_id, "index", sentences_done, sentences_total FROM job_parts '
        "WHERE status = 'running' AND worker LIKE %s", f"{role}:%")
    return next((row for row in rows if 1 <= row[2] <= row[3] - 4), None)


def snapshot(cluster: Cluster, feed_url: str) -> dict:
    """Everything a worker could publish or change: objects, job and feed rows, MP3 bytes and
    the rendered podcast feed's episodes."""
    views = cluster.narrations()
    mp3s = {job_id: hashlib.sha256(cluster.http.get(view["links"]["audio"], timeout=60).content)
            .hexdigest() for job_id, view in views.items() if view["status"] == "done"}
    feed = feedparser.parse(requests.get(feed_url, timeout=30).content)
    return {
        "objects": cluster.objects(),
        "jobs": cluster.query("SELECT id, status, duration, mp3_size, finished_at FROM jobs "
                              "ORDER BY id"),
        "feed rows": cluster.query("SELECT feed_id, job_id, number, published_at "
                                   "FROM feed_entries ORDER BY job_id"),
        "mp3 sha256": mp3s,
        "feed episodes": sorted((entry.id, entry.enclosures[0].href) for entry in feed.entries),
    }


def differences(before: dict, after: dict) -> list[str]:
    """What changed between two snapshots, one line per object or item."""
    lines = []
    for name in before:
        old, new = before[name], after[name]
        if old == new:
            continue
        if isinstance(old, dict):
            for key in sorted(set(old) | set(new)):
                if old.get(key) != new.get(key):
                    lines.append(f"{name}: {key}: {old.get(key)} -> {new.get(key)}")
        else:
            lines.append(f"{name}: {old} -> {new}")
    return lines


def check_episode(cluster: Cluster, view: dict, folder: Path) -> None:
    """The finished narration's MP3 decodes (ffmpeg) to the length the API reports."""
    answer = cluster.http.get(view["links"]["audio"], timeout=60)
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "audio/mpeg"
    path = folder / f"{view['id']}.mp3"
    path.write_bytes(answer.content)
    samples = decode(path)
    assert abs(len(samples) / MP3_RATE - view["duration"]) <= DURATION_TOLERANCE, view
    assert samples.std() > 100, "the episode is silent"


def test_a_worker_host_cut_off_mid_chapter_loses_nothing_and_publishes_nothing_twice(
        cluster, tmp_path, record_figure):
    began = time.monotonic()
    made = cluster.http.post(f"{cluster.url}/api/v1/feeds", json={"title": "Across hosts"},
                             timeout=30)
    assert made.status_code == 201, made.text
    feed = made.json()
    submitted = []
    for number in range(JOBS):
        answer = cluster.http.post(f"{cluster.url}/api/v1/narrations",
                                   json=narration(number + 1, feed["id"]), timeout=30)
        assert answer.status_code == 202, answer.text
        submitted.append(answer.json()["id"])

    job_id, index, spoken, total = wait_until(
        lambda: chapter_mid_way(cluster, CUT), 90, f"{CUT} to be mid-chapter\n"
        f"{cluster.log_tail(CUT)}", interval=0.05)
    cluster.network.cut(cluster.hosts[CUT])
    cut_at = time.monotonic()
    print(f"cut {CUT} off while it spoke sentence {spoken + 1} of {total} of chapter {index} "
          f"of job {job_id}")

    done_at: dict[str, float] = {}

    def all_ended() -> bool:
        for view in cluster.narrations().values():
            if view["status"] in ("done", "failed", "canceled"):
                done_at.setdefault(view["id"], time.monotonic())
        return len(done_at) == JOBS

    wait_until(all_ended, 240, "every job to end while worker-a is cut off\n"
               f"{cluster.log_tail('worker-b')}", interval=0.5)
    views = cluster.narrations()
    assert sorted(views) == sorted(submitted), "a narration is missing or one too many"
    assert {view["status"] for view in views.values()} == {"done"}, views
    for view in views.values():
        check_episode(cluster, view, tmp_path)
    # The interrupted chapter was spoken again, to the end, by the other host.
    [(finisher,)] = cluster.query('SELECT worker FROM job_parts WHERE job_id = %s AND '
                                  '"index" = %s', job_id, index)
    assert finisher.startswith("worker-b:"), finisher
    episodes = cluster.http.get(feed["links"]["episodes"], timeout=30).json()["episodes"]
    assert sorted(entry["narration"] for entry in episodes) == sorted(submitted)
    before = snapshot(cluster, feed["url"])
    assert sorted(href.split("/")[-2] for _, href in before["feed episodes"]) == sorted(submitted)
    assert len(before["jobs"]) == JOBS and len(before["feed rows"]) == JOBS
    assert [key for key in before["objects"] if key.endswith("/audio.mp3")] == sorted(
        f"{MEDIA_PREFIX}/narrations/{job}/audio.mp3" for job in submitted)
    assert not [key for key in before["objects"] if "/parts/" in key], "chapter parts left over"
    uploads = cluster.seaweed_client().list_multipart_uploads(Bucket=BUCKET)
    assert not uploads.get("Uploads"), "an unfinished upload is left"

    cluster.network.mend(cluster.hosts[CUT])
    mended_at = time.monotonic()
    wait_until(cluster.workers_idle, SETTLE_TIMEOUT, f"{CUT} to be back and idle\n"
               f"{cluster.log_tail(CUT)}", interval=1.0)
    settled_at = time.monotonic()
    time.sleep(2)  # anything still on its way from the returning host lands now
    after = snapshot(cluster, feed["url"])
    changed = differences(before, after)
    assert not changed, "after worker-a came back:\n" + "\n".join(changed)
    assert cluster.workers_idle()

    requeued = cluster.query("SELECT count(*) FROM jobs WHERE attempts > 1")[0][0]
    record_figure("across hosts: hosts (network namespaces on one bridge)", len(cluster.hosts))
    record_figure("across hosts: jobs submitted", JOBS)
    record_figure("across hosts: jobs done, one valid MP3 and one feed episode each",
                  sum(view["status"] == "done" for view in views.values()))
    record_figure(f"across hosts: {CUT} cut off at sentence", f"{spoken + 1} of {total}")
    record_figure("across hosts: stall timeout", STALL_TIMEOUT, "s")
    record_figure("across hosts: cut to the interrupted job done",
                  round(done_at[job_id] - cut_at, 1), "s")
    record_figure("across hosts: cut to every job done", round(max(done_at.values()) - cut_at, 1),
                  "s")
    record_figure("across hosts: jobs re-queued by the watchdog", requeued)
    record_figure("across hosts: link down for", round(mended_at - cut_at, 1), "s")
    record_figure(f"across hosts: link up to {CUT} back and idle",
                  round(settled_at - mended_at, 1), "s")
    record_figure("across hosts: objects, rows, MP3s or feed episodes changed after the return",
                  len(changed))
    record_figure("across hosts: whole run, set-up excluded", round(time.monotonic() - began, 1),
                  "s")
