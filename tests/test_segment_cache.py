"""Finished segments come back from the cache byte for byte, the cache stays within its bound,
and processes sharing it never see half an entry."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from narration.render import render_chapter
from narration.script import ChapterScript, Pause, Utterance
from narration.segment import encode_segment
from narration.segment_cache import SegmentCache
from tests.fakes import ToneEngine, make_speak

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def segment(tmp_path_factory):
    path = tmp_path_factory.mktemp("segment") / "s.mp3"
    script = ChapterScript("Title", (Utterance("one two three", "one two three", Pause.SENTENCE),))
    return encode_segment(render_chapter(script, make_speak(ToneEngine())), path, chapter=2,
                          lead=0.6), path


def test_a_stored_segment_comes_back_with_this_chapter_and_title(tmp_path, segment):
    stored, path = segment
    cache = SegmentCache(tmp_path / "cache", 1 << 20)
    assert cache.get("k", tmp_path / "miss.mp3", chapter=0, title="x") is None
    assert not (tmp_path / "miss.mp3").exists()
    cache.put("k", stored, path)
    found = cache.get("k", tmp_path / "hit.mp3", chapter=5, title="Elsewhere")
    assert (found.chapter, found.title) == (5, "Elsewhere")
    assert found.cues == stored.cues and found.frames == stored.frames
    assert (tmp_path / "hit.mp3").read_bytes() == path.read_bytes()
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["k.json", "k.mp3"]


def test_the_least_recently_used_go_first_beyond_the_bound(tmp_path, segment):
    stored, path = segment
    entry = path.stat().st_size + 400
    cache = SegmentCache(tmp_path / "cache", 3 * entry)
    for key in "abc":
        cache.put(key, stored, path)
    assert cache.get("a", tmp_path / "a.mp3", chapter=0, title="t") is not None  # a is fresh now
    cache.put("d", stored, path)
    present = {key for key in "abcd"
               if cache.get(key, tmp_path / f"{key}.mp3", chapter=0, title="t")}
    assert present == {"a", "c", "d"}
    assert cache.volume <= 3 * entry


@pytest.mark.parametrize("damage", ["no mp3", "bad json", "no json"])
def test_a_damaged_entry_is_a_miss(tmp_path, segment, damage):
    stored, path = segment
    cache = SegmentCache(tmp_path / "cache", 1 << 20)
    cache.put("k", stored, path)
    record, frames = tmp_path / "cache" / "k.json", tmp_path / "cache" / "k.mp3"
    {"no mp3": frames.unlink, "no json": record.unlink,
     "bad json": lambda: record.write_text("{")}[damage]()
    assert cache.get("k", tmp_path / "out.mp3", chapter=0, title="t") is None


def test_processes_sharing_the_cache_see_whole_entries_or_none(tmp_path, segment):
    """Four processes store and read the same keys at once under a tight bound, so entries are
    evicted while others read them: every hit is a complete segment."""
    _, path = segment
    script = textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from narration.segment_cache import SegmentCache
        source = Path({str(path)!r})
        folder = Path({str(tmp_path)!r})
        cache = SegmentCache(folder / "cache", 4 * (source.stat().st_size + 1000))
        from narration.segment import segment_from_json
        stored = segment_from_json((folder / "record.json").read_bytes())
        import random
        choose = random.Random(sys.argv[1])
        hits = 0
        for round in range(60):
            key = "k%d" % choose.randrange(6)  # six keys, room for four: hits and evictions
            out = folder / ("out-%s.mp3" % sys.argv[1])
            found = cache.get(key, out, chapter=0, title="t")
            if found is None:
                cache.put(key, stored, source)
            else:
                hits += 1
                assert out.read_bytes() == source.read_bytes(), "torn segment"
        print(hits)
        """)
    from narration.segment import segment_to_json
    (tmp_path / "record.json").write_bytes(segment_to_json(segment[0]))
    children = [subprocess.Popen([sys.executable, "-c", script, str(n)], cwd=ROOT,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for n in range(4)]
    results = [child.communicate(timeout=600) for child in children]
    assert [child.returncode for child in children] == [0] * 4, results
    assert sum(int(out) for out, _ in results) > 0
