"""/v1/audio/speech with "stream": true, spoken by a real Celery worker with the real male voice
(Piper) behind the real app on a real port: audio arrives while the rest is still being said,
the MP3 stream is one file as long as the unstreamed one, PCM is OpenAI's 24 kHz 16-bit mono,
and a client that leaves frees its slot and stops the worker."""

from __future__ import annotations

import re
import subprocess
import time

import numpy as np
import pytest
import requests

from api_fixtures import api_key, app, client, error_of, recorder  # noqa: F401
from narration.encode import FFMPEG, decode_mp3
from narration.loudness import TARGET_LUFS, integrated_loudness
from tests.conftest_service import MISSING_VOICE, wait_until
from tests.test_api_speech import MALE_MAX_F0, median_pitch

SPEECH = "/v1/audio/speech"
TEXT = ("The morning train was late again. Nobody on the platform seemed surprised by it. "
        "A man in a grey coat read the previous day's newspaper. Two students argued about a "
        "film they had both loved. The announcer apologised for the delay in a tired voice. "
        "At last the train pulled in, and everyone climbed aboard without a word.")
SENTENCES = 6
LONG_TEXT = " ".join([TEXT] * 2)
"""Twelve sentences: room for the worker to stop well before the end."""
HOLDING_TEXT = " ".join([TEXT] * 12)
"""72 sentences, under the 4,096-character limit: a stream that stays in progress on the
worker for the seconds a test needs (it is canceled when the test lets go)."""
PCM_RATE = 24000
DURATION_TOLERANCE = 0.05


def body(**fields) -> dict:
    return {"model": "tts-1", "input": TEXT, "voice": "onyx", **fields}


def timed_stream(http, url: str, **fields) -> tuple[bytes, float, float, int]:
    """POST with stream and read the body as it comes: (body, seconds to the first audio,
    seconds to the end, reads that brought data)."""
    started = time.perf_counter()
    first, data, reads = None, bytearray(), 0
    with http.post(url, json=body(stream=True, **fields), stream=True, timeout=120) as response:
        assert response.status_code == 200, response.text
        for chunk in response.raw.stream(65536, decode_content=False):
            if chunk:
                first = first or time.perf_counter() - started
                data += chunk
                reads += 1
    return bytes(data), first, time.perf_counter() - started, reads


def seconds_of_mp3(data: bytes, folder, name: str) -> float:
    """Duration as ffmpeg decodes the whole file (which fails on a broken stream)."""
    path = folder / name
    path.write_bytes(data)
    check = subprocess.run([FFMPEG, "-v", "error", "-i", str(path), "-f", "null", "-"],
                           capture_output=True, text=True)
    assert check.returncode == 0 and not check.stderr.strip(), check.stderr
    return decode_mp3(path).seconds


@pytest.fixture(scope="module")
def unstreamed_seconds(live_url, http, celery_worker, tmp_path_factory) -> float:
    """How long the same text lasts as one MP3 file. Asked twice at once, so both worker
    processes have loaded the voice before any stream is timed."""
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        responses = list(pool.map(lambda _: http.post(f"{live_url}{SPEECH}", json=body(),
                                                      timeout=120), range(2)))
    assert [response.status_code for response in responses] == [200, 200]
    return seconds_of_mp3(responses[0].content, tmp_path_factory.mktemp("file"), "whole.mp3")


def test_mp3_stream_starts_early_and_decodes_as_long_as_the_file(live_url, http,
                                                                   unstreamed_seconds, tmp_path):
    data, first, whole, reads = timed_stream(http, f"{live_url}{SPEECH}")
    # Six sentences: the first audio comes after about one of them is said, not all six.
    assert first < 0.5 * whole, (first, whole)
    assert reads > SENTENCES / 2  # it came in pieces, not at once
    seconds = seconds_of_mp3(data, tmp_path, "stream.mp3")
    assert abs(seconds - unstreamed_seconds) <= DURATION_TOLERANCE * unstreamed_seconds, \
        (seconds, unstreamed_seconds)
    audio = decode_mp3(tmp_path / "stream.mp3")
    assert median_pitch(audio.samples, audio.rate) < MALE_MAX_F0
    # Each sentence is brought to the podcast loudness on its own: the whole is at it too.
    assert abs(integrated_loudness(audio) - TARGET_LUFS) < 1.0, integrated_loudness(audio)


def test_pcm_stream_is_24_khz_16_bit_mono(live_url, http, unstreamed_seconds):
    data, first, whole, _ = timed_stream(http, f"{live_url}{SPEECH}", response_format="pcm")
    assert first < 0.5 * whole, (first, whole)
    assert len(data) % 2 == 0
    samples = np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768
    seconds = len(samples) / PCM_RATE
    assert abs(seconds - unstreamed_seconds) <= DURATION_TOLERANCE * unstreamed_seconds, \
        (seconds, unstreamed_seconds)
    # Read at any other rate, a man's voice would not sound like one (24 vs 44.1 kHz: ×1.8).
    assert 70 < median_pitch(samples, PCM_RATE) < MALE_MAX_F0


def test_pcm_file_is_the_same_format(live_url, http, unstreamed_seconds):
    response = http.post(f"{live_url}{SPEECH}", json=body(response_format="pcm"), timeout=120)
    assert response.status_code == 200 and response.headers["Content-Type"] == "audio/pcm"
    seconds = len(response.content) / 2 / PCM_RATE
    assert abs(seconds - unstreamed_seconds) <= DURATION_TOLERANCE * unstreamed_seconds


def abandon_streams(http, url: str, worker, count: int = 2) -> list[tuple[int, int]]:
    """Open `count` streams one after another and leave each after its first chunk; once the
    worker logged that each stopped, (sentences spoken, sentences in the text) per stream."""
    mark = worker.log.stat().st_size
    for _ in range(count):
        with http.post(url, json=body(input=LONG_TEXT, stream=True), stream=True,
                       timeout=120) as response:
            assert response.status_code == 200
            assert next(response.raw.stream(1024, decode_content=False))
        # Leaving the block (and dropping the half-read body) closes the connection.

    def stopped() -> list[tuple[int, int]]:
        log = worker.log.read_bytes()[mark:].decode(errors="replace")
        found = re.findall(r"the listener left after (\d+) of (\d+) sentences", log)
        return [(int(a), int(b)) for a, b in found] if len(found) == count else []

    return wait_until(stopped, 60, f"the worker to stop {count} streams")


def test_a_client_that_leaves_frees_its_slot_and_stops_the_worker(live_url, http,
                                                                   celery_worker):
    """Twice as many abandoned streams as the per-user cap (2): had a slot stayed taken, the
    next request would be refused with 429."""
    for spoken, total in abandon_streams(http, f"{live_url}{SPEECH}", celery_worker):
        assert total == 2 * SENTENCES and spoken < total - 2, (spoken, total)
    again = http.post(f"{live_url}{SPEECH}", json=body(input="Still here?", stream=True),
                      timeout=120)
    assert again.status_code == 200, again.text
    assert len(again.content) > 1000


def test_open_streams_count_against_the_per_user_cap(live_url, http, celery_worker):
    """Two streams open (SPEECH_PER_USER): a third request of the same user is refused at once,
    streamed or not."""
    import contextlib

    readers = []  # urllib3 closes the connection when a half-read body's reader is dropped
    with contextlib.ExitStack() as open_streams:
        for _ in range(2):
            response = open_streams.enter_context(http.post(
                f"{live_url}{SPEECH}", json=body(input=HOLDING_TEXT, stream=True), stream=True,
                timeout=120))
            assert response.status_code == 200
            readers.append(response.raw.stream(1024, decode_content=False))
            assert next(readers[-1])
        for fields in ({"stream": True}, {}):
            started = time.perf_counter()
            third = http.post(f"{live_url}{SPEECH}", json=body(**fields), timeout=120)
            assert third.status_code == 429 and third.headers["Retry-After"], third.status_code
            assert third.json()["error"]["code"] == "quota_exceeded"
            assert time.perf_counter() - started < 5


@pytest.fixture
def one_stream_url(service_env, database):
    """The real app on a port of its own, holding at most one speech stream (SPEECH_MAX_STREAMS),
    as a web process holds at most a few whatever its users ask."""
    import threading

    from werkzeug.serving import make_server

    from service import create_app

    server = make_server("127.0.0.1", 0, create_app({"TESTING": True, "SPEECH_MAX_STREAMS": 1}),
                         threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


def test_streams_past_the_process_limit_wait_while_other_requests_are_served(
        one_stream_url, database, celery_worker):
    """A second user's stream is refused (503, Retry-After) while the web process holds its one
    speech stream; ordinary requests still answer; once the stream closes, streams are taken
    again."""
    from state import users

    with database.session() as session:
        keys = [users.create_user(session, f"streamer-{n}-{time.time_ns()}")[1] for n in range(2)]
    first, second = (requests.Session() for _ in keys)
    for session, key in zip((first, second), keys):
        session.headers["Authorization"] = f"Bearer {key}"
    url = f"{one_stream_url}{SPEECH}"
    with first.post(url, json=body(input=HOLDING_TEXT, stream=True), stream=True,
                    timeout=120) as holding:
        assert holding.status_code == 200
        refused = second.post(url, json=body(stream=True), timeout=120)
        assert refused.status_code == 503 and refused.headers["Retry-After"]
        assert refused.json()["error"]["code"] == "streams_busy"
        assert second.get(f"{one_stream_url}/api/v1/voices", timeout=10).status_code == 200
    # The stream's slot comes back once the server sees the client gone.
    wait_until(lambda: second.post(url, json=body(input="Now me.", stream=True),
                                   timeout=120).status_code == 200, 30, "a stream slot")


def test_openai_client_streams_speech(live_url, live_key, unstreamed_seconds, tmp_path):
    openai = pytest.importorskip("openai")
    speech = openai.OpenAI(base_url=f"{live_url}/v1", api_key=live_key, max_retries=0).audio.speech
    path = tmp_path / "openai.mp3"
    with speech.with_streaming_response.create(
            model="tts-1", voice="onyx", input=TEXT, response_format="mp3",
            extra_body={"stream": True}) as response:
        assert response.headers["content-type"] == "audio/mpeg"
        pieces = [chunk for chunk in response.iter_bytes() if chunk]
    path.write_bytes(b"".join(pieces))
    assert len(pieces) > 1
    seconds = decode_mp3(path).seconds
    assert abs(seconds - unstreamed_seconds) <= DURATION_TOLERANCE * unstreamed_seconds


STREAM_ERRORS = [
    # (fields, status, code, field)
    ({"stream": "true"}, 422, "invalid_request", "stream"),
    ({"stream": 1}, 422, "invalid_request", "stream"),
    ({"stream": {}}, 422, "invalid_request", "stream"),
    ({"stream": True, "response_format": "wav"}, 422, "unsupported_format", "response_format"),
    ({"stream": True, "response_format": "opus"}, 422, "unsupported_format", "response_format"),
    ({"stream": True, "input": ""}, 422, "empty_text", "input"),
]


@pytest.mark.parametrize("fields, status, code, field", STREAM_ERRORS,
                         ids=[f"{case[2]}-{index}" for index, case in enumerate(STREAM_ERRORS)])
def test_stream_mistakes_get_their_status_and_field(client, fields, status, code, field):
    response = client.post(SPEECH, json=body(**fields))
    error = error_of(response)
    assert (response.status_code, error["code"], error.get("field")) == (status, code, field)


def test_wav_refusal_says_why(client):
    refused = client.post(SPEECH, json=body(stream=True, response_format="wav"))
    message = error_of(refused)["message"]
    assert "length" in message and "mp3" in message and "pcm" in message


def test_a_worker_failure_before_any_audio_is_a_json_error(live_url, http, celery_worker):
    """The catalogue's voice whose model is absent fails on the worker, before the first chunk:
    still a JSON error with the worker's code and status, not a 200 with an empty body."""
    response = http.post(f"{live_url}{SPEECH}", json=body(voice=MISSING_VOICE, stream=True),
                         timeout=120)
    assert response.status_code == 503, response.text
    assert response.json()["error"]["code"] == "voice_unavailable"


def test_under_gunicorn_a_stream_flows_and_a_leaving_client_stops_the_worker(
        service_env, database, celery_worker, http, unstreamed_seconds, tmp_path):
    """The web process as production runs it (gunicorn, gthread): the stream starts before the
    text is done, and a client that leaves stops the worker and frees its slot there too."""
    from tests.stack import Stack

    with Stack(service_env, tmp_path / "gunicorn", worker=False) as stack:
        url = f"{stack.url}{SPEECH}"
        data, first, whole, _ = timed_stream(http, url)
        assert first < 0.5 * whole and len(data) > 10_000, (first, whole, len(data))
        # Two, the per-user cap: a slot left taken would refuse the request after them.
        for spoken, total in abandon_streams(http, url, celery_worker):
            assert spoken < total - 2, (spoken, total)
        assert http.post(url, json=body(input="Still here?", stream=True),
                         timeout=120).status_code == 200
