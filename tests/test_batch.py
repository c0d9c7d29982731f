"""`POST /api/v1/narrations:batch`: one job per item, all in one feed, errors item by item."""

from __future__ import annotations

import pytest

from api_fixtures import app, api_key, client, recorder  # noqa: F401
from api_fixtures import error_of
from feed_fixtures import default_feed, entries, make_feed
from service.api.batch import MAX_ITEMS


def item(title: str, voice: str = "male") -> dict:
    return {"title": title, "voice": voice, "text": f"{title} is a film. It is worth an evening."}


def test_every_item_becomes_a_queued_job_in_the_chosen_feed(client, recorder):
    feed = make_feed(client, title="This week")
    response = client.post("/api/v1/narrations:batch",
                           json={"feed": feed["id"], "items": [item("Her"), item("Amélie"),
                                                               item("Paterson", "female")]})
    assert response.status_code == 202, response.get_json()
    body = response.get_json()
    assert (body["accepted"], body["refused"]) == (3, 0)
    made = [result["narration"] for result in body["items"]]
    assert [n["title"] for n in made] == ["Her", "Amélie", "Paterson"]
    assert [result["index"] for result in body["items"]] == [0, 1, 2]
    assert recorder.enqueued == [n["id"] for n in made]
    assert {e["narration"] for e in entries(client, feed)} == {n["id"] for n in made}
    assert entries(client, default_feed(client)) == []  # all in the feed asked for, none elsewhere
    for narration in made:
        assert client.get(f"/api/v1/narrations/{narration['id']}").get_json()["status"] == "queued"


def test_bad_items_get_their_own_errors_and_the_good_ones_are_still_made(client, recorder):
    response = client.post("/api/v1/narrations:batch", json={"items": [
        item("Good"), {"title": "No text", "voice": "male"}, item("Bad voice", "robot"),
        "not an object", {**item("Own feed"), "feed": None}, {**item("Slow"), "speed": 9},
        {**item("Unknown lexicon"), "lexicons": ["nope"]}]})
    assert response.status_code == 202
    body = response.get_json()
    assert (body["accepted"], body["refused"]) == (1, 6)
    outcome = {r["index"]: (r["status"], r.get("error", {}).get("code"),
                            r.get("error", {}).get("field")) for r in body["items"]}
    assert outcome == {0: (202, None, None), 1: (422, "missing_field", "text"),
                       2: (422, "unknown_voice", "voice"), 3: (422, "invalid_request", None),
                       4: (422, "invalid_request", "feed"), 5: (422, "invalid_speed", "speed"),
                       6: (422, "unknown_lexicon", "lexicons")}
    assert len(recorder.enqueued) == 1
    assert [e["title"] for e in entries(client, default_feed(client))] == ["Good"]


def test_a_batch_with_no_good_item_is_refused_with_every_items_error(client, recorder):
    response = client.post("/api/v1/narrations:batch",
                           json={"items": [item("A", "robot"), {"voice": "male"}]})
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "batch_refused" and error["field"] == "items"
    assert [i["error"]["code"] for i in error["items"]] == ["unknown_voice", "missing_field"]
    assert recorder.enqueued == []


@pytest.mark.parametrize("body, field", [
    ({}, "items"),
    ({"items": []}, "items"),
    ({"items": {"text": "x"}}, "items"),
    ({"items": [item("x")] * (MAX_ITEMS + 1)}, "items"),
    ({"items": [item("x")], "feed": "not-a-feed"}, "feed"),
    ({"items": [item("x")], "feed": "5b4c8f5e-8a4d-4c0e-9a43-0d6f3d1b9c11"}, "feed"),
    ({"items": [item("x")], "voice": "male"}, "voice"),
])
def test_a_bad_batch_is_refused_whole_naming_the_field(client, recorder, body, field):
    response = client.post("/api/v1/narrations:batch", json=body)
    assert response.status_code in (404, 422)
    assert error_of(response)["field"] == field
    assert recorder.enqueued == []


def test_a_retried_batch_with_the_same_key_makes_nothing_twice(client, recorder):
    body = {"items": [item("Once"), item("Twice")]}
    first = client.post("/api/v1/narrations:batch", json=body, headers={"Idempotency-Key": "week-49"})
    again = client.post("/api/v1/narrations:batch", json=body, headers={"Idempotency-Key": "week-49"})
    assert first.status_code == again.status_code == 202
    ids = [[r["narration"]["id"] for r in response.get_json()["items"]] for response in (first, again)]
    assert ids[0] == ids[1]
    assert [r["status"] for r in again.get_json()["items"]] == [200, 200]
    assert len(recorder.enqueued) == 2


def test_batch_needs_a_key(app):
    assert app.test_client().post("/api/v1/narrations:batch",
                                  json={"items": [item("x")]}).status_code == 401
