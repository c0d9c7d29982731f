"""The narrator web service: `create_app()` builds it; there is no module-level app.

Configuration comes in three layers: DEFAULTS, then the settings table
(`narration.settings.load_settings()`), then `test_config`. The app's dependencies live in
`app.extensions["narrator"]` (a `Narrator`), so tests can swap the queue for a recorder.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from narration.settings import load_settings
from state import preflight
from state.db import Database
from state.media import MediaStore
from state.queue import TaskQueue, make_celery
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
    "SPEECH_PER_USER": 2,  # /v1/audio/speech requests one user may have in progress at once
    "SPEECH_TIMEOUT_SECONDS": 120,  # how long speech waits for the workers (streamed: per chunk)
    "SPEECH_MAX_STREAMS": 8,  # streamed speech responses per web process; 503 beyond
    "ENQUEUE": None,  # callable(job_id); None: state.queue.TaskQueue(...).start_job
    "RATE_LIMIT": "",  # per API key, limits syntax ("600/minute"); empty: none
    "RATE_LIMIT_IP": "",  # per client address; empty: none
    "RATE_LIMIT_STORAGE": "memory://",  # Redis in production, so every web process counts together
    "REDIS_URL": "",  # the broker; from settings
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
    celery: Any = None
    """The Celery client that sends tasks by name (None when ENQUEUE replaces the queue)."""


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
    from service.feed_clips import MAX_CLIP_BYTES

    app.wsgi_app = MeasuredBodies(app.wsgi_app, max(app.config["MAX_CONTENT_LENGTH"],
                                                    MAX_UPLOAD_BYTES, MAX_CLIP_BYTES))
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
        "REDIS_URL": settings.redis_url,
        "QUOTA_CHARS_PER_DAY": settings.quota_chars_per_day,
        "QUOTA_ACTIVE_JOBS": settings.quota_active_jobs,
        "TRUSTED_PROXIES": settings.trusted_proxies,
    }
    return values


def build_narrator(config: Mapping[str, Any]) -> Narrator:
    """Open the database and media store, load the voice catalogue and reach the queue, failing
    fast with one sentence on a wrong setting, as `narrator up` and the workers do."""
    preflight.check_base_url(config["BASE_URL"] or "")
    db = preflight.open_database(config["DATABASE_URL"], upgrade=config["UPGRADE_DATABASE"])
    media = preflight.open_media(config["MEDIA_URL"], config["S3_ENDPOINT_URL"],
                                 check=config["CHECK_MEDIA"])
    catalogue = load_catalogue()
    preflight.check_voices(catalogue)
    if config["ENQUEUE"]:
        return Narrator(db=db, media=media, catalogue=catalogue, enqueue=config["ENQUEUE"])
    preflight.check_broker(config["REDIS_URL"])
    celery = make_celery()  # no worker module is imported: tasks are sent by name
    return Narrator(db=db, media=media, catalogue=catalogue, celery=celery,
                    enqueue=TaskQueue(celery, db).start_job)


def register_web_page(app: Flask) -> None:
    """Mount the page at `/` (service/web, built separately) when it is present."""
    if importlib.util.find_spec("service.web") is None:
        return
    from service import web

    blueprint = getattr(web, "bp", None)
    if blueprint is not None:
        app.register_blueprint(blueprint)
