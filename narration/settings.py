"""Every setting in one table: name, environment variable, default and help.

The README's settings table is checked against this one (tests/test_settings.py), so a setting
cannot exist without being documented.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

from narration.fetch import parse_networks


@dataclass(frozen=True)
class Setting:
    name: str
    env: str
    default: str
    help: str
    parse: Callable[[str], object] = str


def _path(value: str) -> Path:
    return Path(value).expanduser()


def _size(value: str) -> int:
    """Bytes, with an optional K/M/G suffix (powers of 1024)."""
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    value = value.strip().upper().removesuffix("B")
    if value and value[-1] in units:
        return int(float(value[:-1]) * units[value[-1]])
    return int(value)


def _opus_bitrate(value: str) -> str | None:
    """An Opus bitrate such as `48k` (6k–256k, libopus's range for mono), or None for `off`."""
    value = value.strip().lower()
    if value in ("off", "0", ""):
        return None
    if not re.fullmatch(r"\d+k", value) or not 6 <= int(value[:-1]) <= 256:
        raise ValueError(value)
    return value


def _file_mode(value: str) -> int:
    """An octal file mode the owner can read and write, with no execute bits (0600, 0640, 0660)."""
    mode = int(value, 8)
    if mode & ~0o666 or mode & 0o600 != 0o600:
        raise ValueError(value)
    return mode


SETTINGS: tuple[Setting, ...] = (
    Setting("data_dir", "NARRATOR_DATA_DIR", "~/.local/share/narrator",
            "Folder for the sentence cache and unpacked voice models.", _path),
    Setting("file_mode", "NARRATOR_FILE_MODE", "0600",
            "Mode of the files the service creates (database, media, sentence cache, keys); "
            "folders get the same bits plus search (0600 → 0700). `0660` lets a group shared "
            "by the web and worker users read and write them (SQLite makes its files 0640 at most: "
            "share PostgreSQL instead).", _file_mode),
    Setting("cache_dir", "NARRATOR_CACHE_DIR", "",
            "Sentence-audio cache folder; empty means `<data dir>/sentence-cache`.", str),
    Setting("cache_size", "NARRATOR_CACHE_SIZE", "1G",
            "Upper bound of the sentence cache in bytes (K/M/G suffixes); least recently used "
            "sentences go first. 0 disables the cache.", _size),
    Setting("voices_file", "NARRATOR_VOICES_FILE", "",
            "A JSON file of extra catalogue entries, e.g. Coqui models (see README).", str),
    Setting("engine_threads", "NARRATOR_ENGINE_THREADS", "0",
            "Threads per engine for ONNX/PyTorch inference; 0 means one per core.", int),
    Setting("bitrate", "NARRATOR_BITRATE", "96k",
            "MP3 bitrate (mono); 96k keeps LAME's peak overshoot small enough for one encode.", str),
    Setting("opus_bitrate", "NARRATOR_OPUS_BITRATE", "48k",
            "Bitrate of each episode's Opus copy, offered in feeds as `podcast:alternateEnclosure` "
            "beside the MP3 (48k: speech as clear as the 96k MP3 at about half the size); `off` "
            "makes none.", _opus_bitrate),
    Setting("database_url", "DATABASE_URL", "",
            "SQLAlchemy URL of the job database; empty means an SQLite file "
            "`<data dir>/narrator.db`. PostgreSQL: `postgresql+psycopg://user:pass@host/db`.", str),
    Setting("redis_url", "REDIS_URL", "",
            "Redis for the Celery broker and results, e.g. `redis://:password@host:6379/0`. "
            "`narrator up` starts its own Redis when this is empty.", str),
    Setting("media_url", "MEDIA_URL", "",
            "Where audio and sidecars are stored: `file:///path` or `s3://bucket/prefix`; empty "
            "means `<data dir>/media`.", str),
    Setting("s3_endpoint_url", "S3_ENDPOINT_URL", "",
            "Endpoint of S3-compatible storage for `s3://` media URLs (credentials from "
            "`AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`).", str),
    Setting("base_url", "NARRATOR_BASE_URL", "",
            "Absolute URL where people reach the service, used in links and feeds; empty means "
            "the URL of each request.", str),
    Setting("max_text_bytes", "NARRATOR_MAX_TEXT_BYTES", "1M",
            "Largest request body the API accepts (K/M/G suffixes); larger ones get 413.", _size),
    Setting("task_time_limit", "NARRATOR_TASK_TIME_LIMIT", "3600",
            "Seconds one chapter or assembly task may run before it is stopped.", int),
    Setting("stall_timeout", "NARRATOR_STALL_TIMEOUT", "600",
            "Seconds a running job may go without progress before the watchdog re-queues it "
            "(once) or fails it.", int),
    Setting("events_max_seconds", "NARRATOR_EVENTS_MAX_SECONDS", "600",
            "Seconds an event stream stays open; browsers reconnect after it closes.", int),
    Setting("events_per_user", "NARRATOR_EVENTS_PER_USER", "4",
            "Event streams one user may hold open at once (per web process); beyond it: 429.",
            int),
    Setting("events_max_streams", "NARRATOR_EVENTS_MAX_STREAMS", "16",
            "Event streams one web process holds open in all; beyond it: 503. Keep it under "
            "gunicorn's threads (32), so streams never take the threads other requests need.",
            int),
    Setting("rate_limit", "NARRATOR_RATE_LIMIT", "600/minute",
            "Requests per API key (limits syntax, e.g. `600/minute;10000/hour`); over it: 429 "
            "with Retry-After. Counted in Redis when REDIS_URL is set. Empty: no limit.", str),
    Setting("rate_limit_ip", "NARRATOR_RATE_LIMIT_IP", "1200/minute",
            "Requests per client IP address, also for feeds and the page. Empty: no limit.", str),
    Setting("trusted_proxies", "NARRATOR_TRUSTED_PROXIES", "0",
            "Reverse proxies in front of the web process; their X-Forwarded-For/-Proto/-Host "
            "give each client its own address for rate limits, and links the right scheme.", int),
    Setting("quota_chars_per_day", "NARRATOR_QUOTA_CHARS_PER_DAY", "5000000",
            "Characters one user may submit per day (UTC); over it: 429 saying when it resets. "
            "0: no quota.", int),
    Setting("quota_active_jobs", "NARRATOR_QUOTA_ACTIVE_JOBS", "100",
            "Narrations one user may have queued or running at once; 0: no quota.", int),
    Setting("fetch_allowed_networks", "NARRATOR_FETCH_ALLOWED_NETWORKS", "",
            "Comma-separated networks (CIDRs, e.g. `192.168.1.0/24`) whose private addresses links "
            "may be fetched from; by default only public addresses are fetched.", parse_networks),
    Setting("visibility_timeout", "NARRATOR_VISIBILITY_TIMEOUT", "7200",
            "Seconds before Redis redelivers an unacknowledged task; keep it above the task time "
            "limit.", int),
    Setting("lexicon_file", "NARRATOR_LEXICON_FILE", "",
            "A pronunciation lexicon (W3C PLS or two-column: word, respelling or /IPA/) applied "
            "to every narration; a user's own lexicons and `--lexicon` files win over it.", str),
)


@dataclass(frozen=True)
class Settings:
    """Parsed settings; build with `load_settings()`."""

    values: Mapping[str, object]

    def __getattr__(self, name: str):
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def sentence_cache_dir(self) -> Path:
        return _path(self.cache_dir) if self.cache_dir else self.data_dir / "sentence-cache"

    @property
    def database(self) -> str:
        """The database URL, defaulting to an SQLite file in the data folder."""
        return self.database_url or f"sqlite:///{self.data_dir / 'narrator.db'}"

    @property
    def media(self) -> str:
        """The media store URL, defaulting to a folder in the data folder."""
        return self.media_url or (self.data_dir / "media").as_uri()


class SettingError(ValueError):
    """A setting has a value that cannot be used; the message names the variable."""


def load_settings(environ: Mapping[str, str] = os.environ) -> Settings:
    """Read every setting from the environment, falling back to its default."""
    values = {}
    for setting in SETTINGS:
        raw = environ.get(setting.env, setting.default)
        try:
            values[setting.name] = setting.parse(raw)
        except (TypeError, ValueError):
            raise SettingError(f"{setting.env}={raw!r} is not valid: {setting.help}") from None
    return Settings(values)


def folder_mode(file_mode: int) -> int:
    """The folder mode that goes with a file mode: search wherever read is allowed."""
    return file_mode | (file_mode & 0o444) >> 2


def apply_file_mode(settings: Settings) -> None:
    """Make this process (and what it starts) create files with `file_mode` and folders with
    the matching folder mode, and close the data folder to others if it is open to them.

    A umask, as systemd's UMask= would set, rather than a chmod after every write: SQLite,
    diskcache, Redis and the media store all create files of their own, and all honour it.
    """
    mode = folder_mode(settings.file_mode)
    os.umask(0o777 & ~mode)
    try:
        found = settings.data_dir.stat()
    except FileNotFoundError:
        return  # made later, under the umask
    if found.st_uid == os.getuid() and found.st_mode & 0o777 & ~mode:
        settings.data_dir.chmod(found.st_mode & 0o777 & mode)


def markdown_table() -> str:
    """The README's settings table; print it with `python -m narration.settings`."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for s in SETTINGS:
        default = f"`{s.default}`" if s.default else "(empty)"
        rows.append(f"| `{s.env}` | {default} | {s.help} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
