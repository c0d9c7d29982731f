"""The narrator web service: `create_app()` builds it; there is no module-level app.

Configuration comes in three layers: DEFAULTS, then the settings table
(`narration.settings.load_settings()`), then `test_config`. The app's dependencies live in
`app.extensions["narrator"]` (a `Narrator`), so tests can swap the queue for a recorder.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix
from sqlalchemy.engine import make_url

from narration.settings import load_settings
from state.db import Database
from state.media import MediaStore, open_media_store
from voices import Catalogue, load_catalogue

MIB = 1 << 20

DEFAULTS: dict[str, Any] = {
    "DATABASE_URL": None,  # from settings: default sqlite:///<data dir>/narrator.db
    "MEDIA_URL": None,  # from settings: default file://<data dir>/media
    "BASE_URL": None,  # None: links use the host the client called
    "S3_ENDPOINT_URL": None,  # for s3:// media URLs on S3-compatible stores
    "MAX_CONTENT_LENGTH": MIB,  # request bodies over this get 413
    "UPGRADE_DATABASE": True,  # run Alembic migrations at start-up (idempotent)
    "CHECK_MEDIA": True,  # fail at start-up when the media store is unreachable
    "EVENTS_POLL_SECONDS": 0.5,  # how often the SSE stream reads the job
    "EVENTS_HEARTBEAT_SECONDS": 15.0,  # comment lines keep proxies from closing an idle stream
    "EVENTS_MAX_SECONDS": 600.0,  # a stream closes after this; EventSource clients reconnect
    "EVENTS_PER_USER": 4,  # open event streams per user and web process; 429 beyond
    "EVENTS_MAX_STREAMS": 16,  # open event streams per web process (half its threads); 503 beyond
    "EVENTS_RECHECK_SECONDS": 5.0,  # how often a stream checks that its key is still valid
    "SPEECH_MAX_INPUT": 4096,  # characters per /v1/audio/speech request (OpenAI's limit)
    "ENQUEUE": None,  # callable(job_id); None: workers.tasks.enqueue_job
    "CANCEL": None,  # callable(job_id); None: workers.tasks.cancel (after the view canceled the row)
    "RATE_LIMIT": "",  # per API key, limits syntax ("600/minute"); empty: none
    "RATE_LIMIT_IP": "",  # per client address; empty: none
    "RATE_LIMIT_STORAGE": "memory://",  # Redis in production, so every web process counts together
    "QUOTA_CHARS_PER_DAY": 0,  # per user; 0: none
    "QUOTA_ACTIVE_JOBS": 0,  # queued or running narrations per user; 0: none
    "TRUSTED_PROXIES": 0,  # reverse proxies whose X-Forwarded-* headers are believed
}


@dataclass
class Narrator:
    """What the views need from outside the web process; replaceable in tests."""

    db: Database
    media: MediaStore
    catalogue: Catalogue
    enqueue: Callable[[str], None]
    """Queue a committed job for the workers."""
    cancel: Callable[[str], None]
    """Tell the workers a job was canceled; the view has already canceled its row."""


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: config, error handlers, blueprints, then the dependencies (failing fast)."""
    app = Flask(__name__)
    app.config.from_mapping(DEFAULTS)
    app.config.from_mapping(settings_config())
    if test_config:
        app.config.from_mapping(test_config)
    app.json.sort_keys = False  # resources keep the field order the OpenAPI document shows

    from service.api import register_api
    from service.errors import register_error_handlers

    from service.limits import init_rate_limits

    register_error_handlers(app)
    register_api(app)
    register_web_page(app)
    init_rate_limits(app)
    app.after_request(no_sniffing)
    from service.artwork import MAX_UPLOAD_BYTES
    from service.bodies import MeasuredBodies

    app.wsgi_app = MeasuredBodies(app.wsgi_app, max(app.config["MAX_CONTENT_LENGTH"],
                                                    MAX_UPLOAD_BYTES))
    if app.config["TRUSTED_PROXIES"]:
        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    app.extensions["narrator"] = build_narrator(app.config)
    return app


def no_sniffing(response):
    """Browsers must take every answer as the type it says (a transcript is never HTML)."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    return response


def settings_config() -> dict[str, Any]:
    """Config keys from the settings table (which also supplies the data-folder defaults)."""
    settings = load_settings()
    values = {
        "DATABASE_URL": settings.database,
        "MEDIA_URL": settings.media,
        "BASE_URL": settings.base_url or None,
        "S3_ENDPOINT_URL": settings.s3_endpoint_url or None,
        "MAX_CONTENT_LENGTH": settings.max_text_bytes or MIB,
        "BITRATE": settings.bitrate,
        "EVENTS_MAX_SECONDS": float(settings.events_max_seconds),
        "EVENTS_PER_USER": settings.events_per_user,
        "EVENTS_MAX_STREAMS": settings.events_max_streams,
        "RATE_LIMIT": settings.rate_limit,
        "RATE_LIMIT_IP": settings.rate_limit_ip,
        "RATE_LIMIT_STORAGE": settings.redis_url or "memory://",
        "QUOTA_CHARS_PER_DAY": settings.quota_chars_per_day,
        "QUOTA_ACTIVE_JOBS": settings.quota_active_jobs,
        "TRUSTED_PROXIES": settings.trusted_proxies,
    }
    return values


def build_narrator(config: Mapping[str, Any]) -> Narrator:
    """Open the database and media store and load the voice catalogue, failing fast if broken."""
    make_sqlite_folder(config["DATABASE_URL"])
    db = Database(config["DATABASE_URL"])
    if config["UPGRADE_DATABASE"]:
        db.upgrade()
    media = open_media_store(config["MEDIA_URL"], s3_endpoint_url=config["S3_ENDPOINT_URL"])
    if config["CHECK_MEDIA"]:
        media.check()
    return Narrator(db=db, media=media, catalogue=load_catalogue(),
                    enqueue=config["ENQUEUE"] or queue_job, cancel=config["CANCEL"] or stop_job)


def make_sqlite_folder(url: str) -> None:
    """Create the folder of an SQLite file, so a fresh install starts without a manual mkdir."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def queue_job(job_id: str) -> None:
    """Hand a committed job to the Celery workers."""
    # Imported on use: the Celery app needs REDIS_URL, which the HTTP layer alone does not.
    from workers.tasks import enqueue_job

    enqueue_job(job_id)


def stop_job(job_id: str) -> None:
    """Let the workers stop a canceled job (its chapter tasks check between sentences)."""
    from workers.tasks import cancel

    cancel(job_id)


def register_web_page(app: Flask) -> None:
    """Mount the page at `/` (service/web, built separately) when it is present."""
    if importlib.util.find_spec("service.web") is None:
        return
    from service import web

    blueprint = getattr(web, "bp", None)
    if blueprint is not None:
        app.register_blueprint(blueprint)
