"""The recognition check with the real recognizer (Whisper-base through faster-whisper): a broken
take (silence, or a clause dropped) is caught, retaken and reported; what stays broken is reported
with its times; a lexicon that maps a name to another word changes what is heard while the
transcript keeps the original."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import voices
from narration.check import EpisodeCheck, comparable, make_retake, score
from narration.pipeline import narrate
from narration.reading import read_plain
from tests.fakes import BrokenEngine
from voices import recognizer as whisper

ROOT = Path(__file__).resolve().parents[1]
BROKEN = "The robot must pass a simple test before the end of the week."
TEXT = f"Caleb wins a week at a house in the mountains. {BROKEN} Nobody expects what happens next."

def needs_recognizer(test):
    """Slow, and skipped with the reason when the recognizer is not installed."""
    skip = pytest.mark.skipif(whisper.missing() is not None,
                              reason=f"recognizer not installed: {whisper.missing()}")
    return pytest.mark.slow(skip(test))


@pytest.mark.parametrize("reference, heard, problem", [
    ("The robot must pass a simple test.", "", "silence"),
    ("The robot must pass a simple test before the end.", "The robot must pass.", "skipped"),
    ("Caleb wins a week.", "Caleb wins a week. Caleb wins a week.", "repeated"),
    ("The robot must pass a simple test.", "Thy rowboat mist pest us ample toast.", "garbled"),
    ("Caleb meets Nathan at the house.", "Calib meets Nathen at the house.", None),
    ("It cost $15 in 2015.", "It cost fifteen dollars in twenty fifteen.", None),
])
def test_a_take_is_bad_when_words_go_missing_repeat_or_turn_to_garbage(reference, heard,
                                                                     problem):
    assert score(reference, heard).problem == problem


def test_both_sides_are_normalized_the_same_way():
    assert comparable("Nathan’s house, in 2015 — ten-thirty!") == comparable(
        "nathan's house in twenty fifteen ten thirty")


@pytest.fixture(scope="module")
def male():
    return voices.load_engine(voices.load_catalogue().find("male"))


@needs_recognizer
@pytest.mark.parametrize("mode", ["silence", "dropped"])
def test_a_broken_take_is_caught_retaken_and_reported(tmp_path, male, mode):
    engine = BrokenEngine(male, mode, failures=1)
    check = EpisodeCheck(whisper.load_recognizer(), make_retake(engine, 1.0))
    files = narrate(read_plain(TEXT), engine, tmp_path / "x.mp3", after_part=check)
    report = check.report()
    assert engine.broken_takes == 1
    # the broken sentence is retaken once; another may be too if the voice blurs a word of it
    assert report["suspect"] == []
    [retried] = [s for s in report["chapters"][0]["retried"] if s["text"] == BROKEN]
    assert retried["text"] == BROKEN and retried["retries"] == 1 and retried["problem"] is None
    assert "test" in retried["heard"].lower()  # the retake was heard whole
    assert report["wer"] < 0.2
    assert files.duration > 6


@needs_recognizer
def test_a_take_that_stays_broken_is_reported_with_its_times(tmp_path, male):
    engine = BrokenEngine(male, "silence", failures=99)
    check = EpisodeCheck(whisper.load_recognizer(), make_retake(engine, 1.0))
    narrate(read_plain(TEXT), engine, tmp_path / "x.mp3", after_part=check)
    report = check.report()
    assert engine.broken_takes == 3  # the take, then two retakes
    [suspect] = report["suspect"]
    assert (suspect["text"], suspect["problem"], suspect["retries"]) == (BROKEN, "silence", 2)
    vtt = (tmp_path / "x.vtt").read_text()
    # the times are the sentence's cue in the episode's transcript
    assert f"{_vtt_time(suspect['start'])} --> {_vtt_time(suspect['end'])}\n{BROKEN}" in vtt
    assert report["words"] == len(comparable(TEXT))
    assert report["errors"] >= len(comparable(BROKEN))


def _vtt_time(seconds: float) -> str:
    millis = round(seconds * 1000)
    return f"{millis // 3600000:02d}:{millis // 60000 % 60:02d}:{millis // 1000 % 60:02d}.{millis % 1000:03d}"


@needs_recognizer
def test_a_lexicon_changes_what_is_heard_while_the_transcript_keeps_the_original(tmp_path):
    (tmp_path / "review.txt").write_text("Then Caleb opens the door. Later Caleb sits down.\n")
    (tmp_path / "names.pls").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<lexicon version="1.0" '
        'xmlns="http://www.w3.org/2005/01/pronunciation-lexicon" alphabet="ipa" '
        'xml:lang="en-US"><lexeme><grapheme>Caleb</grapheme><alias>Robert</alias></lexeme>'
        '</lexicon>\n')
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NARRATOR_DATA_DIR": str(tmp_path / "data")}

    def run(*extra):
        result = subprocess.run(
            [sys.executable, "-m", "cli", "narrate", "review.txt", "--voice", "male", "--check",
             *extra], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=600)
        assert result.returncode == 0, result.stderr
        report = json.loads((tmp_path / "review.check.json").read_text())
        return result.stdout, report, (tmp_path / "review.vtt").read_text()

    stdout, plain, _vtt = run()
    assert "check: word error rate" in stdout
    stdout, respelled, vtt = run("--lexicon", "names.pls")
    missed = respelled["names_not_recognized"]
    assert {m["name"] for m in missed} == {"Caleb"} and len(missed) == 2
    assert all("robert" in comparable(m["heard"]) for m in missed)
    assert not any("robert" in comparable(m["heard"]) for m in plain["names_not_recognized"])
    assert "Then Caleb opens the door." in vtt and "Robert" not in vtt
    assert respelled["names"]["words"][0]["in_lexicon"] is True


class ScriptedRecognizer:
    """Hears what the tone engine was asked to say, except one sentence it never hears."""

    def __init__(self, engine, deaf_to: str):
        self.engine, self.deaf_to = engine, deaf_to

    def transcribe(self, audio) -> str:
        said = list(self.engine.spoken)
        self.engine.spoken.clear()
        return " ".join(text for text in said if self.deaf_to not in text)


def test_suspect_times_are_episode_times_in_every_chapter(tmp_path):
    from tests.fakes import ToneEngine

    engine = ToneEngine()
    text = ("First\n\nOne two three four. Five six seven eight.\n\nSecond\n\n"
            "Nine ten eleven twelve. The deaf sentence is never heard at all.\n")
    check = EpisodeCheck(ScriptedRecognizer(engine, "deaf"), make_retake(engine, 1.0))
    files = narrate(read_plain(text), engine, tmp_path / "x.mp3", after_part=check)
    report = check.report(cues=files.cues)
    [suspect] = report["suspect"]
    assert (suspect["chapter"], suspect["problem"], suspect["retries"]) == (1, "silence", 2)
    vtt = (tmp_path / "x.vtt").read_text()
    cue = f"{_vtt_time(suspect['start'])} --> {_vtt_time(suspect['end'])}\n"
    assert cue + "The deaf sentence is never heard at all." in vtt
    assert report["chapters"][0]["errors"] == 0 and report["errors"] == 8


def test_the_parts_of_a_chapter_become_one_chapter_in_the_episode_report():
    """The service checks parts; the report counts sentences and times from each chapter's start
    (the second part after the first one's audio and its own lead), then the cues place them."""
    from narration.check import parts_report
    from narration.render import Pauses
    from narration.segment import Segment
    from narration.timeline import Cue

    def segment(chapter: int, seconds: float, lead: float) -> Segment:
        return Segment("T", chapter, 1000, round(seconds * 1000), round(lead * 1000), 0, 0, 1, ())

    def check(sentences: int, suspect: list[dict], words: int, errors: int) -> dict:
        return {"title": "T", "words": words, "errors": errors, "wer": errors / words,
                "sentences": sentences, "retried": [], "suspect": suspect,
                "names_not_recognized": [{"name": "Ava", "sentence": 1, "heard": "a"}]
                if suspect else [], "seconds": 1.0}

    bad = {"index": 1, "text": "Second.", "heard": "", "start": 2.0, "end": 3.0, "retries": 2,
           "problem": "silence"}
    parts = [(segment(0, 10.0, 1.0), check(3, [], 10, 1)),
             (segment(0, 6.0, 0.5), check(2, [bad], 5, 2)),
             (segment(1, 4.0, 2.0), check(1, [], 4, 0))]
    report = parts_report(parts)
    first, second = report["chapters"]
    assert (first["words"], first["errors"], first["sentences"]) == (15, 3, 5)
    assert report["words"] == 19 and report["wer"] == round(3 / 19, 4)
    moved = report["suspect"][0]
    assert moved["index"] == 4 and moved["chapter"] == 0
    assert report["names_not_recognized"] == [{"name": "Ava", "sentence": 4, "heard": "a",
                                              "chapter": 0}]
    # Chapter time: 9 s of the first part, 0.5 s lead, 2 s in; the episode adds its lead-in.
    assert (moved["start"], moved["end"]) == pytest.approx((11.5 + Pauses().lead_in,
                                                            12.5 + Pauses().lead_in))
    placed = parts_report(parts, cues=[Cue(0.5, 1.5, "First."), Cue(20.0, 21.5, "Second.")])
    assert (placed["suspect"][0]["start"], placed["suspect"][0]["end"]) == (20.0, 21.5)
