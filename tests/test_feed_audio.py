"""Feed audio with real parts: a real Celery worker narrates with the male Piper voice, the join
task puts the feed's intro and outro around the parts, a task after it encodes the Opus copy,
and the feed offers it as podcast:alternateEnclosure. Read back by feedparser, Debian's ffprobe (installed
when root, else the tests skip saying so), our loudness meter and mutagen.

The same text is narrated before and after the clips are set: its parts come from the segment
cache the second time, so the two episodes differ by the clips alone.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import feedparser
import pytest
from mutagen.id3 import ID3

from feed_fixtures import NS, clip
from narration.encode import decode_mp3
from narration.loudness import TARGET_LUFS, measure
from tests.conftest_service import wait_until

pytestmark = pytest.mark.slow  # a real worker narrates twice

NARRATION_TIMEOUT = 180.0
TEXT = {"title": "Paterson, in short", "voice": "male", "chapters": [
    {"title": "The Film", "text": "Paterson drives a bus in Paterson, New Jersey. He writes "
                                  "poems in a small notebook before his shift begins."},
    {"title": "The Poems", "text": "The poems are plain and warm. They notice matchboxes, "
                                   "waterfalls and the talk of passengers."},
    {"title": "Verdict", "text": "Nothing much happens, and that is the point. Watch it slowly."}]}
INTRO_SECONDS, OUTRO_SECONDS = 3.0, 2.0


@pytest.fixture(scope="module")
def ffprobe() -> str:
    """Debian's ffprobe: a reader apart from the ffmpeg build that wrote the files."""
    found = shutil.which("ffprobe")
    if found:
        return found
    import os

    if os.geteuid() != 0:
        reason = "ffprobe is missing and installing it needs root (apt-get install ffmpeg)"
        print(reason)
        pytest.skip(reason)
    from tests.servers import apt_install

    apt_install("ffmpeg")
    return shutil.which("ffprobe")


def probe(ffprobe: str, data: bytes) -> dict:
    """ffprobe's view of a file: format, first stream, duration."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "file"
        path.write_bytes(data)
        out = subprocess.run([ffprobe, "-v", "error", "-show_format", "-show_streams",
                              "-of", "json", str(path)], check=True, capture_output=True).stdout
    return json.loads(out)


def decoded(data: bytes):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "episode.mp3"
        path.write_bytes(data)
        return decode_mp3(path)


def narrate(http, live_url: str, worker) -> dict:
    """Narrate TEXT into the default feed and wait until it is done."""
    created = http.post(f"{live_url}/api/v1/narrations", json=TEXT, timeout=30)
    assert created.status_code == 202, created.text
    url = created.json()["links"]["self"]

    def finished():
        view = http.get(url, timeout=30).json()
        return view if view["status"] in ("done", "failed", "canceled") else None

    view = wait_until(finished, NARRATION_TIMEOUT, "the narration", interval=0.5)
    assert view["status"] == "done", (view, worker.log_tail())

    def with_opus():  # the Opus copy is made after the episode is done, by a task of its own
        view = http.get(url, timeout=30).json()
        return view if "opus" in view["links"] else None

    return wait_until(with_opus, 60, "the Opus copy", interval=0.5)


def outputs(http, job: dict) -> dict:
    """The episode's files as the API serves them."""
    return {name: http.get(job["links"][name], timeout=30) for name in
            ("audio", "chapters", "transcript")}


@pytest.fixture(scope="module")
def episodes(live_url, http, celery_worker):
    """(before, after, the feed): one narration before the default feed had clips, one after,
    and the files of the first as they were when it was made."""
    feed = http.get(f"{live_url}/api/v1/feeds", timeout=30).json()["feeds"][0]
    before = narrate(http, live_url, celery_worker)
    before_files = {name: r.content for name, r in outputs(http, before).items()}
    intro = http.put(feed["links"]["intro"], data=clip("wav", INTRO_SECONDS),
                     headers={"Content-Type": "audio/wav"}, timeout=60)
    assert intro.status_code == 200, intro.text
    outro = http.put(feed["links"]["outro"], data=clip("flac", OUTRO_SECONDS),
                     headers={"Content-Type": "audio/flac"}, timeout=60)
    assert outro.status_code == 200, outro.text
    after = narrate(http, live_url, celery_worker)
    address = http.post(feed["links"]["token"], timeout=30).json()["url"]
    return before, before_files, after, outro.json(), address


def items(http, address: str) -> dict:
    """guid → (feedparser entry, ElementTree item) of the feed at its private address."""
    data = http.get(address, timeout=30).content
    parsed = feedparser.parse(data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    root = ET.fromstring(data)
    trees = {item.findtext("guid"): item for item in root.iter("item")}
    return {entry.id: (entry, trees[entry.id]) for entry in parsed.entries}


def test_the_feed_offers_an_opus_copy_that_plays_as_long_as_the_mp3(episodes, http, ffprobe):
    before, _, after, _, address = episodes
    anonymous = type(http)()  # a podcast app: no key, only the token in the URL
    for job in (before, after):
        entry, item = items(http, address)[job["id"]]
        [enclosure] = entry.enclosures
        assert enclosure.type == "audio/mpeg"
        mp3 = anonymous.get(enclosure.href, timeout=30).content
        # feedparser reads the namespaced element (the last one: the Opus copy) and its source.
        opus_attributes = entry["podcast_alternateenclosure"]
        assert opus_attributes["type"] == "audio/ogg" and opus_attributes["codecs"] == "opus"
        opus_url = entry["podcast_source"]["uri"]
        opus = anonymous.get(opus_url, timeout=30)
        assert opus.status_code == 200 and opus.headers["Content-Type"] == "audio/ogg"
        assert int(opus_attributes["length"]) == len(opus.content)
        # Both encodings are listed; the MP3 is the enclosure's own file (default="true").
        alternates = item.findall("podcast:alternateEnclosure", NS)
        assert [(a.get("type"), a.get("default")) for a in alternates] == [
            ("audio/mpeg", "true"), ("audio/ogg", None)]
        assert [a.find("podcast:source", NS).get("uri") for a in alternates] == [
            enclosure.href, opus_url]
        assert int(alternates[0].get("length")) == len(mp3) == int(enclosure.length)
        # ffprobe reads Ogg Opus as long as the MP3 (within 0.2 s).
        read_opus, read_mp3 = probe(ffprobe, opus.content), probe(ffprobe, mp3)
        assert read_opus["format"]["format_name"] == "ogg"
        assert read_opus["streams"][0]["codec_name"] == "opus"
        opus_seconds = float(read_opus["format"]["duration"])
        mp3_seconds = float(read_mp3["format"]["duration"])
        assert abs(opus_seconds - mp3_seconds) < 0.2, (opus_seconds, mp3_seconds)
        assert abs(opus_seconds - job["duration"]) < 0.2
        # Smaller for speech; the bitrate attribute is the average, from size and length.
        ratio = len(opus.content) / len(mp3)
        print(f"{job['duration']:.1f} s: MP3 {len(mp3)} B, Opus {len(opus.content)} B, "
              f"ratio {ratio:.2f}")
        assert ratio < 0.75
        assert abs(int(alternates[1].get("bitrate")) - len(opus.content) * 8 / job["duration"]) < 2
        # Ranges as for the MP3: 206 with Content-Range; HEAD gives the length only.
        ranged = anonymous.get(opus_url, headers={"Range": "bytes=0-3"}, timeout=30)
        assert ranged.status_code == 206 and ranged.content == b"OggS"
        assert ranged.headers["Content-Range"] == f"bytes 0-3/{len(opus.content)}"
        tail = anonymous.get(opus_url, headers={"Range": "bytes=-100"}, timeout=30)
        assert tail.status_code == 206 and tail.content == opus.content[-100:]
        head = anonymous.head(opus_url, timeout=30)
        assert head.status_code == 200 and int(head.headers["Content-Length"]) == len(opus.content)
        # The API serves the same file to its owner.
        assert http.get(job["links"]["opus"], timeout=30).content == opus.content


def test_an_episode_made_with_the_clips_is_longer_by_their_lengths(episodes, ffprobe):
    before, before_files, after, feed, _ = episodes
    intro, outro = feed["intro"]["seconds"], feed["outro"]["seconds"]
    assert abs(intro - INTRO_SECONDS) < 0.01 and abs(outro - OUTRO_SECONDS) < 0.01
    added = after["duration"] - before["duration"]
    print(f"before {before['duration']:.3f} s, after {after['duration']:.3f} s: "
          f"+{added:.3f} s for {intro + outro:.3f} s of clips")
    assert abs(added - (intro + outro)) <= 0.1
    assert 2 <= len(before_files["audio"]) // 1000  # a real episode, not an empty file


def test_chapters_and_cues_shift_by_the_intro(episodes, http):
    before, before_files, after, feed, _ = episodes
    intro = feed["intro"]["seconds"]
    old = json.loads(before_files["chapters"])["chapters"]
    new = http.get(after["links"]["chapters"], timeout=30).json()["chapters"]
    assert [c["title"] for c in new] == ["Intro", *[c["title"] for c in old], "Outro"]
    assert new[0]["startTime"] == 0
    # The first narrated chapter starts on its first words, after the intro; the others move
    # by the intro (and the few milliseconds of codec silence at its end).
    assert intro <= new[1]["startTime"] <= intro + 1.5
    for was, now in zip(old[1:], new[2:-1]):
        assert 0 <= now["startTime"] - was["startTime"] - intro < 0.05, (was, now)
    assert abs(new[-1]["startTime"] - before["duration"] - intro) < 0.1
    old_cues = cue_starts(before_files["transcript"].decode())
    new_cues = cue_starts(http.get(after["links"]["transcript"], timeout=30).text)
    assert len(new_cues) == len(old_cues) > 3
    assert all(0 <= b - a - intro < 0.05 for a, b in zip(old_cues, new_cues))
    # The MP3's own chapters (ID3 CHAP) say the same as chapters.json.
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "after.mp3"
        path.write_bytes(http.get(after["links"]["audio"], timeout=30).content)
        chaps = sorted(ID3(path).getall("CHAP"), key=lambda chap: chap.start_time)
    assert [str(chap.sub_frames["TIT2"]) for chap in chaps] == [c["title"] for c in new]
    assert all(abs(chap.start_time / 1000 - c["startTime"]) < 0.002 for chap, c in zip(chaps, new))


def test_the_episode_with_clips_stays_at_podcast_loudness(episodes, http):
    _, _, after, _, _ = episodes
    found = measure(decoded(http.get(after["links"]["audio"], timeout=30).content))
    print(f"episode with intro and outro: {found.lufs:.2f} LUFS, {found.true_peak:.2f} dBTP")
    assert abs(found.lufs - TARGET_LUFS) <= 1.0 and found.true_peak <= -1.0


def test_an_episode_made_before_the_intro_was_set_is_unchanged(episodes, http):
    before, before_files, _, _, _ = episodes
    now = {name: r.content for name, r in outputs(http, before).items()}
    assert now == before_files
    assert http.get(before["links"]["self"], timeout=30).json()["duration"] == before["duration"]


def cue_starts(vtt: str) -> list[float]:
    """Start times of a WebVTT file's cues, in seconds."""
    starts = []
    for line in vtt.splitlines():
        if "-->" in line:
            hours, minutes, seconds = line.split("-->")[0].strip().split(":")
            starts.append(int(hours) * 3600 + int(minutes) * 60 + float(seconds))
    return starts
