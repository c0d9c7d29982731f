"""Fixtures for the HTTP-layer tests of the service: a real app on a real SQLite file and a real
local media folder, with the work queue replaced by a recorder.

These tests check the HTTP layer (parsing, status codes, headers, JSON shapes). The real queue
(Redis + a Celery worker process) is covered by the end-to-end test in tests/test_api.py.
Test modules import what they use: `from api_fixtures import app, client, recorder  # noqa`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from service import create_app

BASE_URL = "http://narrator.test"
TWO_CHAPTERS = {
    "title": "Amélie: a review",
    "author": "A. Critic",
    "voice": "female",
    "chapters": [
        {"title": "The Film", "text": "Amélie is a film about a shy waitress in Paris.\n\nIt is sweet."},
        {"title": "Verdict", "text": "See it on a rainy evening. You will smile."},
    ],
}


@dataclass
class QueueRecorder:
    """Stands in for the work queue: remembers what was queued, and plans it at once in this
    process (the workers' plan step, so jobs show their chapters as they would a moment later)."""

    enqueued: list[str] = field(default_factory=list)
    fail_with: Exception | None = None
    app: object = None

    def enqueue(self, job_id: str) -> None:
        if self.fail_with:
            raise self.fail_with
        self.enqueued.append(job_id)
        if self.app is not None:
            plan_now(self.app, job_id)


def plan_now(app, job_id: str) -> None:
    """Run the plan step as the plan task would, failing the job on a text it cannot read."""
    from narration.errors import NarrationError
    from state import jobs
    from workers.planning import plan_job

    services = app.extensions["narrator"]
    try:
        plan_job(services.db, services.media, services.catalogue, job_id)
    except NarrationError as error:
        with services.db.session() as session:
            jobs.fail_job(session, job_id, error.code, error.message)


def app_config(tmp_path, recorder: QueueRecorder, **overrides) -> dict:
    """Config for an isolated app under tmp_path; SSE timings shortened so tests take seconds."""
    return {
        "TESTING": True,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'narrator.db'}",
        "MEDIA_URL": f"file://{tmp_path / 'media'}",
        "BASE_URL": BASE_URL,
        "ENQUEUE": recorder.enqueue,
        "EVENTS_POLL_SECONDS": 0.05,
        "EVENTS_HEARTBEAT_SECONDS": 0.3,
        "EVENTS_MAX_SECONDS": 5.0,
        "RATE_LIMIT": "",  # tests/test_limits.py sets its own
        "RATE_LIMIT_IP": "",
        **overrides,
    }


@pytest.fixture
def recorder() -> QueueRecorder:
    return QueueRecorder()


def recorded_app(folder, recorder: QueueRecorder, **overrides):
    """A real app under `folder` whose queue is `recorder`, which plans what it queues."""
    app = create_app(app_config(folder, recorder, **overrides))
    recorder.app = app
    return app


@pytest.fixture
def app(tmp_path, recorder):
    app = recorded_app(tmp_path, recorder)
    yield app
    app.extensions["narrator"].db.dispose()


def make_user(app, name: str) -> str:
    """A new user of this app; their API key."""
    from state import users

    with app.extensions["narrator"].db.session() as session:
        return users.create_user(session, name)[1]


def client_for(app, key: str):
    """A test client that sends `key` as its Bearer token on every request."""
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    return client


@pytest.fixture
def api_key(app) -> str:
    return make_user(app, "tester")


@pytest.fixture
def client(app, api_key):
    """Signed in as the user "tester"."""
    return client_for(app, api_key)


@pytest.fixture
def anonymous(app):
    """A client that sends no key."""
    return app.test_client()


def submit(client, body: dict | None = None, **kwargs) -> dict:
    """POST a narration that must be accepted; the job resource."""
    response = client.post("/api/v1/narrations", json=body or TWO_CHAPTERS, **kwargs)
    assert response.status_code == 202, response.get_json()
    return response.get_json()


def finish_chapters(app, job_id: str, indexes, *, seconds: float = 2.0) -> None:
    """Move the parts of these chapters to done through the state machine, as workers would."""
    from state import jobs

    with app.extensions["narrator"].db.session() as session:
        parts = [part.index for part in jobs.get_job(session, job_id).parts
                 if part.chapter in indexes]
        for index in parts:
            assert jobs.start_part(session, job_id, index)
            assert jobs.finish_part(session, job_id, index, seconds)


def finish_job(app, job_id: str, remaining, *, mp3_size: int = 0) -> None:
    """The `remaining` chapters done, then the job done, as the join task would leave it."""
    from state import jobs

    finish_chapters(app, job_id, remaining)
    with app.extensions["narrator"].db.session() as session:
        assert jobs.finish_job(session, job_id, duration=4.0, mp3_size=mp3_size)


def error_of(response) -> dict:
    """The `error` object of a JSON error response (and proof the shape is right)."""
    body = response.get_json()
    assert response.mimetype == "application/json"
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"]), body
    return body["error"]
