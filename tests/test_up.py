"""`narrator up` as a newcomer runs it: one command, a narration over HTTP, Ctrl-C, a second start.

Its console shows the sign-in link, key and feed, then a line per job event; what the processes
print goes to the log file it names.
"""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from datetime import timedelta
from pathlib import Path

import psutil
import pytest

from cli.embedded import free_port
from tests.servers import serving
from cli.job_events import JobEvents
from state.db import Database
from state.models import Job, JobPart, utcnow

ROOT = Path(__file__).resolve().parents[1]


class Up:
    """A running `narrator up` and the URL it printed."""

    def __init__(self, data_dir: Path, **settings: str):
        self.port = free_port()
        env = {k: v for k, v in os.environ.items()
               if k not in ("REDIS_URL", "DATABASE_URL", "MEDIA_URL", "NARRATOR_VOICES_FILE")}
        env.update(NARRATOR_DATA_DIR=str(data_dir), PYTHONPATH=str(ROOT), **settings)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cli", "up", "--port", str(self.port), "--workers", "1"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.output: list[str] = []
        banner = self._read_banner()
        page = banner["open the page"]
        self.url, self.key = page.split("/#key=")
        self.feed_url = banner["podcast feed"]
        self.log_file = Path(re.search(r"logs in (\S+) ", self.console()).group(1))
        # The rest of the console, as it comes (the pipe must be drained, or `up` would block).
        self.reader = threading.Thread(target=lambda: self.output.extend(self.process.stdout),
                                       daemon=True)
        self.reader.start()

    def _read_banner(self) -> dict[str, str]:
        """The lines `narrator up` prints for the user: label → value."""
        banner = {}
        for line in self.process.stdout:
            self.output.append(line)
            label, colon, value = line.strip().partition(":")
            if colon and label in ("open the page", "API key", "podcast feed"):
                banner[label] = value.split()[0]
            if len(banner) == 3:
                return banner
        pytest.fail("narrator up exited before printing its banner:\n" + "".join(self.output[-30:]))

    def console(self) -> str:
        """What `narrator up` printed on its console so far."""
        return "".join(self.output)

    def log(self) -> str:
        """What the processes (Redis, Celery, gunicorn) wrote to the log file."""
        return self.log_file.read_text(errors="replace")

    def wait_for_line(self, pattern: str, timeout: float = 15) -> str:
        """The first console line matching the regular expression, once it is printed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(f"^.*{pattern}.*$", self.console(), re.MULTILINE)
            if found:
                return found.group(0)
            time.sleep(0.2)
        pytest.fail(f"no console line matched {pattern!r}:\n{self.console()}")

    def open(self, url: str):
        """GET a URL as a podcast app or browser would: no key."""
        return urllib.request.urlopen(url, timeout=30)

    def request(self, method: str, path: str, body: dict | None = None) -> dict:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + path, data=data, method=method,
                                         headers={"Content-Type": "application/json",
                                                  "Authorization": f"Bearer {self.key}"})
        deadline = time.monotonic() + 60
        while True:  # gunicorn may still be binding its port right after the banner
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    return json.load(response)
            except urllib.error.URLError as error:
                if isinstance(error, urllib.error.HTTPError) or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def stop(self) -> list[psutil.Process]:
        """Ctrl-C; returns the descendants that outlived it (there should be none)."""
        children = psutil.Process(self.process.pid).children(recursive=True)
        self.process.send_signal(signal.SIGINT)
        self.process.wait(60)
        self.reader.join(30)  # until the pipe closes, as the processes exit
        _, alive = psutil.wait_procs(children, timeout=15)
        for process in alive:
            process.kill()
        return alive


def wait_for_status(up: Up, job_id: str, timeout: float = 240) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = up.request("GET", f"/api/v1/narrations/{job_id}")
        if job["status"] in ("done", "failed", "canceled"):
            return job
        time.sleep(0.5)
    pytest.fail(f"job {job_id} did not finish in {timeout} s")


CONSOLE_LINES = [  # everything `narrator up` may print on its console in a calm run
    r"narrator: running as root, .* run it as an ordinary user\.",
    r"narrator is up \(\d worker process(es)?; Ctrl-C stops\); logs in \S+ \(--verbose shows them here\)",
    r"  open the page: +http://\S+/#key=nk_\S+",
    r"  API key: +nk_\S+  \(kept in \S+\)",
    r"  podcast feed: +http://\S+/feeds/\S+\.xml",
    r"\d\d:\d\d:\d\d  job [0-9a-f]{8} .*",
    r"\d\d:\d\d:\d\d  warning: .*",
    r"narrator: stopping\.",
]


def processes_of(up: Up, word: str) -> list[psutil.Process]:
    """`up`'s descendants whose command line holds the word."""
    return [child for child in psutil.Process(up.process.pid).children(recursive=True)
            if word in " ".join(child.cmdline())]


REVIEW_PAGE = (b"<!doctype html><html><head><title>Tides | Film Notes</title></head><body>"
               b"<nav>Home | Reviews | Subscribe</nav><article><h1>Tides</h1>"
               b"<p>The film follows the tide for two hours, and it never once gets dull.</p>"
               b"<h2>Verdict</h2><p>See it on the biggest screen you can find.</p></article>"
               b"<footer>Cookie settings. Share this review.</footer></body></html>")


@pytest.mark.slow
def test_one_command_runs_everything_and_a_second_start_keeps_the_data(tmp_path):
    up = Up(tmp_path / "data")
    try:
        redis_url = next(child.environ()["REDIS_URL"]
                         for child in psutil.Process(up.process.pid).children(recursive=True)
                         if "REDIS_URL" in child.environ())
        redis_password = redis_url.split("://:", 1)[1].split("@", 1)[0]
        # Workers yield the CPU to the web process, so the page answers while they synthesize.
        web_nice = {process.nice() for process in processes_of(up, "gunicorn")}
        worker_nice = {process.nice() for process in processes_of(up, "celery")}
        assert web_nice and worker_nice and min(worker_nice) > max(web_nice), (web_nice, worker_nice)
        voices = up.request("GET", "/api/v1/voices")
        assert "male" in json.dumps(voices)
        job = up.request("POST", "/api/v1/narrations", {
            "title": "Up", "text": "First part\n\nIt starts here.\n\nSecond part\n\nIt ends here.",
            "voice": "male"})
        done = wait_for_status(up, job["id"])
        assert done["status"] == "done", done
        audio = urllib.request.Request(up.url + f"/api/v1/narrations/{job['id']}/audio.mp3",
                                       headers={"Authorization": f"Bearer {up.key}"})
        with urllib.request.urlopen(audio) as mp3:
            assert mp3.headers["Content-Type"] == "audio/mpeg" and len(mp3.read()) > 1000
        with up.open(up.feed_url) as feed:  # the local user's default feed, no key needed
            assert job["id"] in feed.read().decode()
        # One console line per event of the job, in order, with the length and the time taken.
        name = f"job {job['id'][:8]} “Up”"
        finished = up.wait_for_line(f"{name} done: ")
        events = [line.split("  ", 1)[1] for line in up.console().splitlines()
                  if name in line]
        assert events[0].startswith(f"{name} accepted (")
        assert events[1:3] == [f"{name} chapter 1/2 done: First part ({clock(c['duration'])})"
                               for c in done["chapters"][:1]] + \
                              [f"{name} chapter 2/2 done: Second part ({clock(done['chapters'][1]['duration'])})"]
        assert events[3] == finished.split("  ", 1)[1] and len(events) == 4, events
        assert re.fullmatch(rf"{re.escape(name)} done: {clock(done['duration'])} of audio in \d+ s",
                            events[3]), events[3]
    finally:
        leftovers = up.stop()
    assert leftovers == [], f"processes outlived Ctrl-C: {leftovers}"
    assert up.process.returncode == 0
    console = up.console().splitlines()
    strays = [line for line in console if not any(re.fullmatch(p, line) for p in CONSOLE_LINES)]
    assert strays == [], "the console shows more than the banner and job events"
    assert sum("running as root" in line for line in console) == (os.geteuid() == 0)
    # What the processes print is in the log file: the access log, Celery, no banner, no warning block.
    log = up.log()
    token = up.feed_url.rsplit("/", 1)[1].removesuffix(".xml")
    assert "GET /feeds/[token].xml" in log  # the access log has the request, not the token
    assert "celery@" in log and "ready." in log
    assert " -------------- " not in log and "superuser privileges" not in log
    assert token not in log and token not in up.console().replace(up.feed_url, "")
    assert redis_password not in log + up.console()  # the worker's banner and logs mask it
    assert up.console().count(up.key) == 2 and up.key not in log  # the banner's two lines
    assert (tmp_path / "data" / "local.key").stat().st_mode & 0o077 == 0

    # Links on this machine are allowed, as a self-hoster on a LAN would allow theirs.
    again = Up(tmp_path / "data", NARRATOR_FETCH_ALLOWED_NETWORKS="127.0.0.0/8")
    try:
        # A worker that dies (Celery's worker can exit on losing Redis) is started again.
        worker = next(child for child in psutil.Process(again.process.pid).children()
                      if "celery" in " ".join(child.cmdline()))
        os.killpg(worker.pid, signal.SIGKILL)
        again.wait_for_line("warning: the worker exited with status -9; starting it again")
        again_job = again.request("POST", "/api/v1/narrations", {"text": "Still here.",
                                                                 "voice": "male"})
        assert wait_for_status(again, again_job["id"])["status"] == "done"
        with serving(REVIEW_PAGE) as link:  # a link: fetched and read by a worker, end to end
            linked = again.request("POST", "/api/v1/narrations", {"url": link, "voice": "male"})
            linked = wait_for_status(again, linked["id"])
        assert linked["status"] == "done", linked
        assert linked["title"] == "Tides" and [c["title"] for c in linked["chapters"]][-1] == "Verdict"
        with again.open(again.feed_url) as feed:
            assert f"<link>{link}</link>" in feed.read().decode()
        # the same user carries on, with the same feed (the port differs between the two starts)
        assert again.key == up.key and again.feed_url.endswith(f"/feeds/{token}.xml")
        listed = again.request("GET", "/api/v1/narrations")
        assert job["id"] in json.dumps(listed)
        again.wait_for_line(f"job {again_job['id'][:8]} done: ")
    finally:
        again.stop()
    assert f"job {job['id'][:8]}" not in again.console(), "a job of the first run is not news"


def test_job_events_say_each_event_once_with_what_a_person_needs(tmp_path):
    """Accepted, each chapter, done with length and time, failed with its reason, canceled;
    jobs from before the start are not announced again."""
    database = Database(f"sqlite:///{tmp_path / 'jobs.db'}")
    database.upgrade()
    said: list[str] = []

    def add_job(title: str, chapters: int, created_at=None) -> str:
        job_id = str(uuid.uuid4())
        with database.session() as session:
            session.add(Job(id=job_id, status="queued", title=title, voice="male", speed=1.0,
                            source="text", document={}, chapters_total=chapters,
                            created_at=created_at or utcnow(), heartbeat_at=utcnow(),
                            parts=[JobPart(index=i, chapter=i, title=f"Part {i + 1}",
                                           status="queued") for i in range(chapters)]))
        return job_id

    def change(job_id: str, chapter: int | None = None, **values) -> None:
        with database.session() as session:
            row = session.get(Job, job_id) if chapter is None else session.get(JobPart, (job_id, chapter))
            for key, value in values.items():
                setattr(row, key, value)

    try:
        old = add_job("Old", 1, created_at=utcnow() - timedelta(hours=1))
        events = JobEvents(database, say=said.append)
        events.poll()
        assert said == [], "a job from before the start is not news"
        first, second = add_job("Her", 2), add_job("", 1)
        events.poll()
        events.poll()  # nothing new: nothing said
        assert said == [f"job {first[:8]} “Her” accepted (male voice, 2 chapters)",
                        f"job {second[:8]} accepted (male voice, 1 chapter)"]
        said.clear()
        change(first, 0, status="done", duration=72.4)
        change(first, status="running", started_at=utcnow())
        change(old, status="canceled")
        events.poll()
        assert said == [f"job {old[:8]} “Old” canceled",
                        f"job {first[:8]} “Her” chapter 1/2 done: Part 1 (1:12)"]
        said.clear()
        created = utcnow() - timedelta(seconds=95)
        change(first, created_at=created)
        change(first, 1, status="done", duration=3725.0)
        change(first, status="done", duration=3797.4, finished_at=created + timedelta(seconds=95))
        change(second, status="failed", error_code="voice_missing",
               error_message="the voice model is not installed; run `make setup`.")
        events.poll()
        events.poll()
        assert said == [f"job {first[:8]} “Her” chapter 2/2 done: Part 2 (1:02:05)",
                        f"job {first[:8]} “Her” done: 1:03:17 of audio in 1 min 35 s",
                        f"job {second[:8]} failed: the voice model is not installed; run `make setup`."]
        assert events.followed == {}, "finished jobs are not read again"
    finally:
        database.dispose()


def clock(seconds: float) -> str:
    """minutes:seconds, as the console prints a length."""
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


@pytest.mark.parametrize("env, message", [
    ({"REDIS_URL": "redis://:secret@127.0.0.1:1/0"}, "REDIS_URL"),
    ({"NARRATOR_BASE_URL": "narrator.example.org"}, "NARRATOR_BASE_URL"),
    ({"DATABASE_URL": "nosuchdb://x"}, "DATABASE_URL"),
    ({"DATABASE_URL": "sqlite:////nonexistent-folder/x.db"}, "DATABASE_URL"),
    ({"MEDIA_URL": "ftp://example.org/media"}, "MEDIA_URL"),
    ({"NARRATOR_VOICES_FILE": "{path}",
      "_voices": '{"aliases": {"female": "nobody"}, "voices": []}'}, "nobody"),
])
def test_a_wrong_setting_stops_start_up_with_one_sentence(tmp_path, env, message):
    voices_json = env.pop("_voices", None)
    if voices_json:
        (tmp_path / "voices.json").write_text(voices_json)
        env = {k: v.format(path=tmp_path / "voices.json") for k, v in env.items()}
    result = subprocess.run(
        [sys.executable, "-m", "cli", "up", "--port", str(free_port())], cwd=ROOT,
        env={**os.environ, "NARRATOR_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(ROOT),
             **env}, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert "secret" not in result.stderr
    assert not redis_servers_in(tmp_path / "data"), "a refused start left Redis running"


def redis_servers_in(folder) -> list[psutil.Process]:
    """redis-server processes keeping their files in `folder` (the embedded Redis does)."""
    found = []
    for process in psutil.process_iter(["name"]):
        try:
            if process.info["name"] == "redis-server" and str(folder) in process.cwd():
                found.append(process)
        except psutil.Error:  # gone meanwhile, or not ours to inspect
            continue
    return found
