"""The checks of a narration in the service: the names check in every job's status (found by the
plan task, with the lexicons that apply), the recognition check asked for with `"check": true`
(refused at once when it is not installed or not a boolean), and, with a real Celery worker and
the male voice, check.json and the check's summary in the status.

HTTP-layer tests use the recorded app (api_fixtures: the plan step runs in this process); the
end-to-end tests use the module's real Redis, worker processes, SQLite file and media folder.
"""

from __future__ import annotations

import time

import pytest

from api_fixtures import api_key, app, client, error_of, recorder, submit  # noqa: F401
from narration.check import comparable
from tests.checks import parse_vtt, sentence_cache_entries
from tests.conftest_service import wait_until
from voices import recognizer

NARRATIONS = "/api/v1/narrations"
NAMES_TEXT = ("In the film, Caleb wins a week at the house of Nathan Bateman. "
              "Nathan lives alone with Kyoko. Caleb meets Ava, and the week goes wrong.")
NAMES = {"Caleb", "Nathan", "Bateman", "Kyoko", "Ava"}


def name_words(view: dict) -> dict[str, dict]:
    return {item["word"]: item for item in view["names"]["words"]}


def test_the_status_lists_the_names_of_the_text_and_which_a_lexicon_covers(client):
    before = submit(client, {"text": NAMES_TEXT, "voice": "male"})
    names = before["names"]
    assert set(name_words(before)) == NAMES
    assert names["names"] == len(NAMES) and names["not_in_lexicon"] == len(NAMES)
    assert names["summary"].startswith(f"{len(NAMES)} names; {len(NAMES)} not in your lexicon")
    caleb = name_words(before)["Caleb"]
    assert caleb["count"] == 2 and caleb["in_lexicon"] is False
    assert [s["text"] for s in caleb["sentences"]][0].startswith("In the film, Caleb wins")
    assert all(isinstance(item["guessed"], bool) for item in names["words"])  # espeak-ng said

    put = client.put("/api/v1/lexicons/mine", data="Kyoko\tkee oh koh\n",
                     content_type="text/plain")
    assert put.status_code == 201, put.get_json()
    after = submit(client, {"text": NAMES_TEXT, "voice": "male"})
    assert name_words(after)["Kyoko"]["in_lexicon"] is True
    assert after["names"]["not_in_lexicon"] == len(NAMES) - 1
    assert client.get(before["links"]["self"]).get_json()["names"] == names  # kept as found


@pytest.mark.parametrize("value", ["yes", 1, 0, [], {"on": True}])
def test_check_must_be_a_boolean(client, recorder, value):
    response = client.post(NARRATIONS, json={"text": NAMES_TEXT, "voice": "male", "check": value})
    assert response.status_code == 422
    assert error_of(response)["field"] == "check"
    assert recorder.enqueued == []


def test_a_batch_item_with_a_bad_check_gets_its_own_error(client):
    response = client.post(f"{NARRATIONS}:batch", json={"items": [
        {"text": NAMES_TEXT, "voice": "male", "check": "true"},
        {"text": NAMES_TEXT, "voice": "male", "check": False}]})
    items = response.get_json()["items"]
    assert response.status_code == 202
    assert items[0]["status"] == 422 and items[0]["error"]["field"] == "check"
    assert items[1]["status"] == 202 and "check" not in items[1]["narration"]


def test_check_is_refused_at_once_where_the_recognizer_is_not_installed(client, recorder,
                                                                       monkeypatch):
    monkeypatch.setattr(recognizer, "missing", lambda: "faster_whisper not installed: pip …")
    response = client.post(NARRATIONS, json={"text": NAMES_TEXT, "voice": "male", "check": True})
    assert response.status_code == 503
    error = error_of(response)
    assert (error["code"], error["field"]) == ("recognizer_unavailable", "check")
    assert "faster_whisper" in error["message"] and recorder.enqueued == []
    assert client.post(NARRATIONS, json={"text": NAMES_TEXT, "voice": "male"}).status_code == 202


@pytest.mark.skipif(recognizer.missing() is not None, reason=f"{recognizer.missing()}")
def test_a_checked_job_says_its_check_is_pending_until_done_and_unchecked_ones_have_none(client):
    checked = submit(client, {"text": NAMES_TEXT, "voice": "male", "check": True})
    plain = submit(client, {"text": NAMES_TEXT, "voice": "male"})
    assert checked["check"] == {"status": "pending"} and "check" not in plain
    assert checked["id"] != plain["id"]  # asking for the check is another request
    without = client.get(f"{NARRATIONS}/{plain['id']}/check.json")
    assert without.status_code == 404 and "without the recognition check" in error_of(without)["message"]
    pending = client.get(f"{NARRATIONS}/{checked['id']}/check.json")
    assert pending.status_code == 404 and error_of(pending)["code"] == "not_ready"



def finished(http, job: dict, worker, timeout: float = 300) -> dict:
    """The job's status once it is done (the test fails with the worker's log otherwise)."""
    def ended():
        view = http.get(job["links"]["self"], timeout=30).json()
        return view if view["status"] in ("done", "failed", "canceled") else None

    view = wait_until(ended, timeout, f"job {job['id']} to end", interval=0.5)
    assert view["status"] == "done", (view.get("error"), worker.log_tail())
    return view


CHECKED = {"title": "Ex Machina", "voice": "male", "check": True, "chapters": [
    {"title": "The Story", "text": "Caleb wins a week at a house in the mountains. "
                                   "Nathan shows him a robot called Ava."},
    {"title": "Verdict", "text": "It is a cold and clever film. See it on a quiet evening."}]}


@pytest.mark.slow
@pytest.mark.skipif(recognizer.missing() is not None, reason=f"{recognizer.missing()}")
def test_a_checked_narration_publishes_check_json_and_its_summary(live_url, http, celery_worker):
    created = http.post(f"{live_url}{NARRATIONS}", json=CHECKED, timeout=30)
    assert created.status_code == 202, created.text
    done = finished(http, created.json(), celery_worker)
    summary = done["check"]
    report = http.get(done["links"]["check"], timeout=30)
    assert report.status_code == 200 and report.headers["Content-Type"] == "application/json"
    report = report.json()
    cues = parse_vtt(http.get(done["links"]["transcript"], timeout=30).text)

    # Every word of the transcript was compared, once, in the chapters as narrated.
    assert report["words"] == sum(len(comparable(text)) for _start, _end, text in cues) > 20
    assert [c["title"] for c in report["chapters"]] == ["The Story", "Verdict"]
    assert sum(c["words"] for c in report["chapters"]) == report["words"]
    assert 0 <= report["wer"] == pytest.approx(report["errors"] / report["words"], abs=1e-4)
    assert report["names"] == done["names"] and "Whisper" in report["recognizer"]
    # The status holds the summary of the same report.
    assert summary["status"] == "done"
    assert (summary["wer"], summary["words"], summary["retried"]) == (
        report["wer"], report["words"], report["retried"])
    assert [s["text"] for s in summary["suspect"]] == [s["text"] for s in report["suspect"]]
    # Times are episode times, where the episode plays the sentence.
    spoken = {text: (start, end) for start, end, text in cues}
    for sentence in [*report["suspect"], *(s for c in report["chapters"] for s in c["retried"])]:
        assert 0 <= sentence["start"] < sentence["end"] <= done["duration"]
        assert spoken[sentence["text"]] == pytest.approx((sentence["start"], sentence["end"]),
                                                         abs=0.01)
    assert {n["name"] for n in summary["names_not_recognized"]} <= set(name_words(done))


@pytest.mark.slow
def test_narrating_again_after_adding_a_pronunciation_renders_only_the_touched_sentences(
        live_url, http, celery_worker):
    body = {"title": "Names", "voice": "male", "text": NAMES_TEXT + " Nobody else comes."}
    first = finished(http, http.post(f"{live_url}{NARRATIONS}", json=body, timeout=30).json(),
                     celery_worker)
    assert name_words(first)["Kyoko"]["in_lexicon"] is False
    before = sentence_cache_entries()
    put = http.put(f"{live_url}/api/v1/lexicons/pronunciations", data="Kyoko\t/kiˈoʊkoʊ/\n",
                   headers={"Content-Type": "text/plain"}, timeout=30)
    assert put.status_code == 201, put.text
    again = finished(http, http.post(f"{live_url}{NARRATIONS}", json=body, timeout=30).json(),
                     celery_worker)
    touched = [s for s in NAMES_TEXT.split(". ") if "Kyoko" in s]
    assert again["id"] != first["id"] and name_words(again)["Kyoko"]["in_lexicon"] is True
    assert sentence_cache_entries() - before == len(touched) == 1


@pytest.mark.slow
@pytest.mark.skipif(recognizer.missing() is not None, reason=f"{recognizer.missing()}")
def test_a_part_task_stores_the_check_of_a_broken_take_and_the_join_places_it(tmp_path):
    """What a part task and the join do with the check (speak_part, fetch_checks, parts_report),
    in this process with a voice that keeps one sentence silent: it is retaken twice, stays
    suspect, and is reported at its cue in the joined episode."""
    import uuid

    import voices
    from narration.check import EpisodeCheck, make_retake, parts_report
    from narration.document import Metadata
    from narration.join import join_segments
    from narration.pipeline import plan_parts
    from narration.reading import read_plain
    from narration.script import build_script
    from state.media import open_media_store
    from tests.fakes import BrokenEngine
    from workers.parts import PartProgress, fetch_checks, fetch_segments, speak_part

    broken = "The robot must pass a simple test before the end of the week."
    text = f"Caleb wins a week at a house in the mountains.\n\n{broken} Nobody expects what happens."
    engine = BrokenEngine(voices.load_engine(voices.load_catalogue().find("male")), "silence", 99)
    parts = plan_parts(build_script(read_plain(text), max_chars=engine.max_chars), max_chars=60)
    assert len(parts) >= 2  # the check of a later part is shifted in its chapter
    media, job_id = open_media_store((tmp_path / "media").as_uri()), str(uuid.uuid4())
    whisper = recognizer.load_recognizer()
    for index, part in enumerate(parts):
        speak_part(media, job_id, index, part, engine, speed=1.0, bitrate="64k",
                   progress=PartProgress(lambda sentences, chars: "running"),
                   checker=EpisodeCheck(whisper, make_retake(engine, 1.0)))
    indexes = list(range(len(parts)))
    segments = fetch_segments(media, job_id, indexes, tmp_path)
    files = join_segments(segments, Metadata(title="T"), tmp_path / "episode.mp3", cover=None)
    report = parts_report(fetch_checks(media, job_id, segments, indexes), cues=files.cues)

    assert engine.broken_takes == 3  # the take, then two retakes
    [suspect] = [s for s in report["suspect"] if s["text"] == broken]
    assert suspect["retries"] == 2 and suspect["problem"] is not None
    [cue] = [c for c in files.cues if c.text == broken]
    assert (suspect["start"], suspect["end"]) == (round(cue.start, 3), round(cue.end, 3))
    assert 0 < suspect["start"] < suspect["end"] <= files.duration
    assert report["words"] == sum(len(comparable(c.text)) for c in files.cues)
    assert [s["index"] for s in report["chapters"][0]["suspect"]] == [
        next(i for i, c in enumerate(files.cues) if c.text == broken)]
