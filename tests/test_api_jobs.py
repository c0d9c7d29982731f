"""Following and canceling jobs over HTTP: progress in the resource, the SSE stream, DELETE.

HTTP layer with the queue replaced by a recorder; job state is moved through state.jobs the way
workers move it, on a real SQLite file.
"""

from __future__ import annotations

import json
import threading
import time

import pytest

from api_fixtures import (api_key, app, app_config, error_of, client, client_for, make_user, finish_chapters, finish_job,  # noqa: F401
                          recorder, submit, TWO_CHAPTERS)
from service import create_app


def read_events(response) -> list[tuple[str, str]]:
    """(field, value) blocks of an SSE body as it streams: ("event", name+data) or ("comment", …)."""
    text = b"".join(response.response).decode()
    events = []
    for block in filter(None, text.split("\n\n")):
        lines = dict(line.split(": ", 1) if not line.startswith(":") else ("comment", line[2:])
                     for line in block.split("\n"))
        events.append(lines)
    return events


def test_progress_shows_per_chapter_and_links_outputs_only_when_done(client, app):
    job = submit(client)
    finish_chapters(app, job["id"], [0])
    running = client.get(job["links"]["self"]).get_json()
    assert running["status"] == "running"
    first, second = running["chapters"]
    assert first["status"] == "done" and first["sentences_done"] == first["sentences_total"] > 0
    assert first["audio"] and second["audio"] is None
    assert 0 < running["progress"]["percent"] < 100
    assert "audio" not in running["links"]
    finish_job(app, job["id"], [1])
    done = client.get(job["links"]["self"]).get_json()
    assert done["status"] == "done" and done["progress"]["percent"] == 100
    assert {"audio", "chapters", "transcript"} <= set(done["links"])


def test_delete_cancels_then_is_idempotent(client, recorder):
    job = submit(client)
    first = client.delete(job["links"]["self"])
    again = client.delete(job["links"]["self"])
    assert (first.status_code, again.status_code) == (202, 200)
    assert first.get_json()["status"] == again.get_json()["status"] == "canceled"
    assert {c["status"] for c in first.get_json()["chapters"]} == {"canceled"}


def test_delete_keeps_finished_chapters_of_a_running_job(client, app):
    job = submit(client)
    finish_chapters(app, job["id"], [0])
    chapters = client.delete(job["links"]["self"]).get_json()["chapters"]
    assert [c["status"] for c in chapters] == ["done", "canceled"]


def test_delete_of_a_done_job_is_409(client, app, recorder):
    job = submit(client)
    finish_job(app, job["id"], [0, 1])
    response = client.delete(job["links"]["self"])
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "job_finished"
    assert client.get(job["links"]["self"]).get_json()["status"] == "done"


def test_events_stream_progress_until_the_job_is_done(client, app):
    job = submit(client)

    def work():  # a worker finishing one chapter, then the whole job, while the client listens
        time.sleep(0.3)
        finish_chapters(app, job["id"], [0])
        time.sleep(0.3)
        finish_job(app, job["id"], [1])

    worker = threading.Thread(target=work)
    worker.start()
    response = client.get(job["links"]["events"], buffered=False)
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-cache"
    events = read_events(response)
    worker.join()
    assert "retry" in events[0]
    named = [e for e in events if "event" in e]
    statuses = [(e["event"], json.loads(e["data"])["status"]) for e in named]
    assert statuses[0] == ("progress", "queued")
    assert ("progress", "running") in statuses
    assert statuses[-2:] == [("progress", "done"), ("end", "done")]
    chapter_states = [[c["status"] for c in json.loads(e["data"])["chapters"]] for e in named]
    assert ["done", "queued"] in chapter_states  # the first chapter's completion was its own event
    # One event per change, not per poll: queued, chapter 1 done, chapter 2 + job done (at most
    # one more if a poll fell between the last chapter and the job), then end; ~20 polls ran.
    assert len(named) <= 5


def test_events_of_a_finished_job_end_at_once(client, app):
    job = submit(client)
    client.delete(job["links"]["self"])
    events = [e for e in read_events(client.get(job["links"]["events"], buffered=False)) if "event" in e]
    assert [e["event"] for e in events] == ["progress", "end"]


def test_an_idle_stream_sends_heartbeats_and_closes_after_its_time(tmp_path, recorder):
    app = create_app(app_config(tmp_path, recorder, EVENTS_HEARTBEAT_SECONDS=0.2,
                                EVENTS_MAX_SECONDS=1.0))
    client = client_for(app, make_user(app, "idle"))
    job = submit(client)
    started = time.monotonic()
    events = read_events(client.get(job["links"]["events"], buffered=False))
    elapsed = time.monotonic() - started
    assert 1.0 <= elapsed < 2.0
    assert [e.get("event") for e in events if "event" in e] == ["progress"]  # no `end`: reconnect
    assert sum(e.get("comment") == "heartbeat" for e in events) >= 3
    app.extensions["narrator"].db.dispose()


@pytest.mark.parametrize("accept", ["application/json", "text/html"])
def test_events_want_an_event_stream_accept(client, accept):
    job = submit(client)
    response = client.get(job["links"]["events"], headers={"Accept": accept})
    assert response.status_code == 406


def test_end_to_end_through_redis_and_a_celery_worker(live_url, http, celery_worker, tmp_path):
    """POST over HTTP, follow the SSE stream to `end`, then fetch the MP3 and its sidecars."""
    from narration.encode import decode_mp3

    requests = http
    body = {"title": "Two Notes", "voice": "male", "chapters": [
        {"title": "First", "text": "The film opens in a small apartment. A man talks to his computer."},
        {"title": "Second", "text": "It is a gentle story. See it on a quiet evening."}]}
    created = requests.post(f"{live_url}/api/v1/narrations", json=body, timeout=30)
    assert created.status_code == 202, created.text
    job = created.json()
    with requests.get(job["links"]["events"], stream=True, timeout=180) as stream:
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        text = "".join(stream.iter_content(chunk_size=None, decode_unicode=True))
    events = [dict(line.split(": ", 1) for line in block.split("\n") if not line.startswith(":"))
              for block in text.split("\n\n") if block.strip()]
    named = [(e["event"], json.loads(e["data"])) for e in events if "event" in e]
    assert named[-1][0] == "end" and named[-1][1]["status"] == "done", celery_worker.log_tail()
    assert any(view["status"] == "running" for _, view in named)  # progress arrived live
    done = named[-1][1]

    first_bytes = requests.get(done["links"]["audio"], headers={"Range": "bytes=0-1"}, timeout=30)
    assert first_bytes.status_code == 206 and len(first_bytes.content) == 2
    audio = requests.get(done["links"]["audio"], timeout=30)
    assert audio.headers["Content-Type"] == "audio/mpeg"
    (tmp_path / "episode.mp3").write_bytes(audio.content)
    assert abs(decode_mp3(tmp_path / "episode.mp3").seconds - done["duration"]) < 0.1
    chapters = requests.get(done["links"]["chapters"], timeout=30).json()
    assert [c["title"] for c in chapters["chapters"]] == ["First", "Second"]
    assert "WEBVTT" in requests.get(done["links"]["transcript"], timeout=30).text
    preview = requests.get(done["chapters"][1]["audio"], timeout=30)
    assert preview.status_code == 200 and preview.headers["Content-Type"] == "audio/mpeg"


def test_a_failed_or_canceled_narration_can_be_retried_once_with_one_call(client, app, recorder):
    from state import jobs

    job = submit(client)
    assert client.post(f"{job['links']['self']}/retry").status_code == 409  # still queued
    finish_chapters(app, job["id"], [0])
    with app.extensions["narrator"].db.session() as session:
        jobs.fail_job(session, job["id"], "media_store", "The media store is full.")
    retried = client.post(f"{job['links']['self']}/retry")
    assert retried.status_code == 202
    body = retried.get_json()
    assert body["status"] == "queued" and "error" not in body
    assert [c["status"] for c in body["chapters"]] == ["queued", "queued"]
    assert recorder.enqueued == [job["id"], job["id"]]
    canceled = client.delete(job["links"]["self"]).get_json()
    assert canceled["status"] == "canceled"
    assert client.post(f"{job['links']['self']}/retry").status_code == 202


def test_a_stored_submission_that_never_reached_the_queue_runs_when_repeated(client, app, recorder):
    """The web process died between storing the job and queueing it; the client repeats."""
    from datetime import timedelta

    from state.models import Job

    first = submit(client, headers={"Idempotency-Key": "k-lost"})
    recorder.enqueued.clear()  # as if the queueing never happened
    with app.extensions["narrator"].db.session() as session:
        job = session.get(Job, first["id"])
        job.attempts, job.created_at = 0, job.created_at - timedelta(seconds=30)
    again = client.post("/api/v1/narrations", json=TWO_CHAPTERS,
                        headers={"Idempotency-Key": "k-lost"})
    assert again.status_code == 202 and again.get_json()["id"] == first["id"]
    assert recorder.enqueued == [first["id"]]
    quick = submit(client, headers={"Idempotency-Key": "k-fresh"})  # just stored: a plain replay
    replay = client.post("/api/v1/narrations", json=TWO_CHAPTERS,
                         headers={"Idempotency-Key": "k-fresh"})
    assert replay.status_code == 200 and recorder.enqueued.count(quick["id"]) == 1


def test_a_closed_stream_gives_its_slot_back(tmp_path, recorder):
    """Streams are admitted per user; a stream the client closes (or never reads) frees its slot."""
    app = create_app(app_config(tmp_path, recorder, EVENTS_PER_USER=2, EVENTS_MAX_STREAMS=3))
    ann, bob = (client_for(app, make_user(app, name)) for name in ("ann", "bob"))
    ann_job, bob_job = submit(ann), submit(bob)
    first, second = (ann.get(ann_job["links"]["events"], buffered=False) for _ in range(2))
    refused = ann.get(ann_job["links"]["events"], buffered=False)
    assert refused.status_code == 429 and "2 at once per user" in error_of(refused)["message"]
    held = bob.get(bob_job["links"]["events"], buffered=False)
    busy = bob.get(bob_job["links"]["events"], buffered=False)
    assert busy.status_code == 503 and error_of(busy)["code"] == "streams_busy"
    first.close()  # never read: the slot still comes back
    again = ann.get(ann_job["links"]["events"], buffered=False)
    assert again.status_code == 200
    for response in (second, held, again):
        response.close()
    app.extensions["narrator"].db.dispose()
