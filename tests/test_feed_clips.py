"""A feed's intro and outro clips: uploads in every accepted format become segments at podcast
loudness (real ffmpeg), anything else is refused with a message that says what to send, and the
API keeps them per feed, checking ownership first. What the clips do to episodes is in
tests/test_feed_audio.py (real worker, real voice)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from api_fixtures import app, api_key, client, recorder  # noqa: F401
from api_fixtures import client_for, error_of, make_user
from feed_fixtures import ACCEPTED, clip, default_feed, image, local, make_feed
from narration.clips import ClipTooLongError, InvalidClipError, UnsupportedClipError, prepare_clip
from narration.encode import decode_mp3
from narration.loudness import TARGET_LUFS, measure
from service.feed_clips import MAX_CLIP_BYTES
from state.models import Feed

@pytest.mark.parametrize("kind", sorted(ACCEPTED))
def test_every_accepted_format_becomes_a_segment_at_podcast_loudness(kind, tmp_path):
    upload = tmp_path / "upload"
    upload.write_bytes(clip(kind))
    segment = prepare_clip(upload, tmp_path / "clip.mp3", title="Intro", max_seconds=60)
    assert segment.title == "Intro" and segment.cues == () and segment.lead == 0
    assert abs(segment.seconds - 2.0) < 0.06  # M4A (AAC) adds its own priming, at most a frame
    decoded = decode_mp3(tmp_path / "clip.mp3")
    found = measure(decoded)
    print(f"{kind}: {segment.seconds:.3f} s, {found.lufs:.2f} LUFS, {found.true_peak:.2f} dBTP")
    assert abs(found.lufs - TARGET_LUFS) <= 1.0 and found.true_peak <= -1.0
    # Short fades: it starts and ends in silence (joins between silences do not click).
    edge = round(0.005 * decoded.rate)
    body = max(abs(float(x)) for x in decoded.samples[len(decoded.samples) // 2:][:edge * 20])
    assert max(abs(float(x)) for x in decoded.samples[:edge]) < body / 10
    assert max(abs(float(x)) for x in decoded.samples[-edge:]) < body / 10


@pytest.mark.parametrize("kind, body, error, words", [
    ("webm", lambda: clip("webm"), UnsupportedClipError, ["WebM", "MP3, WAV, OGG, FLAC or M4A"]),
    ("png", lambda: image(64), UnsupportedClipError, ["PNG image", "MP3, WAV, OGG, FLAC or M4A"]),
    ("text", lambda: b"Not audio at all, only words.\n" * 50, UnsupportedClipError,
     ["not audio", "MP3, WAV, OGG, FLAC or M4A"]),
    ("long", lambda: clip("flac", seconds=61.5), ClipTooLongError, ["at most 60 s", "62 s"]),
    ("silent", lambda: clip("wav", source="anullsrc=r=48000"), InvalidClipError, ["silent"]),
    ("cut", lambda: clip("flac")[:200], UnsupportedClipError, ["cut short", "MP3, WAV"]),
    ("playlist", lambda: b"ffconcat version 1.0\nfile '/etc/hostname'\n", UnsupportedClipError,
     ["not audio", "MP3, WAV"]),
])
def test_what_cannot_be_a_clip_is_refused_saying_what_to_send(kind, body, error, words, tmp_path):
    upload = tmp_path / "upload"
    upload.write_bytes(body())
    with pytest.raises(error) as raised:
        prepare_clip(upload, tmp_path / "clip.mp3", title="Intro", max_seconds=60)
    print(f"{kind}: {raised.value.status} {raised.value.message}")
    assert all(word.lower() in raised.value.message.lower() for word in words)
    assert str(tmp_path) not in raised.value.message  # no server paths in messages
    assert not (tmp_path / "clip.mp3").exists()


# --- the API ------------------------------------------------------------------------------------

def test_an_intro_and_outro_are_kept_per_feed_and_shown_with_their_length(app, client):
    feed = make_feed(client, title="With an intro")
    assert feed["intro"] == {"set": False, "seconds": None} and feed["outro"]["set"] is False
    put = client.put(local(feed["links"]["intro"]), data=clip("mp3", 3.0), content_type="audio/mpeg")
    assert put.status_code == 200, put.get_json()
    assert put.get_json()["intro"]["set"] is True
    assert abs(put.get_json()["intro"]["seconds"] - 3.0) < 0.06
    put = client.put(local(feed["links"]["outro"]), data=clip("flac", 2.0),
                     content_type="application/octet-stream")
    assert put.status_code == 200 and abs(put.get_json()["outro"]["seconds"] - 2.0) < 0.06
    shown = client.get(local(feed["links"]["self"])).get_json()
    assert shown["intro"]["set"] and shown["outro"]["set"]
    # Another feed of the same user has none; the clip is heard as episodes will carry it.
    assert default_feed(client)["intro"]["set"] is False
    heard = client.get(local(feed["links"]["intro"]))
    assert heard.status_code == 200 and heard.mimetype == "audio/mpeg"
    assert abs(measure(_decoded(heard.data)).lufs - TARGET_LUFS) <= 1.0
    ranged = client.get(local(feed["links"]["intro"]), headers={"Range": "bytes=0-1"})
    assert ranged.status_code == 206 and len(ranged.data) == 2
    # Replacing it removes the old file; deleting it leaves the feed without one.
    media = app.extensions["narrator"].media
    with app.extensions["narrator"].db.session(readonly=True) as session:
        old_key = session.get(Feed, feed["id"]).intro["key"]
    again = client.put(local(feed["links"]["intro"]), data=clip("ogg", 2.5), content_type="audio/ogg")
    assert again.status_code == 200 and abs(again.get_json()["intro"]["seconds"] - 2.5) < 0.06
    assert media.stat(old_key) is None
    removed = client.delete(local(feed["links"]["intro"]))
    assert removed.status_code == 200 and removed.get_json()["intro"] == {"set": False, "seconds": None}
    assert client.get(local(feed["links"]["intro"])).status_code == 404
    assert removed.get_json()["outro"]["set"] is True


@pytest.mark.parametrize("body, content_type, status, code, words", [
    (lambda: clip("webm"), "audio/webm", 415, "unsupported_audio", ["MP3, WAV, OGG, FLAC or M4A"]),
    (lambda: image(64), "audio/mpeg", 415, "unsupported_audio", ["PNG image"]),
    (lambda: clip("mp3"), "application/json", 415, "unsupported_media_type", ["audio/"]),
    (lambda: clip("wav", seconds=75), "audio/wav", 422, "audio_too_long", ["at most 60 s", "75 s"]),
    (lambda: b"", "audio/mpeg", 422, "invalid_audio", ["empty"]),
    (lambda: b"\0" * (MAX_CLIP_BYTES + 1), "audio/wav", 413, "audio_too_large", ["20 MB"]),
])
def test_a_bad_upload_gets_a_clear_error_and_the_old_clip_stays(app, client, body, content_type,
                                                              status, code, words):
    feed = make_feed(client, title="Careful")
    client.put(local(feed["links"]["outro"]), data=clip("wav", 1.5), content_type="audio/wav")
    response = client.put(local(feed["links"]["outro"]), data=body(), content_type=content_type)
    error = error_of(response)
    print(response.status_code, error)
    assert response.status_code == status and error["code"] == code
    assert all(word.lower() in error["message"].lower() for word in words)
    outro = client.get(local(feed["links"]["self"])).get_json()["outro"]
    assert outro["set"] is True and abs(outro["seconds"] - 1.5) < 0.06


def test_another_users_feed_answers_404_before_its_body_is_read(app, client):
    feed = make_feed(client, title="Mine")
    intruder = client_for(app, make_user(app, "intruder"))
    for method, content_type in (("put", "audio/mpeg"), ("put", "application/json"),
                                 ("delete", None), ("get", None)):
        response = getattr(intruder, method)(local(feed["links"]["intro"]), data=b"not audio",
                                             content_type=content_type)
        assert response.status_code == 404 and error_of(response)["code"] == "not_found"
    assert client.get(local(feed["links"]["self"])).get_json()["intro"]["set"] is False


def _decoded(data: bytes):
    """MP3 bytes decoded as a player would."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "clip.mp3"
        path.write_bytes(data)
        return decode_mp3(path)




def test_deleting_a_feed_removes_its_clips(app, client):
    feed = make_feed(client, title="Short-lived")
    client.put(local(feed["links"]["intro"]), data=clip("mp3", 1.0), content_type="audio/mpeg")
    media = app.extensions["narrator"].media
    with app.extensions["narrator"].db.session(readonly=True) as session:
        key = session.get(Feed, feed["id"]).intro["key"]
    assert media.stat(key) is not None
    assert client.delete(local(feed["links"]["self"])).status_code == 204
    assert media.stat(key) is None
