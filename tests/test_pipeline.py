"""The whole core in one process: a Document in, an MP3 with sidecars out, through the cache."""

import json
from dataclasses import replace

import pytest

from narration.cache import SentenceCache
from narration.errors import InvalidSpeedError, NothingSpeakableError
from narration.pipeline import narrate
from narration.reading import read_markdown, read_plain
from narration.script import build_script
from tests.fakes import ToneEngine

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
