"""Start-up checks every process runs before it accepts work: `narrator up`, the web app factory
and each Celery worker. Each failure is one `SettingError` sentence that says what to do.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from narration.settings import SettingError


def check_base_url(base_url: str) -> None:
    """An absolute http(s) URL, or nothing; a malformed one would break every link we publish."""
    if not base_url:
        return
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingError(f"NARRATOR_BASE_URL={base_url!r} is not an absolute http(s) URL; "
                           "set it like https://narrator.example.org/")


def check_broker(url: str) -> None:
    """A REDIS_URL that does not answer would leave every job queued forever: stop now."""
    import redis

    if not url:
        raise SettingError("REDIS_URL is not set: start everything with `narrator up`, or set "
                           "REDIS_URL=redis://:password@host:6379/0.")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3).ping()
    except (redis.exceptions.RedisError, ValueError) as error:
        host = url.rsplit("@", 1)[-1]  # never print the password
        raise SettingError(f"REDIS_URL (…@{host}) does not answer ({type(error).__name__}); "
                           "start Redis or unset REDIS_URL to use the embedded one.") from None


def check_voices(catalogue) -> None:
    """The male and female defaults must be installed, or narrations would fail later."""
    for alias in ("male", "female"):
        voice = catalogue.find(alias)
        if not voice.installed:
            raise SettingError(f"the {alias} voice {voice.id} is not installed; run `make setup`.")


def open_database(url: str, *, upgrade: bool = True, make_folder: bool = True):
    """The database, migrated to the current schema; a wrong URL is one sentence. The folder of
    an SQLite file is made when `make_folder` (our default file); a URL someone set must point
    at a folder that exists."""
    from sqlalchemy.exc import ArgumentError, OperationalError

    from state.db import Database, make_sqlite_folder

    try:
        if make_folder:
            make_sqlite_folder(url)
        database = Database(url)
        if upgrade:
            database.upgrade()
    except (ArgumentError, OperationalError) as error:
        reason = str(getattr(error, "orig", None) or error).splitlines()[0]
        raise SettingError(f"DATABASE_URL cannot be used: {reason}; set it to a reachable "
                           "database, or unset it to use the SQLite file.") from None
    return database


def open_media(url: str, s3_endpoint_url: str | None = None, *, check: bool = True):
    """The media store, checked to be reachable and writable."""
    from state.media import open_media_store

    media = open_media_store(url, s3_endpoint_url=s3_endpoint_url or None)
    if check:
        media.check()
    return media
