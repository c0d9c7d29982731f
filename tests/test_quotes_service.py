"""Quotes in a second voice through the service: `quote_voice` checked at request time like
`voice`, kept in the plan, and spoken by a real worker with both real voices."""

from __future__ import annotations

import pytest
import webvtt
from api_fixtures import (api_key, app, client, error_of, recorder, submit)  # noqa: F401

from tests.conftest_service import wait_until

REVIEW = """# Her

The film opens quietly, and the city hums below him.

> The past is just a story we tell ourselves.

He answers, “I have never loved anyone the way I loved you,” and a “masterpiece” ends.
"""


def stored_request(app, job_id: str) -> dict:
    from state import jobs

    with app.extensions["narrator"].db.session(readonly=True) as session:
        return jobs.get_job(session, job_id).request


@pytest.mark.parametrize("quote_voice, code, status", [
    ("robot", "unknown_voice", 422),
    (5, "invalid_request", 422),
    ("x" * 5000, "unknown_voice", 422),
])
def test_a_bad_quote_voice_is_refused_naming_its_field(client, recorder, quote_voice, code,
                                                       status):
    response = client.post("/api/v1/narrations", json={
        "text": "A film.", "voice": "male", "quote_voice": quote_voice})
    error = error_of(response)
    assert (response.status_code, error["code"], error["field"]) == (status, code, "quote_voice")
    assert recorder.enqueued == []


def test_the_quote_voice_is_kept_by_its_id_and_its_quotes_planned(app, client):
    from workers.planning import load_part

    job = submit(client, {"markdown": REVIEW, "voice": "male", "quote_voice": "female"})
    female = app.extensions["narrator"].catalogue.find("female").id
    assert stored_request(app, job["id"])["quote_voice"] == female
    assert client.get(job["links"]["self"]).get_json()["quote_voice"] == female
    part = load_part(app.extensions["narrator"].media, job["id"], 0)
    quoted = [u.text for u in part.script.utterances if u.role == "quote"]
    assert quoted == ["The past is just a story we tell ourselves.",
                      "“I have never loved anyone the way I loved you,”"]


@pytest.mark.parametrize("extra", [{}, {"quote_voice": None}, {"quote_voice": ""}])
def test_without_a_quote_voice_the_job_is_as_before(app, client, extra):
    from workers.planning import load_part

    job = submit(client, {"markdown": REVIEW, "voice": "male", **extra})
    assert "quote_voice" not in stored_request(app, job["id"])
    assert job["quote_voice"] is None
    part = load_part(app.extensions["narrator"].media, job["id"], 0)
    assert {u.role for u in part.script.utterances} == {"narrator"}


def test_the_same_voice_twice_and_a_raw_body_are_accepted(app, client):
    same = submit(client, {"text": "A film.", "voice": "male", "quote_voice": "male"})
    assert same["quote_voice"] == same["voice"]
    raw = client.post("/api/v1/narrations?voice=male&quote_voice=female", data=REVIEW,
                      content_type="text/markdown")
    assert raw.status_code == 202, raw.get_json()
    assert raw.get_json()["quote_voice"]


def test_a_batch_refuses_only_the_item_with_a_bad_quote_voice(client):
    response = client.post("/api/v1/narrations:batch", json={"items": [
        {"text": "One film.", "voice": "male", "quote_voice": "female"},
        {"text": "Two films.", "voice": "male", "quote_voice": "nobody"}]})
    items = response.get_json()["items"]
    assert [item["status"] for item in items] == [202, 422]
    assert items[0]["narration"]["quote_voice"]
    assert items[1]["error"]["field"] == "quote_voice"


def finished(http, live_url: str, body: dict) -> dict:
    """Submit a narration and wait for its end; the job resource."""
    response = http.post(f"{live_url}/api/v1/narrations", timeout=30, json=body)
    assert response.status_code == 202, response.text
    job_url = response.json()["links"]["self"]

    def ended():
        job = http.get(job_url, timeout=10).json()
        return job if job["status"] in ("done", "failed") else None

    job = wait_until(ended, 300, "the job to finish", interval=0.5)
    assert job["status"] == "done", job.get("error")
    return job


@pytest.mark.slow
def test_a_worker_speaks_quotes_in_the_second_voice_and_marks_them(live_url, http, celery_worker,
                                                                   tmp_path):
    body = {"markdown": REVIEW, "voice": "male", "feed": None, "title": "Her, twice voiced"}
    job = finished(http, live_url, {**body, "quote_voice": "female"})
    vtt = tmp_path / "t.vtt"
    vtt.write_bytes(http.get(job["links"]["transcript"], timeout=10).content)
    cues = webvtt.read(str(vtt))
    assert {cue.voice for cue in cues} == {"Narrator", "Quote"}
    assert [cue.text for cue in cues if cue.voice == "Quote"] == [
        "The past is just a story we tell ourselves.",
        "“I have never loved anyone the way I loved you,”"]
    assert "and a “masterpiece” ends." in [cue.text for cue in cues if cue.voice == "Narrator"]
    # The worker loaded both voices' engines (each once per process).
    log = celery_worker.log.read_text()
    assert "Loaded voice jf_gongitsune" in log and "Loaded voice en_US-joe-medium" in log
    # One voice: the transcript has no voice spans; the chapters are the same.
    solo = finished(http, live_url, body)
    assert "<v " not in http.get(solo["links"]["transcript"], timeout=10).text
    chapters, solo_chapters = (http.get(j["links"]["chapters"], timeout=10).json()
                               for j in (job, solo))
    assert [c["title"] for c in chapters["chapters"]] == [
        c["title"] for c in solo_chapters["chapters"]]
    assert chapters.keys() == solo_chapters.keys()
