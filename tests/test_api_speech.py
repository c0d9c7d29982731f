"""The OpenAI-compatible POST /v1/audio/speech with the real male voice (Piper), MP3 and WAV,
spoken by a real Celery worker behind the real app; requests it refuses never reach a worker."""

from __future__ import annotations

import io
import wave

import numpy as np
import pytest

from api_fixtures import api_key, app, client, error_of, recorder  # noqa: F401
from narration.encode import decode_mp3
from service.api.speech import OPENAI_VOICES

SPEECH = "/v1/audio/speech"
SENTENCE = "Hello there. This is a short test of the speech endpoint, read by a man."
MALE_MAX_F0 = 165.0
"""Hz: adult male speaking pitch sits around 85–155 Hz, female around 165–255 Hz."""


def median_pitch(samples: np.ndarray, rate: int) -> float:
    """Median F0 of the voiced frames, by Praat's autocorrelation method."""
    parselmouth = pytest.importorskip("parselmouth")
    pitch = parselmouth.Sound(samples.astype(np.float64), rate).to_pitch()
    voiced = pitch.selected_array["frequency"]
    return float(np.median(voiced[voiced > 0]))


def speak(client, **fields):
    return client.post(SPEECH, json={"model": "tts-1", "input": SENTENCE, "voice": "onyx", **fields})


@pytest.fixture(scope="module")
def spoken(live_url, http, celery_worker):
    """POST /v1/audio/speech to the real app, spoken by a real worker; the response."""

    def speak_live(**fields):
        return http.post(f"{live_url}{SPEECH}", timeout=120,
                         json={"model": "tts-1", "input": SENTENCE, "voice": "onyx", **fields})

    return speak_live


def test_mp3_is_decodable_speech_in_a_male_voice(spoken, tmp_path):
    response = spoken()
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == "audio/mpeg"
    path = tmp_path / "speech.mp3"
    path.write_bytes(response.content)
    audio = decode_mp3(path)
    assert 2.0 < audio.seconds < 15.0  # a dozen words
    assert np.sqrt(np.mean(audio.samples ** 2)) > 0.01  # not silence
    assert median_pitch(audio.samples, audio.rate) < MALE_MAX_F0


def test_wav_is_mono_pcm_in_a_male_voice(spoken):
    response = spoken(response_format="wav", voice="male")
    assert response.status_code == 200 and response.headers["Content-Type"] == "audio/wav"
    with wave.open(io.BytesIO(response.content)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 44100)
        frames = wav.readframes(wav.getnframes())
        seconds = wav.getnframes() / wav.getframerate()
    samples = np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768
    assert 2.0 < seconds < 15.0
    assert median_pitch(samples, 44100) < MALE_MAX_F0


def test_faster_speech_is_shorter(spoken):
    def seconds(speed):
        data = spoken(response_format="wav", speed=speed).content
        with wave.open(io.BytesIO(data)) as wav:
            return wav.getnframes() / wav.getframerate()

    assert seconds(1.5) < 0.85 * seconds(1.0)


@pytest.mark.parametrize("name", sorted(OPENAI_VOICES))
def test_every_openai_voice_name_resolves_to_a_catalogue_voice(app, name):
    voice = app.extensions["narrator"].catalogue.find(OPENAI_VOICES[name])
    assert voice.installed


SPEECH_ERRORS = [
    # (fields, status, code, field)
    ({"response_format": "opus"}, 422, "unsupported_format", "response_format"),
    ({"input": "x" * 4097}, 422, "invalid_request", "input"),
    ({"input": ""}, 422, "empty_text", "input"),
    ({"input": "🙂 ..."}, 422, "nothing_speakable", "input"),
    ({"speed": 4.0}, 422, "invalid_speed", "speed"),
    ({"speed": 0.25}, 422, "invalid_speed", "speed"),
    ({"voice": "robot"}, 422, "unknown_voice", "voice"),
    ({"model": None}, 422, "missing_field", "model"),
    ({"input": None}, 422, "missing_field", "input"),
]


@pytest.mark.parametrize("fields, status, code, field", SPEECH_ERRORS,
                         ids=[f"{list(case[0])[0]}-{case[2]}" for case in SPEECH_ERRORS])
def test_speech_mistakes_get_their_status_and_field(client, fields, status, code, field):
    response = speak(client, **fields)
    error = error_of(response)
    assert (response.status_code, error["code"], error.get("field")) == (status, code, field)


def test_unsupported_format_lists_the_supported_ones(client):
    message = error_of(speak(client, response_format="flac"))["message"]
    assert "mp3" in message and "wav" in message


def test_speech_wants_json_and_an_audio_accept(client):
    form = client.post(SPEECH, data="input=hi", content_type="application/x-www-form-urlencoded")
    assert form.status_code == 415
    broken = client.post(SPEECH, data="{", content_type="application/json")
    assert broken.status_code == 400 and error_of(broken)["code"] == "malformed_json"
    refused = client.post(SPEECH, json={"model": "tts-1", "input": "Hi.", "voice": "onyx"},
                          headers={"Accept": "application/json"})
    assert refused.status_code == 406


def test_one_user_may_have_only_a_few_speech_requests_in_progress(live_url, live_key, celery_worker):
    """Long inputs from one key cannot queue everyone behind them: past the cap, 429 at once."""
    import concurrent.futures

    import requests

    def long_speech():
        return requests.post(f"{live_url}{SPEECH}", timeout=120,
                             headers={"Authorization": f"Bearer {live_key}"},
                             json={"model": "tts-1", "voice": "male", "input": SENTENCE * 12})

    with concurrent.futures.ThreadPoolExecutor(5) as pool:
        statuses = sorted(response.status_code for response in pool.map(lambda _: long_speech(),
                                                                          range(5)))
    assert statuses.count(200) >= 2 and 429 in statuses, statuses
    assert set(statuses) <= {200, 429}
