"""The sample review narrated end to end by a real voice: chapters, tags, transcript and MP3 agree."""

import json
import subprocess
from pathlib import Path

import pytest
from mutagen.mp3 import MP3

import voices
from narration.pipeline import narrate
from narration.reading import decode_text, read_plain
from tests.checks import FFMPEG, decode, ebur128, id3_chapters, parse_vtt

pytestmark = pytest.mark.slow

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "samples" / "her-review.txt"
TITLES = ["Falling in love with AI", "Setting and introductions", "When He met Her",
          "Love Progresses", "Complications and an Owl", "The Big Revelation", "Final Notes"]


@pytest.fixture(scope="module")
def narrated(tmp_path_factory):
    if not SAMPLE.exists():
        pytest.skip(f"the sample is not at {SAMPLE}")
    document = read_plain(decode_text(SAMPLE.read_bytes()))
    engine = voices.load_engine(voices.load_catalogue().find("male"))
    return narrate(document, engine, tmp_path_factory.mktemp("her") / "her.mp3")


def test_the_sample_is_an_opening_and_six_titled_chapters(narrated):
    chapters = json.loads(narrated.chapters_json.read_text())["chapters"]
    assert [c["title"] for c in chapters] == TITLES


def test_no_site_chrome_and_no_raw_labels_are_spoken(narrated):
    transcript = " ".join(text for _, _, text in parse_vtt(narrated.vtt.read_text()))
    for chrome in ("Return to user reviews", "Discuss Her below", "Production year", "Genre Drama"):
        assert chrome not in transcript
    assert transcript.startswith("Her, 2013. Directed by Spike Jonze")
    assert "He is worth the movie alone." in transcript


def test_id3_chapters_match_the_chapters_json_and_the_transcript(narrated):
    chapters = json.loads(narrated.chapters_json.read_text())["chapters"]
    marks = id3_chapters(narrated.mp3)
    cues = parse_vtt(narrated.vtt.read_text())
    assert [title for _, _, title in marks] == TITLES
    for (start, end, _), chapter in zip(marks, chapters):
        assert start == pytest.approx(chapter["startTime"], abs=0.05)
        assert end == pytest.approx(chapter["endTime"], abs=0.05)
    # Every titled chapter begins with its spoken title, within 50 ms of the mark.
    for (start, _, title) in marks[1:]:
        cue = next(c for c in cues if c[0] >= start - 0.05)
        assert cue[2] == title and cue[0] == pytest.approx(start, abs=0.05)


def test_the_mp3_decodes_to_its_length_at_podcast_loudness(narrated):
    seconds = len(decode(narrated.mp3)) / 44100
    chapters = json.loads(narrated.chapters_json.read_text())["chapters"]
    assert seconds == pytest.approx(chapters[-1]["endTime"], abs=0.05)
    assert seconds > 15 * 60  # ~3,800 words
    lufs, true_peak = ebur128(narrated.mp3)
    assert lufs == pytest.approx(-16, abs=1)
    assert true_peak <= -1.0 + 0.3


def test_the_joined_episode_decodes_without_errors_and_players_read_its_length(narrated):
    errors = subprocess.run([FFMPEG, "-v", "error", "-i", str(narrated.mp3), "-f", "null", "-"],
                            capture_output=True, text=True)
    assert errors.returncode == 0 and errors.stdout + errors.stderr == ""
    seconds = len(decode(narrated.mp3)) / 44100
    assert MP3(narrated.mp3).info.length == pytest.approx(seconds, abs=0.001)
    assert narrated.duration == pytest.approx(seconds, abs=0.001)
