"""The real engines (Piper, Kokoro) speak sample sentences: rate, length, speed and voice pitch."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import voices
from narration.errors import InvalidSpeedError

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "samples" / "her-review.txt"
# Median pitch over voiced frames: male voices sit around 85-155 Hz, female around 165-255 Hz.
PITCH_LIMITS = {"male": (0, 155), "female": (165, 1000)}


def sample_sentences() -> list[str]:
    """The sentences of one paragraph of the sample review (Theodore's introduction)."""
    text = SAMPLE.read_text(encoding="utf-8")
    paragraph = next(line for line in text.splitlines() if line.startswith("Theodore Twombly"))
    return re.split(r"(?<=[.!?])\s+", paragraph.strip())


@pytest.fixture(scope="module")
def catalogue():
    """The bundled catalogue only: a developer's NARRATOR_VOICES_FILE must not change these tests."""
    return voices.load_catalogue(voices.catalogue.BUNDLED_CATALOGUE)


@pytest.fixture(scope="module")
def sentences():
    return sample_sentences()


def pitch_cases():
    """The defaults on a full sample sentence; every other installed voice on a 12-word phrase.

    Medians over the phrase were within 6 Hz of those over two sentences for every voice, and the
    phrase keeps the Kokoro voices (RTF ~0.7) to a few seconds each.
    """
    catalogue = voices.load_catalogue(voices.catalogue.BUNDLED_CATALOGUE)
    defaults = set(catalogue.aliases.values())
    others = [voice.id for voice in catalogue.voices if voice.installed and voice.id not in defaults]
    return [*((alias, None) for alias in catalogue.aliases), *((voice_id, 12) for voice_id in others)]


def median_pitch(audio) -> float:
    """Median F0 in Hz over voiced frames (Praat's default pitch tracker)."""
    import parselmouth

    sound = parselmouth.Sound(audio.samples.astype(np.float64), sampling_frequency=audio.rate)
    frequencies = sound.to_pitch().selected_array["frequency"]
    return float(np.median(frequencies[frequencies > 0]))


@pytest.mark.parametrize("alias", ["male", "female"])
def test_default_voice_speaks_a_sample_sentence_at_a_plausible_length(catalogue, sentences, alias):
    voice = catalogue.find(alias)
    engine = voices.load_engine(voice)
    sentence = sentences[0]
    audio = engine.synthesize(sentence, 1.0)
    assert audio.rate == engine.sample_rate == voice.sample_rate
    assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1
    assert np.abs(audio.samples).max() <= 1.0
    assert np.sqrt(np.mean(audio.samples ** 2)) > 0.01, "audio is (nearly) silent"
    seconds_per_word = audio.seconds / len(sentence.split())
    assert 0.3 <= seconds_per_word <= 0.9


@pytest.mark.parametrize("alias", ["male", "female"])
def test_speed_scales_duration(catalogue, sentences, alias):
    engine = voices.load_engine(catalogue.find(alias))
    phrase = " ".join(sentences[0].split()[:8])  # short: Kokoro at 0.5 is slow to make
    slow = engine.synthesize(phrase, 0.5).seconds
    fast = engine.synthesize(phrase, 2.0).seconds
    assert 2.5 <= slow / fast <= 6  # 4 when duration scales exactly with 1/speed


@pytest.mark.parametrize("speed", [0.49, 2.01, 0])
def test_speed_outside_the_range_is_refused(catalogue, speed):
    engine = voices.load_engine(catalogue.find("male"))
    with pytest.raises(InvalidSpeedError):
        engine.synthesize("Hello.", speed)


@pytest.mark.parametrize("name, words", pitch_cases())
def test_voice_pitch_matches_its_catalogue_gender(catalogue, sentences, name, words):
    voice = catalogue.find(name)
    engine = voices.load_engine(voice)
    text = " ".join(sentences[0].split()[:words])
    low, high = PITCH_LIMITS[voice.gender]
    assert low < median_pitch(engine.synthesize(text, 1.0)) < high


def test_engine_is_loaded_once_per_process(catalogue):
    first = voices.load_engine(catalogue.find("female"))
    again = voices.load_engine(voices.load_catalogue(voices.catalogue.BUNDLED_CATALOGUE).find("female"))
    assert again is first


def test_identities_differ_between_voices_of_one_model(catalogue):
    kokoro_voices = [voice for voice in catalogue.voices if voice.engine == "kokoro"][:2]
    identities = {voices.load_engine(voice).identity for voice in kokoro_voices}
    assert len(identities) == 2


@pytest.mark.parametrize("setting, expected", [("1", 1), ("2", 2), ("0", None)])
def test_engine_threads_follow_the_setting(monkeypatch, setting, expected):
    import os

    from voices.engines import onnx_session_options

    monkeypatch.setenv("NARRATOR_ENGINE_THREADS", setting)
    assert onnx_session_options().intra_op_num_threads == (expected or os.cpu_count())
