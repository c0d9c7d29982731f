"""POST/GET of narrations, every client error with its status and code, idempotency, paging, voices.

HTTP layer only: real app, real SQLite file and media folder, the queue replaced by a recorder
(see api_fixtures.py). The real queue is exercised in test_api_jobs.py's end-to-end test.
"""

from __future__ import annotations

import json
import logging
import uuid

import pytest

from api_fixtures import BASE_URL, TWO_CHAPTERS, api_key, app, client, error_of, recorder, submit  # noqa: F401
from tests.servers import serving

NARRATIONS = "/api/v1/narrations"
MARKDOWN = "# Her\n\nA film about love.\n\n## Story\n\nA man meets a voice.\n\n## Verdict\n\nSee it."


def test_post_json_answers_202_with_location_and_queues_the_job(client, recorder):
    response = client.post(NARRATIONS, json=TWO_CHAPTERS)
    job = response.get_json()
    assert response.status_code == 202
    assert response.headers["Location"] == job["links"]["self"] == f"{BASE_URL}{NARRATIONS}/{job['id']}"
    assert job["status"] == "queued"
    assert [c["title"] for c in job["chapters"]] == ["The Film", "Verdict"]
    assert job["title"] == TWO_CHAPTERS["title"] and job["author"] == TWO_CHAPTERS["author"]
    assert recorder.enqueued == [job["id"]]
    assert client.get(response.headers["Location"]).get_json()["id"] == job["id"]


def test_raw_plain_text_takes_its_settings_from_the_query(client, app):
    response = client.post(f"{NARRATIONS}?voice=male&title=Her&speed=1.25",
                           data="A film about love.\n\nIt is very good.",
                           content_type="text/plain; charset=utf-8")
    job = response.get_json()
    assert response.status_code == 202, job
    male = app.extensions["narrator"].catalogue.find("male")
    assert (job["voice"], job["title"], job["speed"]) == (male.id, "Her", 1.25)


def test_raw_markdown_headings_become_chapters(client):
    response = client.post(f"{NARRATIONS}?voice=female", data=MARKDOWN, content_type="text/markdown")
    assert response.status_code == 202
    titles = [c["title"] for c in response.get_json()["chapters"]]
    assert titles[-2:] == ["Story", "Verdict"]  # the paragraph before them opens the narration


TEXT = "A film about love."
CLIENT_ERRORS = [
    # (what, content type, body, query, status, code, field)
    ("malformed JSON", "application/json", b'{"text": "x",', "", 400, "malformed_json", None),
    ("JSON nested too deeply", "application/json", b"[" * 100_000, "", 400, "malformed_json", None),
    ("JSON that is not an object", "application/json", b'["x"]', "", 422, "invalid_request", None),
    ("form body", "application/x-www-form-urlencoded", b"text=x", "", 415, "unsupported_media_type", "Content-Type"),
    ("no content type", "", b"hello", "", 415, "unsupported_media_type", "Content-Type"),
    ("latin-1 charset", "text/plain; charset=latin-1", b"caf\xe9", "?voice=male", 415, "unsupported_media_type", "Content-Type"),
    ("invalid UTF-8", "text/plain", b"A film \xff about love.", "?voice=male", 422, "invalid_text", "text"),
    ("empty text", None, {"text": "", "voice": "male"}, "", 422, "empty_text", "text"),
    ("blank markdown", None, {"markdown": " \n\n ", "voice": "male"}, "", 422, "empty_text", "markdown"),
    ("unspeakable text", None, {"text": "🙂 !!! ??? ...", "voice": "male"}, "", 422, "nothing_speakable", "text"),
    ("unknown voice", None, {"text": TEXT, "voice": "robot"}, "", 422, "unknown_voice", "voice"),
    ("missing voice", None, {"text": TEXT}, "", 422, "missing_field", "voice"),
    ("speed too fast", None, {"text": TEXT, "voice": "male", "speed": 2.5}, "", 422, "invalid_speed", "speed"),
    ("speed too slow", None, {"text": TEXT, "voice": "male", "speed": 0.25}, "", 422, "invalid_speed", "speed"),
    ("speed as text", None, {"text": TEXT, "voice": "male", "speed": "fast"}, "", 422, "invalid_request", "speed"),
    ("query speed out of range", "text/plain", TEXT.encode(), "?voice=male&speed=9", 422, "invalid_speed", "speed"),
    ("query speed not a number", "text/plain", TEXT.encode(), "?voice=male&speed=abc", 422, "invalid_request", "speed"),
    ("text and markdown", None, {"text": TEXT, "markdown": TEXT, "voice": "male"}, "", 422, "invalid_request", "markdown"),
    ("no text at all", None, {"voice": "male"}, "", 422, "missing_field", "text"),
    ("unknown field", None, {"text": TEXT, "voice": "male", "sped": 1.5}, "", 422, "invalid_request", "sped"),
    ("title not a string", None, {"text": TEXT, "voice": "male", "title": 7}, "", 422, "invalid_request", "title"),
    ("empty chapters", None, {"chapters": [], "voice": "male"}, "", 422, "empty_text", "chapters"),
    ("chapter without text", None, {"chapters": [{"title": "A"}], "voice": "male"}, "", 422, "invalid_text", "chapters[0].text"),
    ("unknown query parameter", "text/plain", TEXT.encode(), "?voice=male&lang=en", 422, "invalid_request", "lang"),
]


@pytest.mark.parametrize("what, content_type, body, query, status, code, field", CLIENT_ERRORS,
                         ids=[case[0] for case in CLIENT_ERRORS])
def test_client_mistakes_get_their_status_code_and_field(client, recorder, what, content_type, body,
                                                         query, status, code, field):
    if content_type is None:
        response = client.post(NARRATIONS + query, json=body)
    else:
        response = client.post(NARRATIONS + query, data=body, content_type=content_type)
    error = error_of(response)
    assert (response.status_code, error["code"], error.get("field")) == (status, code, field), error
    assert recorder.enqueued == []


@pytest.mark.parametrize("content_type", ["text/plain", "application/json"])
def test_a_body_over_the_size_limit_is_413(client, app, content_type):
    body = b"a" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = client.post(f"{NARRATIONS}?voice=male", data=body, content_type=content_type)
    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"


@pytest.mark.parametrize("path", [f"{NARRATIONS}/{uuid.uuid4()}", f"{NARRATIONS}/not-a-uuid",
                                  f"{NARRATIONS}/{uuid.uuid4()}/events", "/api/v1/nothing-here"])
def test_unknown_ids_and_paths_are_404_json(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_a_method_the_path_does_not_take_is_405_with_allow(client):
    response = client.put(f"{NARRATIONS}/{uuid.uuid4()}", json={})
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"
    assert {"GET", "DELETE"} <= {m.strip() for m in response.headers["Allow"].split(",")}


@pytest.mark.parametrize("accept, status", [("text/html", 406), ("image/png, text/*", 406),
                                            ("application/json", 200), ("*/*", 200),
                                            ("text/html, application/*;q=0.5", 200)])
def test_accept_must_allow_json(client, accept, status):
    response = client.get("/api/v1/voices", headers={"Accept": accept})
    assert response.status_code == status
    if status == 406:
        assert error_of(response)["code"] == "not_acceptable"


def test_a_refused_accept_does_no_work(client, recorder):
    response = client.post(NARRATIONS, json=TWO_CHAPTERS, headers={"Accept": "text/html"})
    assert response.status_code == 406
    assert recorder.enqueued == []


def test_a_bug_is_a_generic_500_with_the_traceback_in_the_log(app, caplog):
    def broken():
        raise RuntimeError("secret detail 1234")

    app.add_url_rule("/api/v1/broken", view_func=broken)
    with caplog.at_level(logging.ERROR):
        response = app.test_client().get("/api/v1/broken")
    error = error_of(response)
    assert response.status_code == 500 and error["code"] == "internal_error"
    assert "secret" not in response.get_data(as_text=True)
    assert "secret detail 1234" in caplog.text and "Traceback" in caplog.text


def test_a_queue_that_is_down_fails_the_job_and_answers_503(client, recorder):
    recorder.fail_with = ConnectionError("broker at redis://127.0.0.1:1 refused the connection")
    response = client.post(NARRATIONS, json=TWO_CHAPTERS)
    assert response.status_code == 503
    assert error_of(response)["code"] == "service_unavailable"
    job = client.get(client.get(NARRATIONS).get_json()["narrations"][0]["links"]["self"]).get_json()
    assert job["status"] == "failed" and job["error"]["code"] == "queue_unavailable"


def test_a_retried_post_with_the_same_key_returns_the_same_job(client, recorder):
    headers = {"Idempotency-Key": "order-42"}
    first = client.post(NARRATIONS, json=TWO_CHAPTERS, headers=headers)
    # The same request with its keys in another order is the same request.
    reordered = json.loads(json.dumps(dict(reversed(list(TWO_CHAPTERS.items())))))
    again = client.post(NARRATIONS, json=reordered, headers=headers)
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert recorder.enqueued == [first.get_json()["id"]]
    assert len(client.get(NARRATIONS).get_json()["narrations"]) == 1


def test_the_same_key_with_a_different_body_is_refused(client, recorder):
    headers = {"Idempotency-Key": "order-43"}
    client.post(NARRATIONS, json=TWO_CHAPTERS, headers=headers)
    response = client.post(NARRATIONS, json={**TWO_CHAPTERS, "speed": 1.5}, headers=headers)
    error = error_of(response)
    assert (response.status_code, error["code"], error["field"]) == (422, "idempotency_conflict",
                                                                      "Idempotency-Key")
    assert len(recorder.enqueued) == 1


@pytest.mark.parametrize("key", ["", "x" * 256, "with space", "naïve"])
def test_a_malformed_idempotency_key_is_refused(client, key):
    response = client.post(NARRATIONS, json=TWO_CHAPTERS, headers={"Idempotency-Key": key})
    assert response.status_code == 422 and error_of(response)["field"] == "Idempotency-Key"


def test_the_list_pages_newest_first_by_following_next(client):
    created = [submit(client, {"text": f"Review number {n}. It is good.", "voice": "male"})["id"]
               for n in range(5)]
    seen, url, pages = [], f"{NARRATIONS}?limit=2", 0
    while url:
        response = client.get(url)
        page = response.get_json()
        assert len(page["narrations"]) <= 2
        seen += [job["id"] for job in page["narrations"]]
        url, pages = page["next"], pages + 1
        assert (response.headers.get("Link") is None) == (url is None)
    assert seen == created[::-1]
    assert pages == 3


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=two", "cursor=abc"])
def test_bad_paging_parameters_are_422(client, query):
    response = client.get(f"{NARRATIONS}?{query}")
    assert response.status_code == 422
    assert error_of(response)["field"] == query.split("=")[0]


def test_voices_lists_the_catalogue_with_installed_and_aliases(client, app):
    body = client.get("/api/v1/voices").get_json()
    catalogue = app.extensions["narrator"].catalogue
    assert [v["id"] for v in body["voices"]] == [v.id for v in catalogue.voices]
    assert body["aliases"] == catalogue.aliases
    by_id = {v["id"]: v for v in body["voices"]}
    for alias, voice_id in catalogue.aliases.items():
        assert alias in by_id[voice_id]["aliases"]
    assert all(isinstance(v["installed"], bool) for v in body["voices"])


def test_a_link_is_fetched_by_the_plan_step_and_becomes_the_episodes_link(client, app, monkeypatch,
                                                                          tmp_path):
    """The request checks only the link's shape; the plan step fetches and reads it (allowed here
    by NARRATOR_FETCH_ALLOWED_NETWORKS, as on a LAN), and refuses what it may not fetch."""
    page = (b"<html><head><title>Tides: a review</title></head><body><article><h1>Tides</h1>"
            b"<p>The film follows the tide for two hours, and it never gets dull.</p>"
            b"<h2>Verdict</h2><p>See it on the biggest screen you can find.</p></article>"
            b"<footer>Subscribe to our newsletter</footer></body></html>")
    with serving(page) as link:
        refused = client.post(NARRATIONS, json={"url": link, "voice": "male"}).get_json()
        assert client.get(f"{NARRATIONS}/{refused['id']}").get_json()["error"]["code"] == "url_forbidden"
        monkeypatch.setenv("NARRATOR_FETCH_ALLOWED_NETWORKS", "127.0.0.0/8")
        job = client.post(NARRATIONS, json={"url": link, "voice": "male"}).get_json()
    job = client.get(f"{NARRATIONS}/{job['id']}").get_json()
    assert job["status"] == "queued" and "Verdict" in [c["title"] for c in job["chapters"]]
    bad = client.post(NARRATIONS, json={"url": "file:///etc/passwd", "voice": "male"})
    assert (bad.status_code, error_of(bad)["code"], error_of(bad)["field"]) == (422, "url_forbidden", "url")


def test_a_rating_in_the_text_leads_the_episode_description(client):
    """Ratings become metadata: the feed's description starts with it (and the ID3 comment
    carries it, tests/test_join.py)."""
    text = "Tides\n\n★★★½\n\nThe film follows the tide for two hours, and it never gets dull."
    job = client.post(NARRATIONS, json={"text": text, "voice": "male"}).get_json()
    from state import jobs
    with client.application.extensions["narrator"].db.session(readonly=True) as session:
        description = jobs.get_job(session, job["id"]).description
    assert description.startswith("Rating: ") and "follows the tide" in description
