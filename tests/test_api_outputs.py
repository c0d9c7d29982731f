"""Serving outputs from the media store: GET/HEAD, ranges, ETags, download names, CORS, readiness.

Files are put in the (real, local) media store directly; the job is moved to done through
state.jobs. What is checked is HTTP behaviour, so the MP3 bytes need not be a real MP3.
"""

from __future__ import annotations

import json
import os
import uuid

import pytest
from werkzeug.http import parse_options_header

from api_fixtures import api_key, app, client, error_of, finish_chapters, finish_job, recorder, submit  # noqa: F401
from service.api.outputs import content_disposition

AUDIO = os.urandom(200_000)  # several of the store's 64 KiB chunks
CHAPTER_AUDIO = os.urandom(30_000)
CHAPTERS = {"version": "1.2.0", "chapters": [{"startTime": 0, "title": "The Film"}]}
VTT = "WEBVTT\n\n00:00:00.600 --> 00:00:02.000\nAmélie is a film.\n"


def store(app, job_id: str, name: str, data: bytes) -> None:
    app.extensions["narrator"].media.put_bytes(f"narrations/{job_id}/{name}", data)


@pytest.fixture
def done_job(app, client) -> dict:
    """A finished two-chapter job whose outputs are in the media store."""
    job = submit(client)
    for name, data in [("audio.mp3", AUDIO), ("chapters.json", json.dumps(CHAPTERS).encode()),
                       ("transcript.vtt", VTT.encode()), ("chapters/0.mp3", CHAPTER_AUDIO)]:
        store(app, job["id"], name, data)
    finish_job(app, job["id"], [0, 1], mp3_size=len(AUDIO))
    return client.get(job["links"]["self"]).get_json()


def test_get_audio_is_the_whole_file_as_a_named_download(client, done_job):
    response = client.get(done_job["links"]["audio"])
    assert response.status_code == 200
    assert response.data == AUDIO
    assert response.mimetype == "audio/mpeg"
    assert response.headers["Content-Length"] == str(len(AUDIO))
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["ETag"]
    disposition, options = parse_options_header(response.headers["Content-Disposition"])
    assert (disposition, options["filename"]) == ("attachment", "Amélie a review.mp3")


def test_head_has_the_headers_and_no_body(client, done_job):
    full = client.get(done_job["links"]["audio"])
    head = client.head(done_job["links"]["audio"])
    assert head.status_code == 200 and head.data == b""
    for name in ("Content-Length", "ETag", "Accept-Ranges", "Content-Disposition", "Content-Type"):
        assert head.headers[name] == full.headers[name]


SIZE = len(AUDIO)
RANGES = [
    # (Range header, status, first byte, end byte exclusive)
    ("bytes=0-1", 206, 0, 2),  # what Apple's podcast client sends first
    ("bytes=100000-", 206, 100_000, SIZE),
    ("bytes=-10", 206, SIZE - 10, SIZE),
    ("bytes=65530-65545", 206, 65_530, 65_546),  # across a chunk boundary
    ("bytes=0-999999999", 206, 0, SIZE),  # clamped to the end (so 206, as RFC 9110 says)
    ("bytes=0-1, 5-6", 200, 0, SIZE),  # several ranges: the whole file
    ("bytes=9-2", 200, 0, SIZE),  # malformed: ignored
]


@pytest.mark.parametrize("header, status, start, stop", RANGES, ids=[r[0] for r in RANGES])
def test_range_requests(client, done_job, header, status, start, stop):
    response = client.get(done_job["links"]["audio"], headers={"Range": header})
    assert response.status_code == status
    assert response.data == AUDIO[start:stop]
    assert response.headers["Content-Length"] == str(stop - start)
    if status == 206:
        assert response.headers["Content-Range"] == f"bytes {start}-{stop - 1}/{SIZE}"


def test_head_with_a_range_reports_the_part(client, done_job):
    response = client.head(done_job["links"]["audio"], headers={"Range": "bytes=0-1"})
    assert response.status_code == 206 and response.data == b""
    assert response.headers["Content-Length"] == "2"


def test_a_range_past_the_end_is_416(client, done_job):
    response = client.get(done_job["links"]["audio"], headers={"Range": f"bytes={SIZE}-"})
    assert response.status_code == 416
    assert error_of(response)["code"] == "range_not_satisfiable"
    assert response.headers["Content-Range"] == f"bytes */{SIZE}"


def test_if_none_match_with_the_etag_is_304(client, done_job):
    etag = client.head(done_job["links"]["audio"]).headers["ETag"]
    for tag in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        response = client.get(done_job["links"]["audio"], headers={"If-None-Match": tag})
        assert (response.status_code, response.data) == (304, b""), tag
        assert response.headers["ETag"] == etag
    stale = client.get(done_job["links"]["audio"], headers={"If-None-Match": '"stale"'})
    assert stale.status_code == 200 and stale.data == AUDIO


def test_if_range_with_a_stale_etag_gets_the_whole_new_file(client, done_job):
    response = client.get(done_job["links"]["audio"],
                          headers={"Range": "bytes=0-1", "If-Range": '"stale"'})
    assert response.status_code == 200 and response.data == AUDIO


def test_a_rewritten_file_gets_a_new_etag(client, app, done_job):
    before = client.head(done_job["links"]["audio"]).headers["ETag"]
    store(app, done_job["id"], "audio.mp3", AUDIO[::-1])
    response = client.get(done_job["links"]["audio"], headers={"If-None-Match": before})
    assert response.status_code == 200 and response.data == AUDIO[::-1]


@pytest.mark.parametrize("link, mimetype", [("chapters", "application/json"), ("transcript", "text/vtt")])
def test_sidecars_are_served_with_cors(client, done_job, link, mimetype):
    response = client.get(done_job["links"][link])
    assert response.status_code == 200 and response.mimetype == mimetype
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    expected = json.dumps(CHAPTERS).encode() if link == "chapters" else VTT.encode()
    assert response.data == expected


@pytest.mark.parametrize("name", ["audio.mp3", "chapters.json", "transcript.vtt"])
def test_outputs_of_an_unfinished_job_are_not_ready(client, name):
    job = submit(client)
    response = client.get(f"{job['links']['self']}/{name}")
    assert response.status_code == 404 and error_of(response)["code"] == "not_ready"


def test_outputs_of_an_unknown_job_are_not_found(client):
    response = client.get(f"/api/v1/narrations/{uuid.uuid4()}/audio.mp3")
    assert response.status_code == 404 and error_of(response)["code"] == "not_found"


def test_a_chapter_plays_as_soon_as_it_is_done(client, app):
    job = submit(client)
    store(app, job["id"], "chapters/0.mp3", CHAPTER_AUDIO)
    finish_chapters(app, job["id"], [0])
    first, second = client.get(job["links"]["self"]).get_json()["chapters"]
    response = client.get(first["audio"], headers={"Range": "bytes=0-1"})
    assert response.status_code == 206 and response.data == CHAPTER_AUDIO[:2]
    canonical = client.get(f"{job['links']['self']}/chapters/0/audio.mp3")
    assert canonical.status_code == 200 and canonical.data == CHAPTER_AUDIO
    assert "chapter 1" in parse_options_header(canonical.headers["Content-Disposition"])[1]["filename"]
    later = client.get(f"{job['links']['self']}/chapters/1/audio.mp3")
    assert later.status_code == 404 and error_of(later)["code"] == "not_ready"
    missing = client.get(f"{job['links']['self']}/chapters/7/audio.mp3")
    assert missing.status_code == 404 and error_of(missing)["code"] == "not_found"


def test_audio_wants_an_accept_that_allows_mpeg(client, done_job):
    assert client.get(done_job["links"]["audio"], headers={"Accept": "application/json"}).status_code == 406
    assert client.get(done_job["links"]["audio"], headers={"Accept": "audio/*"}).status_code == 200


DOWNLOAD_NAMES = [
    # (title, ASCII fallback, exact name)
    ("Her", "Her.mp3", "Her.mp3"),
    ("Amélie", "Amelie.mp3", "Amélie.mp3"),
    ("彼女", "narration.mp3", "彼女.mp3"),
    ('a/b"c\\d', "a b c d.mp3", "a b c d.mp3"),
    ("", "narration.mp3", "narration.mp3"),
    ("../..", "narration.mp3", "narration.mp3"),
]


@pytest.mark.parametrize("title, fallback, exact", DOWNLOAD_NAMES)
def test_download_names_are_safe_and_keep_the_title(title, fallback, exact):
    header = content_disposition(title, ".mp3")
    assert f'filename="{fallback}"' in header
    assert header.isascii()
    assert parse_options_header(header)[1]["filename"] == exact
