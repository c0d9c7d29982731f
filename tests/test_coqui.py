"""Coqui models mapped in through a user catalogue file, loaded exactly like a downloaded model.

The model is a tiny untrained VITS built here (2 MB, about 2 s): its audio is noise, so these tests
check the real loading and synthesis path, the sample rate, speakers and lengths, not the words.
"""

from __future__ import annotations

import importlib.util
import json
import socket
import time
from pathlib import Path

import pytest

import voices
from narration.errors import VoiceUnavailableError

pytestmark = pytest.mark.skipif(importlib.util.find_spec("TTS") is None,
                                reason="the coqui extra is not installed")


def build_tiny_vits(folder):
    """A 0.5 M-parameter two-speaker VITS saved as model.pth + config.json, as Coqui ships them."""
    import torch
    from TTS.config.shared_configs import BaseAudioConfig
    from TTS.tts.configs.vits_config import VitsConfig
    from TTS.tts.models.vits import Vits, VitsArgs

    args = VitsArgs(
        hidden_channels=32, hidden_channels_ffn_text_encoder=64, num_layers_text_encoder=2,
        num_layers_posterior_encoder=2, num_layers_flow=2, upsample_initial_channel_decoder=64,
        resblock_kernel_sizes_decoder=[3], resblock_dilation_sizes_decoder=[[1, 3, 5]],
        use_sdp=False, init_discriminator=False, use_speaker_embedding=True,
        speaker_embedding_channels=16)
    config = VitsConfig(
        model_args=args, audio=BaseAudioConfig(sample_rate=22050), text_cleaner="english_cleaners",
        use_phonemes=False, add_blank=True, use_speaker_embedding=True, speakers=["female", "male"])
    torch.manual_seed(0)
    model = Vits(config).eval()
    folder.mkdir(parents=True)
    torch.save({"model": model.state_dict(), "config": model.config.to_dict()}, folder / "model.pth")
    model.config.save_json(str(folder / "config.json"))


def user_catalogue(path, entries):
    """Write a user catalogue file with entries for the tiny model and load the merged catalogue."""
    path.write_text(json.dumps([{"name": entry["id"], "engine": "coqui", "language": "en",
                                 **entry} for entry in entries]), encoding="utf-8")
    return voices.load_catalogue(path)


@pytest.fixture(scope="module")
def tiny_catalogue(tmp_path_factory):
    """The tiny model in a folder, mapped into the catalogue as one voice per speaker."""
    root = tmp_path_factory.mktemp("coqui")
    build_tiny_vits(root / "tiny-vits")
    return user_catalogue(root / "voices.json", [
        {"id": "tiny-female", "gender": "female", "model": str(root / "tiny-vits"), "speaker": "female"},
        {"id": "tiny-male", "gender": "male", "model": str(root / "tiny-vits"), "speaker": "male"},
        {"id": "tiny-nobody", "gender": "male", "model": str(root / "tiny-vits"), "speaker": "p999"},
    ])


@pytest.mark.parametrize("voice_id", ["tiny-female", "tiny-male"])
def test_model_folder_loads_and_speaks_as_each_speaker(tiny_catalogue, voice_id):
    voice = tiny_catalogue.find(voice_id)
    assert voice.installed
    engine = voices.load_engine(voice)
    assert engine.sample_rate == 22050
    assert engine.speakers == ["female", "male"]
    audio = engine.synthesize("Hello there, this is a short test.", 1.0)
    assert audio.rate == 22050 and audio.samples.dtype.name == "float32"
    assert audio.seconds > 0
    assert engine is voices.load_engine(voice)


def test_speed_changes_duration(tiny_catalogue):
    engine = voices.load_engine(tiny_catalogue.find("tiny-female"))
    text = "The setting is sometime in the future."
    assert engine.synthesize(text, 2.0).seconds < engine.synthesize(text, 0.5).seconds


def test_unknown_speaker_lists_the_models_speakers(tiny_catalogue):
    with pytest.raises(VoiceUnavailableError) as raised:
        voices.load_engine(tiny_catalogue.find("tiny-nobody"))
    assert "p999" in raised.value.message and "female, male" in raised.value.message


@pytest.fixture
def no_network(monkeypatch):
    """Fail any name lookup or outgoing connection, and record that one was tried."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network disabled by test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    return attempts


def test_model_name_absent_from_cache_fails_fast_without_network(tmp_path, monkeypatch, no_network):
    monkeypatch.setenv("TTS_HOME", str(tmp_path / "empty"))
    catalogue = user_catalogue(tmp_path / "voices.json", [
        {"id": "vctk-p225", "gender": "female", "model": "tts_models/en/vctk/vits", "speaker": "p225"}])
    started = time.perf_counter()
    with pytest.raises(VoiceUnavailableError) as raised:
        voices.load_engine(catalogue.find("vctk-p225"))
    assert time.perf_counter() - started < 2
    assert not no_network
    assert str(tmp_path / "empty" / "tts" / "tts_models--en--vctk--vits") in raised.value.message


def test_moved_folder_with_absolute_speakers_file_says_how_to_fix(tmp_path, tiny_catalogue):
    source = tiny_catalogue.find("tiny-female").model
    moved = tmp_path / "moved"
    moved.mkdir()
    config = json.loads((Path(source) / "config.json").read_text())
    config["speakers_file"] = "/old/place/speaker_ids.json"
    (moved / "config.json").write_text(json.dumps(config))
    (moved / "model.pth").write_bytes(b"not read: the config is checked first")
    catalogue = user_catalogue(tmp_path / "voices.json", [
        {"id": "moved", "gender": "female", "model": str(moved), "speaker": "female"}])
    with pytest.raises(VoiceUnavailableError, match="/old/place/speaker_ids.json"):
        voices.load_engine(catalogue.find("moved"))
