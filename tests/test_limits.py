"""Rate limits per API key and per client address, quotas per user, and strict CORS on the API:
each refusal is a 429 (or a missing CORS grant) that says which limit and when it resets."""

import re
import threading

import pytest

from api_fixtures import QueueRecorder, app_config, client_for, error_of, make_user, recorded_app
from service import create_app

TEXT = {"title": "Short", "text": "A short review. It is kind.", "voice": "male"}


@pytest.fixture
def limited(tmp_path):
    """An app with small limits so a test can reach them."""
    def build(**config):
        app = recorded_app(tmp_path / str(len(apps)), QueueRecorder(), **config)
        apps.append(app)
        return app

    apps = []
    yield build
    for app in apps:
        app.extensions["narrator"].db.dispose()


def test_a_key_over_its_rate_gets_429_with_retry_after_and_other_keys_carry_on(limited):
    app = limited(RATE_LIMIT="5/minute", RATE_LIMIT_IP="")
    ann, bob = client_for(app, make_user(app, "ann")), client_for(app, make_user(app, "bob"))
    assert [ann.get("/api/v1/narrations").status_code for _ in range(5)] == [200] * 5
    refused = ann.get("/api/v1/narrations")
    assert refused.status_code == 429
    error = error_of(refused)
    assert error["code"] == "rate_limited" and "5 per minute per API key" in error["message"]
    retry = int(refused.headers["Retry-After"])
    assert 1 <= retry <= 60 and f"{retry} s" in error["message"]
    assert bob.get("/api/v1/narrations").status_code == 200


def test_a_client_address_over_its_rate_gets_429_on_every_url(limited):
    app = limited(RATE_LIMIT="", RATE_LIMIT_IP="4/minute")
    anonymous = app.test_client()
    answers = [anonymous.get(path).status_code
               for path in ("/api/v1/voices", "/api/v1/openapi.json", "/feeds/nope.xml", "/")]
    assert 429 not in answers
    refused = anonymous.get("/api/v1/voices")
    assert refused.status_code == 429 and "client address" in error_of(refused)["message"]
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "192.0.2.9"
    assert other.get("/api/v1/voices").status_code == 200


def test_no_key_is_stored_in_the_rate_limit_counters(limited):
    app = limited(RATE_LIMIT="50/minute", RATE_LIMIT_IP="")
    key = make_user(app, "ann")
    client_for(app, key).get("/api/v1/narrations")
    storage = app.extensions["narrator_limiter"].storage
    assert key not in repr(vars(storage))


def test_the_running_jobs_quota_says_which_limit_and_frees_when_a_job_ends(limited):
    app = limited(QUOTA_ACTIVE_JOBS=2)
    client = client_for(app, make_user(app, "ann"))
    first = client.post("/api/v1/narrations", json=TEXT).get_json()
    client.post("/api/v1/narrations", json=TEXT)
    refused = client.post("/api/v1/narrations", json=TEXT)
    assert refused.status_code == 429 and refused.headers["Retry-After"].isdigit()
    error = error_of(refused)
    assert error["code"] == "quota_exceeded" and "2 at once" in error["message"]
    assert len(client.get("/api/v1/narrations").get_json()["narrations"]) == 2  # none stored
    client.delete(first["links"]["self"])
    assert client.post("/api/v1/narrations", json=TEXT).status_code == 202


def test_the_daily_characters_quota_says_when_it_resets(limited):
    app = limited(QUOTA_CHARS_PER_DAY=60)
    client = client_for(app, make_user(app, "ann"))
    assert client.post("/api/v1/narrations", json=TEXT).status_code == 202
    refused = client.post("/api/v1/narrations", json={**TEXT, "text": "A longer text. " * 4})
    assert refused.status_code == 429
    message = error_of(refused)["message"]
    assert "daily quota of 60 characters" in message and re.search(r"resets at 00:00 UTC", message)
    assert 0 < int(refused.headers["Retry-After"]) <= 86400
    other = client_for(app, make_user(app, "bob"))  # quotas are per user
    assert other.post("/api/v1/narrations", json=TEXT).status_code == 202


def test_concurrent_submissions_cannot_slip_past_the_quota_together(limited):
    app = limited(QUOTA_ACTIVE_JOBS=3)
    key = make_user(app, "ann")
    answers = []

    def submit():
        answers.append(client_for(app, key).post("/api/v1/narrations", json=TEXT).status_code)

    threads = [threading.Thread(target=submit) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [202] * 3 + [429] * 7


@pytest.mark.parametrize("method, path", [("GET", "/api/v1/narrations"),
                                          ("OPTIONS", "/api/v1/narrations"),
                                          ("GET", "/api/v1/feeds")])
def test_the_api_grants_no_other_origin(limited, method, path):
    app = limited()
    client = client_for(app, make_user(app, "ann"))
    response = client.open(path, method=method, headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in response.headers
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_web_processes_count_together_in_redis(limited, redis_url):
    """Two app instances (two web processes) on one Redis share each key's count."""
    first = limited(RATE_LIMIT="5/minute", RATE_LIMIT_IP="", RATE_LIMIT_STORAGE=redis_url)
    key = make_user(first, "ann")
    second = create_app(app_config_like(first))
    try:
        one, two = client_for(first, key), client_for(second, key)
        answers = [client.get("/api/v1/narrations").status_code
                   for client in (one, two, one, two, one, two)]
        assert answers == [200] * 5 + [429]
    finally:
        second.extensions["narrator"].db.dispose()


def app_config_like(app) -> dict:
    """The config of another process of the same service (same database, Redis and limits)."""
    keys = ("TESTING", "DATABASE_URL", "MEDIA_URL", "BASE_URL", "ENQUEUE", "RATE_LIMIT",
            "RATE_LIMIT_IP", "RATE_LIMIT_STORAGE")
    return {key: app.config[key] for key in keys}


def test_behind_a_trusted_proxy_each_client_has_its_own_address(limited):
    app = limited(RATE_LIMIT="", RATE_LIMIT_IP="2/minute", TRUSTED_PROXIES=1)
    proxy = app.test_client()

    def from_client(address: str) -> int:
        return proxy.get("/api/v1/voices", headers={"X-Forwarded-For": address}).status_code

    assert [from_client("198.51.100.1") for _ in range(3)] == [200, 200, 429]
    assert from_client("198.51.100.2") == 200  # another client behind the same proxy


def test_a_retry_counts_as_a_submission_for_the_running_jobs_quota(limited):
    """Cancel-and-retry must not get a user past the limit of narrations at once."""
    app = limited(QUOTA_ACTIVE_JOBS=2)
    client = client_for(app, make_user(app, "ann"))
    first = client.post("/api/v1/narrations", json=TEXT).get_json()
    client.delete(first["links"]["self"])
    client.post("/api/v1/narrations", json=TEXT)
    client.post("/api/v1/narrations", json=TEXT)  # two running: the limit
    refused = client.post(f"{first['links']['self']}/retry")
    assert refused.status_code == 429 and "2 at once" in error_of(refused)["message"]
    assert client.get(first["links"]["self"]).get_json()["status"] == "canceled"  # rolled back


def test_a_retry_counts_its_characters_against_the_daily_quota(limited):
    chars = len(TEXT["text"])
    app = limited(QUOTA_CHARS_PER_DAY=2 * chars + chars // 2)  # room for two and a half
    client = client_for(app, make_user(app, "ann"))
    first = client.post("/api/v1/narrations", json=TEXT).get_json()
    client.delete(first["links"]["self"])
    assert client.post(f"{first['links']['self']}/retry").status_code == 202  # the second
    client.delete(first["links"]["self"])
    refused = client.post(f"{first['links']['self']}/retry")  # a third would pass the quota
    assert refused.status_code == 429 and "daily quota" in error_of(refused)["message"]
    assert client.post("/api/v1/narrations", json=TEXT).status_code == 429  # the retry counted
