"""What one hostile key can do to the web process, tried against real gunicorn (as the Procfile
runs it) on a real SQLite file and Redis: event streams, chunked bodies, secrets in logs, files
left readable; and an image that would cost the web process its memory."""

from __future__ import annotations

import struct
import subprocess
import sys
import threading
import time
import uuid
import zlib
from pathlib import Path

import pytest
import requests

from cli.embedded import EmbeddedRedis
from tests.stack import Stack, client, stack_env

pytestmark = pytest.mark.slow
PER_USER, IN_ALL = 3, 8
TEXT = {"title": "A review", "text": "A short review. It is kind.", "voice": "male"}


class HardeningStack(Stack):
    APP = "tests.hardening_app:create()"


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    """gunicorn with small stream caps, no worker: narrations stay queued, so streams stay open."""
    folder = tmp_path_factory.mktemp("hardening")
    with EmbeddedRedis(folder / "redis", persistent=False) as redis:
        env = stack_env(folder, redis.url, NARRATOR_EVENTS_PER_USER=str(PER_USER),
                        NARRATOR_EVENTS_MAX_STREAMS=str(IN_ALL))
        stack = HardeningStack(env, folder)
        try:
            stack.start_web()
            yield stack
        finally:
            stack.close()


def new_user(stack) -> tuple[str, str]:
    """(name, API key) of a fresh user of the stack's database."""
    from state import users
    from state.db import Database

    database = Database(stack.env["DATABASE_URL"])
    try:
        with database.session() as session:
            name = f"user-{uuid.uuid4().hex[:8]}"
            return name, users.create_user(session, name)[1]
    finally:
        database.dispose()


def queued_job(stack, key: str) -> str:
    """The events URL of a narration that stays queued (no worker runs)."""
    answer = client(key).post(f"{stack.url}/api/v1/narrations", json=TEXT, timeout=30)
    assert answer.status_code == 202, answer.text
    return answer.json()["links"]["events"]


def open_stream(url: str, key: str) -> requests.Response:
    return requests.get(url, headers={"Authorization": f"Bearer {key}",
                                      "Accept": "text/event-stream"}, stream=True, timeout=(5, 30))


def timed_get(url: str, **kwargs) -> tuple[int, float]:
    started = time.monotonic()
    answer = requests.get(url, timeout=10, **kwargs)
    return answer.status_code, time.monotonic() - started


def test_event_streams_are_capped_and_never_starve_ordinary_requests(web, record_figure):
    streams: list[requests.Response] = []
    try:
        keys = [new_user(web)[1] for _ in range(4)]
        urls = [queued_job(web, key) for key in keys]
        for _ in range(PER_USER):  # one key opens as many as it may
            streams.append(open_stream(urls[0], keys[0]))
        assert [s.status_code for s in streams] == [200] * PER_USER
        refused = open_stream(urls[0], keys[0])
        assert refused.status_code == 429, refused.text
        error = refused.json()["error"]
        assert error["code"] == "too_many_streams" and f"{PER_USER} at once" in error["message"]
        for key, url in zip(keys[1:3], urls[1:3]):  # others fill the process's share
            streams += [open_stream(url, key) for _ in range(PER_USER)]
        opened = [s for s in streams if s.status_code == 200]
        assert len(opened) == IN_ALL
        busy = [s for s in streams if s.status_code != 200] + [open_stream(urls[3], keys[3])]
        assert {s.status_code for s in busy} == {503}
        assert f"limit of {IN_ALL} event streams" in busy[-1].json()["error"]["message"]

        feed = client(keys[3]).get(f"{web.url}/api/v1/feeds", timeout=10).json()["feeds"][0]
        made = client(keys[3]).post(feed["links"]["token"], timeout=10).json()["url"]
        timings = {}
        for name, url, headers in (("page", f"{web.url}/", {}),
                                   ("voices", f"{web.url}/api/v1/voices", {}),
                                   ("feed", made, {}),
                                   ("narrations", f"{web.url}/api/v1/narrations",
                                    {"Authorization": f"Bearer {keys[0]}"})):
            status, seconds = timed_get(url, headers=headers)
            assert status == 200, name
            timings[name] = seconds
        # Twenty requests at once, as a page load and a few podcast apps would send.
        results, threads = [], [threading.Thread(target=lambda: results.append(
            timed_get(f"{web.url}/api/v1/voices"))) for _ in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        record_figure("streams held open", len(opened))
        record_figure("slowest of 4 ordinary requests", round(max(timings.values()) * 1000), "ms")
        record_figure("slowest of 20 concurrent requests", round(max(s for _, s in results) * 1000),
                      "ms")
        assert [status for status, _ in results] == [200] * 20
        assert max(timings.values()) < 2.0 and max(s for _, s in results) < 5.0
    finally:
        for stream in streams:
            stream.close()


def test_a_revoked_keys_stream_ends_within_seconds(web, record_figure):
    from state import users
    from state.db import Database

    name, key = new_user(web)
    url, waited = queued_job(web, key), time.monotonic()
    # Slots of streams an earlier test closed come back at their next write (a heartbeat).
    while (stream := open_stream(url, key)).status_code == 503:
        assert time.monotonic() - waited < 30, "closed streams never gave their slots back"
        time.sleep(1)
    assert stream.status_code == 200
    lines = stream.iter_lines()
    assert next(lines).startswith(b"retry:")
    database = Database(web.env["DATABASE_URL"])
    with database.session() as session:
        users.revoke_keys(session, users.find_user(session, name))
    database.dispose()
    revoked = time.monotonic()
    for _ in lines:  # progress events, heartbeats: until the server closes the stream
        assert time.monotonic() - revoked < 20, "the stream outlived its key"
    record_figure("stream closed after the key was revoked", round(time.monotonic() - revoked, 1),
                  "s")
    assert time.monotonic() - revoked < 8  # re-checked every 5 s
    assert open_stream(stream.url, key).status_code == 401


def stored_input_chars(stack, job_id: str) -> int:
    """Characters of text the service stored for a job (it reads them later, on a worker)."""
    from state import jobs
    from state.db import Database

    database = Database(stack.env["DATABASE_URL"])
    try:
        with database.session(readonly=True) as session:
            return len(jobs.get_job(session, job_id).request["input"])
    finally:
        database.dispose()


def chunks(total: int, size: int = 64 << 10):
    """A body sent with Transfer-Encoding: chunked (requests does so for a generator)."""
    sentence = b"A sentence to read aloud. "
    sent = 0
    while sent < total:
        part = (sentence * (size // len(sentence) + 1))[:min(size, total - sent)]
        sent += len(part)
        yield part


def test_a_chunked_body_over_the_limit_is_413_not_cut_short(web):
    key = new_user(web)[1]
    url = f"{web.url}/api/v1/narrations?voice=male&title=Chunked"
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "text/plain"}
    small = requests.post(url, data=chunks(20_000), headers=headers, timeout=30)
    assert small.status_code == 202, small.text
    assert stored_input_chars(web, small.json()["id"]) == 20_000  # all of it, not a part
    over = requests.post(url, data=chunks(2 << 20), headers=headers, timeout=30)
    assert over.status_code == 413, over.text[:300]
    assert over.json()["error"]["code"] == "payload_too_large"
    listed = client(key).get(f"{web.url}/api/v1/narrations", timeout=10).json()["narrations"]
    assert len(listed) == 1  # the oversized text was not narrated


def test_no_log_line_carries_a_feed_token_or_key(web):
    """gunicorn logs the path of a response whose body fails ("Error handling request GET
    /feeds/…"); the app logs paths too."""
    token = "Tk" + uuid.uuid4().hex + "secret"
    before = web.web_log.read_text(errors="replace") if web.web_log.exists() else ""
    try:
        assert requests.get(f"{web.url}/feeds/{token}/broken", timeout=10).status_code == 500
    except requests.ConnectionError:
        pass  # gunicorn may close the connection instead
    deadline = time.monotonic() + 10
    while "Error handling request" not in web.web_log.read_text(errors="replace")[len(before):]:
        assert time.monotonic() < deadline, web.log_tail("web")
        time.sleep(0.1)
    written = web.web_log.read_text(errors="replace")[len(before):]
    assert "/feeds/[token]/broken" in written and "a slow store for /feeds/[token]" in written
    assert token not in written and "nk_" + "k" * 40 not in written, written


def huge_png(side: int) -> bytes:
    """A valid grey PNG of side×side pixels, all black: a few hundred KB on disk, side² bytes
    once decoded. Written row by row through zlib, so making it costs no big buffer."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    packer, row, parts = zlib.compressobj(9), b"\0" * (side + 1), []
    for _ in range(side):
        parts.append(packer.compress(row))
    parts.append(packer.flush())
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"".join(parts))
            + chunk(b"IEND", b""))


MEASURE_UPLOAD = """
import resource, sys, time
from service.artwork import checked_artwork
data = open(sys.argv[1], "rb").read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
try:
    checked_artwork(data)
except Exception as error:
    print(type(error).__name__, getattr(error, "status", ""), str(error))
print(time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
"""


def test_a_small_file_declaring_a_huge_image_is_refused_before_decoding(tmp_path, record_figure):
    """9000×9000 px in 80 KB: refused from its header, in milliseconds, without 81 MB of pixels."""
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(huge_png(9000))
    assert bomb.stat().st_size < 400_000
    result = subprocess.run([sys.executable, "-c", MEASURE_UPLOAD, str(bomb)], capture_output=True,
                            text=True, check=True, cwd=Path(__file__).resolve().parents[1])
    refusal, figures = result.stdout.strip().splitlines()
    seconds, grown_kib = float(figures.split()[0]), int(figures.split()[1])
    record_figure("file size", bomb.stat().st_size // 1000, "KB")
    record_figure("time to refuse", round(seconds * 1000, 1), "ms")
    record_figure("peak memory growth", round(grown_kib / 1024, 1), "MiB")
    assert refusal.startswith("ArtworkTooLargeError 413") and "9000×9000" in refusal
    assert "3000×3000" in refusal
    assert seconds < 0.2 and grown_kib < 20 * 1024  # decoding would take 81 MB and seconds


def test_what_the_web_process_creates_is_its_owners_only(web):
    """gunicorn (as the Procfile runs it) made the database and the media folder: 0600 and 0700."""
    import stat
    from pathlib import Path

    database = Path(web.env["DATABASE_URL"].removeprefix("sqlite:///"))
    media = Path(web.env["MEDIA_URL"].removeprefix("file://"))
    assert stat.S_IMODE(database.stat().st_mode) == 0o600
    assert stat.S_IMODE(media.stat().st_mode) == 0o700
