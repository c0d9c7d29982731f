"""`POST /api/v1/narrations/{id}/again`: a new narration made from the stored request of one of
the caller's narrations, in the feeds that one is in, counted like a submission and idempotent
like one. HTTP-layer tests on the recorded app (api_fixtures: the plan step runs in this
process, so the names check shows which lexicons the new narration applies).
"""

from __future__ import annotations

import pytest

from api_fixtures import (QueueRecorder, api_key, app, client, client_for, error_of,  # noqa: F401
                          finish_job, make_user, recorded_app, recorder, submit)

NARRATIONS = "/api/v1/narrations"
TEXT = ("In the film, Caleb wins a week at the house of Nathan Bateman. "
        "Nathan lives alone with Kyoko. Caleb meets Ava, and the week goes wrong.")
SENT = {"title": "Ex Machina", "author": "A. Critic", "text": TEXT, "voice": "male",
        "quote_voice": "female", "speed": 1.25, "lexicons": ["films"]}


def stored(app, job_id: str):
    """The job row as the database holds it (request loaded)."""
    from state import jobs

    with app.extensions["narrator"].db.session(readonly=True) as session:
        job = jobs.get_job(session, job_id)
        return {"request": job.request, "voice": job.voice, "quote_voice": job.quote_voice,
                "speed": job.speed, "title": job.title, "author": job.author,
                "check": job.recognition_check, "input_chars": job.input_chars}


def feed_of(client, feed_id: str) -> list[str]:
    """The narrations in a feed (episodes and those on their way)."""
    response = client.get(f"/api/v1/feeds/{feed_id}/episodes")
    assert response.status_code == 200
    return [entry["narration"] for entry in response.get_json()["episodes"]]


def default_feed_id(client) -> str:
    return client.get("/api/v1/feeds").get_json()["feeds"][0]["id"]


def test_again_on_a_done_narration_makes_a_new_queued_one_of_the_same_request(app, client,
                                                                             recorder):
    assert client.put("/api/v1/lexicons/films", data="Caleb\tkay-leb\n",
                      content_type="text/plain").status_code == 201
    first = submit(client, SENT)
    finish_job(app, first["id"], [0])
    assert client.get(first["links"]["self"]).get_json()["status"] == "done"
    # A pronunciation added since applies to the new narration (the plan resolves it again).
    assert client.put("/api/v1/lexicons/films", data="Caleb\tkay-leb\nKyoko\tkee oh koh\n",
                      content_type="text/plain").status_code == 200

    response = client.post(f"{first['links']['self']}/again")
    assert response.status_code == 202, response.get_json()
    again = response.get_json()
    assert again["id"] != first["id"] and again["status"] == "queued"
    assert response.headers["Location"].endswith(f"{NARRATIONS}/{again['id']}")
    assert "Idempotent-Replayed" not in response.headers
    assert recorder.enqueued == [first["id"], again["id"]]
    was, now = stored(app, first["id"]), stored(app, again["id"])
    assert now == was  # text, voices, speed, check flag, lexicon names, title, author
    assert now["request"]["lexicons"] == ["films"] and now["speed"] == 1.25
    names = {item["word"]: item["in_lexicon"] for item in again["names"]["words"]}
    assert names["Kyoko"] is True and names["Caleb"] is True
    before = {item["word"]: item["in_lexicon"] for item in first["names"]["words"]}
    assert before["Kyoko"] is False  # the original keeps the check it was planned with
    assert set(feed_of(client, default_feed_id(client))) == {first["id"], again["id"]}
    listed = [job["id"] for job in client.get(NARRATIONS).get_json()["narrations"]]
    assert listed[0] == again["id"] and first["id"] in listed


def test_again_keeps_a_changed_title_the_check_flag_and_every_feed_the_original_is_in(
        app, client, monkeypatch):
    from voices import recognizer

    monkeypatch.setattr(recognizer, "missing", lambda: None)  # the request only asks this
    films = client.post("/api/v1/feeds", json={"title": "Films"}).get_json()["id"]
    notes = client.post("/api/v1/feeds", json={"title": "Notes"}).get_json()["id"]
    first = submit(client, {"text": TEXT, "voice": "male", "feed": films, "check": True})
    assert client.put(f"/api/v1/feeds/{notes}/episodes/{first['id']}").status_code in (200, 201)
    renamed = client.patch(first["links"]["self"], json={"title": "Ex Machina (2014)"})
    assert renamed.status_code == 200

    again = client.post(f"{first['links']['self']}/again").get_json()
    assert again["title"] == "Ex Machina (2014)"
    assert stored(app, again["id"])["check"] is True
    assert stored(app, again["id"])["request"]["check"] is True
    assert again["id"] in feed_of(client, films) and again["id"] in feed_of(client, notes)
    assert again["id"] not in feed_of(client, default_feed_id(client))


def test_again_of_a_narration_in_no_feed_goes_in_no_feed(client):
    first = submit(client, {"text": TEXT, "voice": "male", "feed": None})
    again = client.post(f"{first['links']['self']}/again")
    assert again.status_code == 202
    assert again.get_json()["id"] not in feed_of(client, default_feed_id(client))
    assert feed_of(client, default_feed_id(client)) == []


def test_again_works_on_failed_and_canceled_narrations_and_leaves_them_as_they_are(app, client):
    from state import jobs

    failed, canceled = submit(client, SENT | {"lexicons": None}), submit(client)
    with app.extensions["narrator"].db.session() as session:
        jobs.fail_job(session, failed["id"], "media_store", "The media store is full.")
    client.delete(canceled["links"]["self"])
    for job, status in ((failed, "failed"), (canceled, "canceled")):
        response = client.post(f"{job['links']['self']}/again")
        assert response.status_code == 202 and response.get_json()["status"] == "queued"
        assert client.get(job["links"]["self"]).get_json()["status"] == status


def test_another_users_narration_and_unknown_ids_are_404_alike(app, client, recorder):
    theirs = submit(client_for(app, make_user(app, "bob")))
    recorder.enqueued.clear()
    other = client.post(f"{NARRATIONS}/{theirs['id']}/again")
    unknown = client.post(f"{NARRATIONS}/00000000-0000-4000-8000-000000000000/again")
    assert other.status_code == unknown.status_code == 404
    assert error_of(other)["code"] == error_of(unknown)["code"] == "not_found"
    assert recorder.enqueued == []
    assert client.get(NARRATIONS).get_json()["narrations"] == []


def test_again_is_counted_against_the_running_jobs_quota(tmp_path):
    app = recorded_app(tmp_path, QueueRecorder(), QUOTA_ACTIVE_JOBS=2)
    try:
        client = client_for(app, make_user(app, "ann"))
        first = submit(client, {"text": TEXT, "voice": "male"})
        assert client.post(f"{first['links']['self']}/again").status_code == 202
        refused = client.post(f"{first['links']['self']}/again")
        assert refused.status_code == 429 and refused.headers["Retry-After"].isdigit()
        error = error_of(refused)
        assert error["code"] == "quota_exceeded" and "2 at once" in error["message"]
        assert len(client.get(NARRATIONS).get_json()["narrations"]) == 2  # none stored
        client.delete(first["links"]["self"])
        assert client.post(f"{first['links']['self']}/again").status_code == 202
    finally:
        app.extensions["narrator"].db.dispose()


def test_again_is_counted_against_the_daily_characters_quota(tmp_path):
    app = recorded_app(tmp_path, QueueRecorder(), QUOTA_CHARS_PER_DAY=len(TEXT) + 10)
    try:
        client = client_for(app, make_user(app, "ann"))
        first = submit(client, {"text": TEXT, "voice": "male"})
        refused = client.post(f"{first['links']['self']}/again")
        assert refused.status_code == 429
        assert f"daily quota of {len(TEXT) + 10:,} characters" in error_of(refused)["message"]
    finally:
        app.extensions["narrator"].db.dispose()


def test_an_idempotency_key_replays_the_same_new_narration(client, recorder):
    first = submit(client, {"text": TEXT, "voice": "male"})
    made = client.post(f"{first['links']['self']}/again", headers={"Idempotency-Key": "again-1"})
    assert made.status_code == 202
    replay = client.post(f"{first['links']['self']}/again", headers={"Idempotency-Key": "again-1"})
    assert replay.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.get_json()["id"] == made.get_json()["id"]
    assert replay.headers["Location"] == made.headers["Location"]
    assert recorder.enqueued.count(made.get_json()["id"]) == 1
    assert len(client.get(NARRATIONS).get_json()["narrations"]) == 2
    # The same key to repeat another narration, or for a new submission, is a conflict.
    second = submit(client, {"text": TEXT, "voice": "female"})
    for response in (client.post(f"{second['links']['self']}/again",
                                 headers={"Idempotency-Key": "again-1"}),
                     client.post(NARRATIONS, json={"text": TEXT, "voice": "male"},
                                 headers={"Idempotency-Key": "again-1"})):
        assert response.status_code == 422
        assert error_of(response)["code"] == "idempotency_conflict"


def test_a_voice_removed_since_is_said_before_anything_is_stored(client, recorder, monkeypatch):
    from voices import Voice

    first = submit(client, {"text": TEXT, "voice": "male"})
    monkeypatch.setattr(Voice, "installed", property(lambda voice: False))
    response = client.post(f"{first['links']['self']}/again")
    assert response.status_code == 503 and error_of(response)["code"] == "voice_unavailable"
    assert len(client.get(NARRATIONS).get_json()["narrations"]) == 1
    assert recorder.enqueued == [first["id"]]


def test_a_body_or_a_bad_key_is_refused_clearly(client):
    first = submit(client, {"text": TEXT, "voice": "male"})
    bad = client.post(f"{first['links']['self']}/again", headers={"Idempotency-Key": " "})
    assert bad.status_code == 422 and error_of(bad)["field"] == "Idempotency-Key"
    assert client.post(f"{NARRATIONS}/not-a-uuid/again").status_code == 404


@pytest.mark.parametrize("method", ["get", "put", "delete"])
def test_only_post_narrates_again(client, method):
    first = submit(client, {"text": TEXT, "voice": "male"})
    assert getattr(client, method)(f"{first['links']['self']}/again").status_code == 405


def test_a_narration_made_before_requests_were_kept_cannot_be_narrated_again(app, client):
    from state.models import Job

    first = submit(client, {"text": TEXT, "voice": "male"})
    with app.extensions["narrator"].db.session() as session:
        session.get(Job, first["id"]).request = None  # as migration 0003 left older jobs
    response = client.post(f"{first['links']['self']}/again")
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "not_retryable" and "send its text again" in error["message"]
    assert len(client.get(NARRATIONS).get_json()["narrations"]) == 1
