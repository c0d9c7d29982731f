"""A real podcast client for the tests: gPodder's headless CLI `gpo` (Debian package `gpodder`).

`Gpo` keeps one isolated gPodder profile in a folder and runs `gpo` commands against it as
subprocesses of Debian's /usr/bin/python3 (not our venv). Episodes come from `gpo episodes --guid`
(what a user sees), joined with gPodder's own database for what the CLI does not print (the
enclosure URL and the downloaded file). What the parsing relies on was read in gpodder 3.11.1's
/usr/bin/gpo and gpodder/model.py, feedcore.py and download.py.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

GPO = "/usr/bin/gpo"
COMMAND_TIMEOUT = 60.0  # gPodder's own socket timeout is 60 s; a local feed answers in well under 1 s

# `gpo episodes --guid` prints "%3d. GUID STATUS TITLE" with a three-character STATUS (gpo's
# _episodesList); the feed each block belongs to comes in a header line before it.
FEED_HEADER = re.compile(r"^\s*Episodes from (?P<url>\S+):$")
EPISODE_LINE = re.compile(r"^\s*\d+\. (?P<guid>.+?) (?P<mark> [*\u2589\u2591 ] ) (?P<title>.*)$")
STATES = {"*": "new", "\u2589": "downloaded", "\u2591": "deleted", " ": "old"}
# `gpo update` ends each podcast's line with [DONE], [FAIL] or [SKIP] (gpo's _finish_action).
UPDATE_LINE = re.compile(r"^ (?P<title>.*?)\s*\[(?P<result>DONE|FAIL|SKIP)\]$")
NEW_COUNT = re.compile(r"^(?P<count>\d+) new episodes?$", re.MULTILINE)
# The exception gPodder logged for a failed update, e.g. "gpodder.feedcore.NotFound: not found".
FEEDCORE_ERROR = re.compile(r"^(gpodder\.feedcore\.\w+.*|requests\.exceptions\.\w+.*)$", re.MULTILINE)


class GpoError(RuntimeError):
    """A gpo command failed or did not do what it was asked; the message carries gpo's output."""

    def __init__(self, args: list[str], why: str, stdout: str = "", stderr: str = ""):
        self.command, self.why, self.stdout, self.stderr = args, why, stdout, stderr
        super().__init__(f"gpo {' '.join(args)}: {why}\n--- stdout ---\n{_tail(stdout)}\n"
                         f"--- stderr ---\n{_tail(stderr)}")


class FeedUpdateFailed(GpoError):
    """gpo could not update a feed (a 404 for a revoked token, a server error, unparsable XML)."""

    def __init__(self, args: list[str], podcasts: list[str], reason: str, stdout: str, stderr: str):
        self.podcasts, self.reason = podcasts, reason
        super().__init__(args, f"update failed for {podcasts}: {reason}", stdout, stderr)


@dataclass(frozen=True)
class Episode:
    """One episode as gPodder knows it."""

    feed_url: str  # the subscription it belongs to, as gPodder stored it
    guid: str
    title: str
    url: str  # the enclosure URL
    state: str  # gpo's marker: "new", "downloaded", "deleted" or "old" (seen, not downloaded)
    file: Path | None  # the downloaded file, None until downloaded
    size: int  # bytes: the enclosure's length, corrected by gPodder to Content-Length on download
    mime_type: str

    @property
    def downloaded(self) -> bool:
        """Whether gPodder holds this episode's file."""
        return self.state == "downloaded"


def ensure_gpo() -> str:
    """The path of `gpo`: installed once when missing and we are root, else the test skips."""
    found = shutil.which("gpo") or (GPO if os.access(GPO, os.X_OK) else None)
    if found:
        return found
    if os.geteuid() != 0:
        reason = "gpo is missing and installing it needs root (apt-get install gpodder)"
        print(reason)
        pytest.skip(reason)
    return _install_gpodder()


@functools.cache
def _install_gpodder() -> str:
    """apt-get install gpodder, refreshing the package lists only if the first try fails."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "gpodder"]
    result = subprocess.run(install, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, text=True)
        result = subprocess.run(install, env=env, capture_output=True, text=True)
    if result.returncode != 0 or not os.access(GPO, os.X_OK):
        raise RuntimeError(f"apt-get install gpodder failed:\n{result.stdout}\n{result.stderr}")
    return GPO


class Gpo:
    """One isolated gPodder profile under `folder`, driven through the `gpo` command line."""

    def __init__(self, folder: Path, timeout: float = COMMAND_TIMEOUT, executable: str | None = None):
        self.folder = Path(folder)
        self.home = self.folder / "home"  # GPODDER_HOME: settings, Database, Logs
        self.downloads = self.folder / "downloads"  # GPODDER_DOWNLOAD_DIR: one folder per podcast
        self.timeout = timeout
        self.executable = executable or ensure_gpo()
        self.home.mkdir(parents=True, exist_ok=True)
        self.downloads.mkdir(parents=True, exist_ok=True)

    def environment(self) -> dict[str, str]:
        """A clean environment: our venv's variables would leak into Debian's python3, and no
        DISPLAY, D-Bus or proxy variables keeps gpo headless and talking straight to loopback."""
        return {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(self.folder),
                "LANG": "C.UTF-8", "PYTHONIOENCODING": "utf-8",
                "GPODDER_HOME": str(self.home), "GPODDER_DOWNLOAD_DIR": str(self.downloads)}

    def run(self, *args: str) -> subprocess.CompletedProcess:
        """Run one gpo command; GpoError on a timeout or a non-zero exit (an uncaught exception)."""
        command = list(args)
        try:  # no stdin: a feed that asks for a password makes gpo prompt, and it should fail, not hang
            result = subprocess.run([self.executable, *command], env=self.environment(), cwd=self.folder,
                                    stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                    timeout=self.timeout)
        except subprocess.TimeoutExpired as exc:
            raise GpoError(command, f"timed out after {self.timeout} s", _text(exc.stdout),
                           _text(exc.stderr)) from exc
        if result.returncode != 0:
            raise GpoError(command, f"exit code {result.returncode}", result.stdout, result.stderr)
        return result

    def subscribe(self, url: str) -> None:
        """Subscribe to a feed; gpo fetches and parses it now, so a bad feed fails here."""
        result = self.run("subscribe", url)
        if "Successfully added" not in result.stdout:
            raise GpoError(["subscribe", url], "not subscribed", result.stdout, result.stderr)

    def subscriptions(self) -> list[str]:
        """The feed URLs subscribed to, as gPodder stored them (from `gpo list`)."""
        lines = self.run("list").stdout.splitlines()
        return [line for line in lines if line and not line.startswith("# ")]

    def update(self, url: str | None = None) -> int:
        """Check feeds for new episodes and return how many are new; FeedUpdateFailed when gpo
        marks a podcast [FAIL] (it still exits 0 then, and keeps the episodes it had)."""
        args = ["update", *self._subscribed(url)]
        result = self.run(*args)
        lines = [UPDATE_LINE.match(line) for line in result.stdout.splitlines()]
        failed = [line["title"] for line in lines if line and line["result"] == "FAIL"]
        if failed:
            errors = FEEDCORE_ERROR.findall(result.stderr)
            reason = errors[-1] if errors else "see stderr"
            raise FeedUpdateFailed(args, failed, reason, result.stdout, result.stderr)
        counted = NEW_COUNT.search(result.stdout)
        if counted is None:
            raise GpoError(args, "no count of new episodes in the output", result.stdout, result.stderr)
        return int(counted["count"])

    def episodes(self, url: str | None = None) -> list[Episode]:
        """Every episode gPodder lists, newest first, for one feed or all of them."""
        result = self.run("episodes", "--guid")
        stored = self._stored_episodes()
        episodes, feed_url = [], None
        for line in result.stdout.splitlines():
            if header := FEED_HEADER.match(line):
                feed_url = header["url"]
            elif listed := EPISODE_LINE.match(line):
                row = stored.get((feed_url, listed["guid"]))
                if row is None:
                    raise GpoError(["episodes", "--guid"], f"cannot read the line {line!r}",
                                   result.stdout, result.stderr)
                state = STATES[listed["mark"].strip() or " "]
                # gPodder names the file when a download starts, so only a finished one counts.
                file = row["file"] if state == "downloaded" else None
                episodes.append(Episode(feed_url, listed["guid"], listed["title"], row["url"], state,
                                        file, row["size"], row["mime_type"]))
        return [episode for episode in episodes if url is None or episode.feed_url == url]

    def download(self, url: str | None = None) -> list[Path]:
        """Download every new episode; return the files. GpoError if any of them did not arrive
        (gpo prints [DONE] and exits 0 even when a download answered 404)."""
        args = ["download", *self._subscribed(url)]
        wanted = [episode.guid for episode in self.episodes(url) if episode.state == "new"]
        result = self.run(*args)
        after = {episode.guid: episode for episode in self.episodes(url)}
        missing = [guid for guid in wanted if not (after[guid].downloaded and after[guid].file.is_file())]
        if missing:
            raise GpoError(args, f"episodes not downloaded: {missing}", result.stdout, result.stderr)
        return [after[guid].file for guid in wanted]

    def unsubscribe(self, url: str) -> None:
        """Unsubscribe from a feed; gPodder also deletes its downloaded files."""
        result = self.run("unsubscribe", url)
        # gpo reports success on stderr too ("Unsubscribed from URL."), through its _error().
        if f"Unsubscribed from {url}." not in result.stderr:
            raise GpoError(["unsubscribe", url], "not unsubscribed", result.stdout, result.stderr)

    def _subscribed(self, url: str | None) -> list[str]:
        """[url] when subscribed, [] for all feeds; gpo itself silently does nothing for an
        unknown URL, so the harness refuses it."""
        if url is None:
            return []
        known = self.subscriptions()
        if url not in known:
            raise GpoError([url], f"not subscribed to {url}; subscriptions: {known}")
        return [url]

    def _stored_episodes(self) -> dict[tuple[str, str], dict]:
        """Enclosure URL, size, type and file per (feed URL, guid), read from gPodder's database."""
        database = self.home / "Database"
        if not database.exists():
            return {}
        connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        try:
            rows = connection.execute(
                "SELECT p.url, e.guid, e.url, e.file_size, e.mime_type, p.download_folder,"
                " e.download_filename FROM episode e JOIN podcast p ON p.id = e.podcast_id").fetchall()
        finally:
            connection.close()
        return {(feed, guid): {"url": url, "size": size, "mime_type": mime,
                               "file": self.downloads / folder / name if name else None}
                for feed, guid, url, size, mime, folder, name in rows}


def _text(output: bytes | str | None) -> str:
    """Output captured before a timeout, as text (subprocess gives bytes there)."""
    if isinstance(output, bytes):
        return output.decode("utf-8", "replace")
    return output or ""


def _tail(output: str, limit: int = 4000) -> str:
    """The end of a long output, where gpo's tracebacks say what went wrong."""
    return output if len(output) <= limit else "..." + output[-limit:]
