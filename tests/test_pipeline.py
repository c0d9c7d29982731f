"""The whole core in one process: a Document in, an MP3 with sidecars out, through the cache."""

import json
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import psutil

import pytest

from narration.cache import SentenceCache
from narration.errors import InvalidSpeedError, NothingSpeakableError
from narration.pipeline import narrate, plan_parts, speak_mp3
from narration.reading import read_markdown, read_plain
from narration.render import Pauses
from narration.script import Pause, build_script
from narration.segment_cache import SegmentCache
from tests.checks import decode, parse_vtt
from tests.fakes import ToneEngine

ROOT = Path(__file__).resolve().parents[1]

TEXT = """# A short review

It opens well. The middle drags a little.

## The ending

The ending lands. I would watch it again in 2025.
"""


@pytest.fixture
def cache(tmp_path):
    cache = SentenceCache(tmp_path / "cache", 64 << 20)
    yield cache
    cache.close()


def test_narrate_writes_mp3_and_sidecars_whose_times_agree(tmp_path, cache):
    engine = ToneEngine()
    files = narrate(read_markdown(TEXT), engine, tmp_path / "out" / "review.mp3", cache=cache)
    assert files.mp3.exists() and files.mp3.stat().st_size > 1000
    chapters = json.loads(files.chapters_json.read_text())["chapters"]
    assert [c["title"] for c in chapters] == ["Introduction", "The ending"]
    vtt = files.vtt.read_text()
    assert "It opens well." in vtt and "I would watch it again in 2025." in vtt
    assert chapters[-1]["endTime"] == pytest.approx(files.duration, abs=0.05)


def test_a_second_narration_comes_from_the_cache(tmp_path, cache):
    document = read_markdown(TEXT)
    first = ToneEngine()
    narrate(document, first, tmp_path / "a.mp3", cache=cache)
    second = ToneEngine()
    narrate(document, second, tmp_path / "b.mp3", cache=cache)
    assert first.spoken and second.spoken == []


def test_an_edited_paragraph_synthesizes_only_what_changed(tmp_path, cache):
    document = read_markdown(TEXT)
    narrate(document, ToneEngine(), tmp_path / "a.mp3", cache=cache)
    chapter = document.chapters[1]
    edited = replace(document, chapters=(
        document.chapters[0],
        replace(chapter, paragraphs=(chapter.paragraphs[0] + " A new sentence.",))))
    engine = ToneEngine()
    narrate(edited, engine, tmp_path / "b.mp3", cache=cache)
    assert engine.spoken == ["A new sentence."]


def test_the_cache_key_includes_speed(tmp_path, cache):
    document = read_markdown(TEXT)
    narrate(document, ToneEngine(), tmp_path / "a.mp3", cache=cache)
    engine = ToneEngine()
    narrate(document, engine, tmp_path / "b.mp3", cache=cache, speed=1.5)
    assert len(engine.spoken) == sum(len(s.utterances) for s in build_script(document, max_chars=400))


def test_the_cache_stays_within_its_byte_bound(tmp_path):
    cache = SentenceCache(tmp_path / "small", 200_000)
    text = "\n\n".join(f"Paragraph number {i} says something new." for i in range(60))
    narrate(read_plain(text), ToneEngine(), tmp_path / "a.mp3", cache=cache)
    assert 0 < cache.volume <= 200_000 * 1.1  # diskcache culls after each set
    cache.close()


def test_progress_is_reported_for_every_sentence(tmp_path):
    seen = []
    narrate(read_markdown(TEXT), ToneEngine(), tmp_path / "a.mp3", on_progress=seen.append)
    total = seen[-1].utterances
    assert [p.utterances_done for p in seen] == list(range(1, total + 1))
    assert seen[-1].chars_done == seen[-1].chars
    assert [p.chapter for p in seen] == sorted(p.chapter for p in seen)


@pytest.mark.parametrize("speed", [0.49, 2.01, 0, -1])
def test_speed_out_of_range_writes_nothing(tmp_path, speed):
    with pytest.raises(InvalidSpeedError, match="0.5 to 2"):
        narrate(read_markdown(TEXT), ToneEngine(), tmp_path / "a.mp3", speed=speed)
    assert list(tmp_path.iterdir()) == []


def test_nothing_speakable_writes_nothing(tmp_path):
    with pytest.raises(NothingSpeakableError):
        narrate(read_plain("😀 😀 😀\n\n!!! ???"), ToneEngine(), tmp_path / "a.mp3")
    assert list(tmp_path.iterdir()) == []


LONG_TEXT = "\n\n".join(
    " ".join(f"Paragraph {p} sentence {s} says a few words about the film." for s in range(3))
    for p in range(36))
"""One untitled chapter of 36 paragraphs, about 7,000 spoken characters: several parts."""


@pytest.fixture
def segments(tmp_path):
    return SegmentCache(tmp_path / "segments", 64 << 20)


def test_long_chapters_are_split_into_parts_at_paragraph_ends():
    pauses = Pauses()
    scripts = build_script(read_plain("Opening words.\n\n" + LONG_TEXT), max_chars=400)
    parts = plan_parts(scripts, pauses=pauses, max_chars=300)
    assert len(parts) > 3
    # Together the parts say everything once, in order, chapter by chapter.
    assert [u for p in parts for u in p.script.utterances] == \
        [u for s in scripts for u in s.utterances]
    assert [p.chapter for p in parts] == sorted(p.chapter for p in parts)
    for part, following in zip(parts, parts[1:]):
        assert sum(len(u.spoken) for u in part.script.utterances) <= 300
        if following.chapter == part.chapter:
            assert part.script.utterances[-1].pause == Pause.PARAGRAPH
            assert following.lead == pauses.paragraph
            assert following.script.title == part.script.title
        else:
            assert following.lead == pauses.chapter
    assert parts[0].lead == pauses.lead_in


def test_a_paragraph_longer_than_a_part_is_cut_between_sentences():
    scripts = build_script(read_plain(" ".join(["A short sentence here."] * 40)), max_chars=400)
    parts = plan_parts(scripts, max_chars=200)
    assert all(sum(len(u.spoken) for u in p.script.utterances) <= 200 for p in parts)
    assert [p.lead for p in parts[1:]] == [Pauses().sentence] * (len(parts) - 1)


def test_an_edit_re_renders_only_the_part_it_touches(tmp_path, segments):
    document = read_plain("Opening words.\n\n" + LONG_TEXT)
    first = narrate(document, ToneEngine(), tmp_path / "a.mp3", segments=segments)
    chapter = document.chapters[-1]
    paragraphs = list(chapter.paragraphs)
    paragraphs[5] += " A new sentence."
    edited = replace(document, chapters=(*document.chapters[:-1],
                                          replace(chapter, paragraphs=tuple(paragraphs))))
    engine = ToneEngine()
    second = narrate(edited, engine, tmp_path / "b.mp3", segments=segments)  # no sentence cache
    parts = plan_parts(build_script(edited, max_chars=400))
    touched = [p for p in parts if any("A new sentence." == u.text for u in p.script.utterances)]
    assert len(parts) > 3 and len(touched) == 1
    assert engine.spoken == [u.spoken for u in touched[0].script.utterances]
    assert second.duration > first.duration
    cues = parse_vtt(second.vtt.read_text())
    assert any(text == "A new sentence." for _, _, text in cues)


def test_cached_segments_report_progress_as_cached(tmp_path, segments):
    document = read_markdown(TEXT)
    narrate(document, ToneEngine(), tmp_path / "a.mp3", segments=segments)
    seen = []
    engine = ToneEngine()
    narrate(document, engine, tmp_path / "b.mp3", segments=segments, on_progress=seen.append)
    assert engine.spoken == []
    assert seen[-1].cached == seen[-1].utterances == seen[-1].utterances_done
    assert (tmp_path / "a.mp3").read_bytes() == (tmp_path / "b.mp3").read_bytes()


def test_a_failure_in_the_encoder_process_writes_nothing(tmp_path):
    with pytest.raises(subprocess.CalledProcessError):
        narrate(read_markdown(TEXT), ToneEngine(), tmp_path / "out" / "a.mp3", bitrate="fast")
    assert list(tmp_path.iterdir()) == []


def test_the_encoder_process_does_not_outlive_a_killed_narration(tmp_path):
    """SIGKILL the narrating process while its encoder process works: the encoder leaves too,
    and no MP3 appears."""
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from pathlib import Path
        from narration.pipeline import narrate
        from narration.reading import read_plain
        from tests.fakes import ToneEngine
        from tests.test_pipeline import LONG_TEXT

        class SlowEngine(ToneEngine):
            def synthesize(self, text, speed=1.0):
                time.sleep(0.2)
                return super().synthesize(text, speed)

        if __name__ == "__main__":
            narrate(read_plain(LONG_TEXT), SlowEngine(), Path({str(tmp_path / 'a.mp3')!r}))
        """)], cwd=ROOT)
    try:
        deadline = time.monotonic() + 120
        parent = psutil.Process(child.pid)
        while not [p for p in parent.children() if "spawn_main" in " ".join(p.cmdline())]:
            assert time.monotonic() < deadline and child.poll() is None
            time.sleep(0.2)
        encoder = next(p for p in parent.children() if "spawn_main" in " ".join(p.cmdline()))
    finally:
        child.kill()
        child.wait()
    encoder.wait(timeout=180)  # psutil.TimeoutExpired if it stayed (it checks every second,
    # once its imports are done: slow on a busy machine)
    assert not (tmp_path / "a.mp3").exists()


def test_speech_is_one_mp3_of_every_part_without_tags(tmp_path):
    """What /v1/audio/speech sends: the same parts and segments, joined in memory."""
    scripts = build_script(read_plain("Opening words.\n\n" + LONG_TEXT), max_chars=400)
    data = speak_mp3(scripts, ToneEngine(), speed=1.25)
    (tmp_path / "speech.mp3").write_bytes(data)
    assert data[:2] == b"\xff\xfb"  # frames first: no ID3 tag
    parts = plan_parts(scripts)
    assert len(parts) > 2
    audio = decode(tmp_path / "speech.mp3")
    words = sum(len(u.spoken.split()) for s in scripts for u in s.utterances)
    pauses = sum(0.35 if u.pause == Pause.SENTENCE else 0.8 for s in scripts for u in s.utterances)
    expected = words * 0.1 / 1.25 + pauses - 0.8 + 0.6  # lead-in first, no pause after the last
    assert len(audio) / 44100 == pytest.approx(expected, abs=0.05 * len(parts))


@pytest.mark.parametrize("rate", [44100, 24000])
def test_streamed_speech_is_the_same_parts_one_sentence_at_a_time(tmp_path, rate):
    """What /v1/audio/speech streams: a piece per utterance, each ending in the silence that
    follows it, together exactly as long as the segments `speak_mp3` joins."""
    from narration.pipeline import narrate_parts, speak_pieces

    scripts = build_script(read_plain("Opening words.\n\n" + LONG_TEXT[:3000]), max_chars=400)
    parts = plan_parts(scripts)
    assert len(parts) > 2
    spoken = []
    pieces = list(speak_pieces(scripts, ToneEngine(), speed=1.25, rate=rate,
                               on_spoken=lambda utterance, hit: spoken.append(utterance)))
    utterances = [u for s in scripts for u in s.utterances]
    assert len(pieces) == len(spoken) == len(utterances)
    assert all(not piece[-100:].any() for piece in pieces[:-1])  # ends in its pause
    segments = narrate_parts(parts, ToneEngine(), tmp_path, speed=1.25)
    whole = sum(segment.samples for segment, _ in segments)  # at 44.1 kHz
    assert abs(sum(map(len, pieces)) - whole * rate / 44100) <= len(utterances)  # rounding


def test_streamed_speech_stops_when_no_longer_asked():
    """Nothing more is spoken once the caller stops asking (a listener that left)."""
    from narration.pipeline import speak_pieces

    scripts = build_script(read_plain(LONG_TEXT[:2000]), max_chars=400)
    spoken = []
    pieces = speak_pieces(scripts, ToneEngine(), on_spoken=lambda u, hit: spoken.append(u))
    next(pieces), next(pieces)
    pieces.close()
    assert len(spoken) == 2
