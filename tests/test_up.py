"""`narrator up` as a newcomer runs it: one command, a narration over HTTP, Ctrl-C, a second start."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from cli.embedded import free_port

ROOT = Path(__file__).resolve().parents[1]


class Up:
    """A running `narrator up` and the URL it printed."""

    def __init__(self, data_dir: Path):
        self.port = free_port()
        env = {k: v for k, v in os.environ.items()
               if k not in ("REDIS_URL", "DATABASE_URL", "MEDIA_URL", "NARRATOR_VOICES_FILE")}
        env.update(NARRATOR_DATA_DIR=str(data_dir), PYTHONPATH=str(ROOT))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cli", "up", "--port", str(self.port), "--workers", "1"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.output: list[str] = []
        banner = self._read_banner()
        page = banner["open the page"]
        self.url, self.key = page.split("/#key=")
        self.feed_url = banner["podcast feed"]

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

    def log(self) -> str:
        """Everything the processes printed since start (their logs share our pipe)."""
        return "".join(self.output)

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
        self.output.extend(self.process.stdout)  # until the pipe closes, as the processes exit
        self.process.wait(60)
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


def test_one_command_runs_everything_and_a_second_start_keeps_the_data(tmp_path):
    up = Up(tmp_path / "data")
    try:
        redis_url = next(child.environ()["REDIS_URL"]
                         for child in psutil.Process(up.process.pid).children(recursive=True)
                         if "REDIS_URL" in child.environ())
        redis_password = redis_url.split("://:", 1)[1].split("@", 1)[0]
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
    finally:
        leftovers = up.stop()
    assert leftovers == [], f"processes outlived Ctrl-C: {leftovers}"
    assert up.process.returncode == 0
    token = up.feed_url.rsplit("/", 1)[1].removesuffix(".xml")
    assert "GET /feeds/[token].xml" in up.log()  # the access log has the request, not the token
    assert token not in up.log().replace(up.feed_url, "")  # only our banner shows it
    assert redis_password not in up.log()  # the worker's banner and logs mask it
    assert up.log().count(up.key) == 2  # the banner's two lines, and nowhere else
    assert (tmp_path / "data" / "local.key").stat().st_mode & 0o077 == 0

    again = Up(tmp_path / "data")
    try:
        # A worker that dies (Celery's worker can exit on losing Redis) is started again.
        worker = next(child for child in psutil.Process(again.process.pid).children()
                      if "celery" in " ".join(child.cmdline()))
        os.killpg(worker.pid, signal.SIGKILL)
        again_job = again.request("POST", "/api/v1/narrations", {"text": "Still here.",
                                                                 "voice": "male"})
        assert wait_for_status(again, again_job["id"])["status"] == "done"
        # the same user carries on, with the same feed (the port differs between the two starts)
        assert again.key == up.key and again.feed_url.endswith(f"/feeds/{token}.xml")
        listed = again.request("GET", "/api/v1/narrations")
        assert job["id"] in json.dumps(listed)
    finally:
        again.stop()


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
