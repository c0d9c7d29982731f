"""Segments joined at frame level play as one episode: every cue and chapter where the decoded
audio has it, no clicks or decode errors at the joins, podcast loudness, tags that agree."""

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from mutagen.id3 import ID3
from mutagen.mp3 import MP3

from narration import join as join_module
from narration.cover import render_cover
from narration.document import Metadata
from narration.join import join_segments, place_segments
from narration.mp3frames import crc16, frame_offsets, read_info_frame
from narration.render import OUTPUT_RATE, Pauses, render_chapter
from narration.script import ChapterScript, Pause, Utterance
from narration.segment import encode_segment
from tests.checks import FFMPEG, decode, ebur128, id3_chapters, max_step, parse_vtt
from tests.fakes import BabbleEngine, ToneEngine, make_speak

METADATA = Metadata(title="Her", headline="Falling in love with AI", author="A. Reviewer")
PAUSES = Pauses()
ROOT = Path(__file__).resolve().parents[1]


def words(count: int) -> str:
    return " ".join(["word"] * count)


def script(title: str, *sentences: str) -> ChapterScript:
    """A chapter that says its title (if any), then its sentences as one paragraph."""
    utterances = [Utterance(title, title, Pause.TITLE)] if title else []
    sentences = tuple(Utterance(s, s, Pause.SENTENCE) for s in sentences)
    return ChapterScript(title, (*utterances, *sentences))


# (chapter index, script, lead): a plain chapter, a chapter in two parts (the second leads with
# the pause after the first part's last sentence), a one-word chapter shorter than a loudness
# block, and a long one. Lengths differ so every segment ends at a different place in its frame.
PLAN = [
    (0, script("Opening", words(7), words(13)), PAUSES.lead_in),
    (1, script("Middle", words(11), words(3)), PAUSES.chapter),
    (1, script("", words(17), words(5)), PAUSES.sentence),
    (2, script("Brief"), PAUSES.chapter),
    (3, script("Long", *(words(n) for n in (23, 31, 19))), PAUSES.chapter),
]


def build(folder, engine) -> list:
    """Render and encode every part of PLAN as a segment in `folder`."""
    speak = make_speak(engine)
    segments = []
    for index, (chapter, part, lead) in enumerate(PLAN):
        path = folder / f"{index}.mp3"
        segments.append((encode_segment(render_chapter(part, speak), path, chapter=chapter,
                                        lead=lead), path))
    return segments


@pytest.fixture(scope="module")
def tone_episode(tmp_path_factory):
    """A steady tone for words (each clip starts and ends at full scale, the worst case)."""
    folder = tmp_path_factory.mktemp("tone")
    segments = build(folder, ToneEngine(22050, seconds_per_word=0.1, amplitude=0.3))
    files = join_segments(segments, METADATA, folder / "her.mp3", cover=None)
    return segments, files


@pytest.fixture(scope="module")
def babble_episode(tmp_path_factory):
    """Speech-like noise, loud and peaky, at another engine rate, with cover art."""
    folder = tmp_path_factory.mktemp("babble")
    segments = build(folder, BabbleEngine(24000, seconds_per_word=0.25, amplitude=0.9))
    cover = render_cover("Her", "Falling in love with AI", size=1400)
    return segments, join_segments(segments, METADATA, folder / "her.mp3", cover=cover), cover


def onsets(samples: np.ndarray, threshold: float) -> list[int]:
    """Sample index where each run of sound starts after at least 0.2 s of silence."""
    loud = np.flatnonzero(np.abs(samples) > threshold)
    starts = [int(loud[0])] if len(loud) else []
    starts += [int(b) for a, b in zip(loud[:-1], loud[1:]) if b - a > 0.2 * OUTPUT_RATE]
    return starts


def test_every_cue_starts_where_the_decoded_audio_does(tone_episode):
    segments, files = tone_episode
    audio = decode(files.mp3).astype(np.float32) / 32768
    cues = parse_vtt(files.vtt.read_text())
    heard = onsets(audio, 0.1 * np.max(np.abs(audio)))
    assert len(heard) == len(cues) == sum(len(s.cues) for s, _ in segments)
    for start, (cue_start, _, _) in zip(heard, cues):
        assert abs(start / OUTPUT_RATE - cue_start) < 0.005  # the fade-in, not the join, is late


def test_the_decoded_length_is_the_sum_of_the_segments(tone_episode):
    segments, files = tone_episode
    decoded = len(decode(files.mp3))
    assert decoded == place_segments([s for s, _ in segments]).samples
    assert files.duration == pytest.approx(decoded / OUTPUT_RATE, abs=1e-9)
    # Each join adds only the encoder's delay and padding: under 0.1 s per join.
    pcm = sum(s.samples for s, _ in segments)
    assert 0 <= decoded - pcm < 0.1 * OUTPUT_RATE * (len(segments) - 1)
    assert MP3(files.mp3).info.length == pytest.approx(decoded / OUTPUT_RATE, abs=0.001)


def test_each_segment_plays_in_the_episode_exactly_as_on_its_own(tone_episode):
    """Sample for sample: the join moves nothing and adds nothing audible."""
    segments, files = tone_episode
    episode = decode(files.mp3).astype(np.float32) / 32768
    placement = place_segments([s for s, _ in segments])
    first_delay, frames_before = segments[0][0].delay, 0
    for segment, path in segments:
        alone = decode(path).astype(np.float32) / 32768
        assert 0 <= len(alone) - segment.samples < 1152
        start = frames_before * 1152 + segment.delay - first_delay
        together = episode[start:start + len(alone)]
        assert np.max(np.abs(together - alone)) < 0.002  # -54 dBFS, in the silent edges only
        frames_before += segment.frames
    assert start + len(alone) == placement.samples


def test_joins_do_not_click_and_decode_without_errors(tone_episode, babble_episode):
    for segments, files, *_ in (tone_episode, babble_episode):
        errors = subprocess.run([FFMPEG, "-v", "error", "-i", str(files.mp3), "-f", "null", "-"],
                                capture_output=True, text=True)
        assert errors.returncode == 0 and errors.stdout + errors.stderr == ""
        audio = decode(files.mp3).astype(np.float32) / 32768
        speech_step = max_step(audio)
        joins = np.cumsum([s.frames for s, _ in segments[:-1]]) * 1152 - segments[0][0].delay
        for join in joins:
            # 20 ms either side of each join is silence: no step, where the sound steps 10× more.
            assert max_step(audio[join - 882:join + 882]) < min(0.001, speech_step / 10)


def test_chapters_start_on_their_first_words_and_parts_form_one_chapter(tone_episode):
    segments, files = tone_episode
    chapters = json.loads(files.chapters_json.read_text())["chapters"]
    assert [c["title"] for c in chapters] == ["Opening", "Middle", "Brief", "Long"]
    assert chapters[0]["startTime"] == 0.0
    assert chapters[-1]["endTime"] == pytest.approx(files.duration, abs=0.001)
    audio = decode(files.mp3).astype(np.float32) / 32768
    heard = onsets(audio, 0.1 * np.max(np.abs(audio)))
    cues = parse_vtt(files.vtt.read_text())
    for chapter in chapters[1:]:
        title_cue = next(c for c in cues if c[2] == chapter["title"])
        assert chapter["startTime"] == pytest.approx(title_cue[0], abs=0.001)
        assert min(abs(h / OUTPUT_RATE - chapter["startTime"]) for h in heard) < 0.005
        # The chapter starts in its lead silence, never mid-word.
        before = audio[round((chapter["startTime"] - 1.0) * OUTPUT_RATE):
                       round((chapter["startTime"] - 0.01) * OUTPUT_RATE)]
        assert np.max(np.abs(before)) < 0.01
    for chapter, following in zip(chapters, chapters[1:]):
        assert chapter["endTime"] == following["startTime"]


def test_id3_chapters_json_and_vtt_agree(babble_episode):
    segments, files, cover = babble_episode
    tags = ID3(files.mp3)
    assert tags.version[:2] == (2, 3)
    assert tags.getall("APIC")[0].data == cover
    assert str(tags["TIT2"]) == "Her" and str(tags["COMM::eng"]) == "Narrated by narrator."
    marks = id3_chapters(files.mp3)
    chapters = json.loads(files.chapters_json.read_text())["chapters"]
    assert [(c["startTime"], c["endTime"], c["title"]) for c in chapters] == marks
    cues = parse_vtt(files.vtt.read_text())
    placed = place_segments([s for s, _ in segments]).cues
    assert [(round(c.start, 3), round(c.end, 3), c.text) for c in placed] == cues


def test_every_segment_and_the_episode_are_at_podcast_loudness(babble_episode):
    segments, files, _ = babble_episode
    for segment, path in segments:
        if segment.seconds - segment.lead / segment.rate < 1.0:
            continue  # too little sound for a gated reading; its peak is still checked below
        lufs, peak = ebur128(path)
        assert lufs == pytest.approx(-16.0, abs=1.0) and peak <= -1.0
    lufs, peak = ebur128(files.mp3)
    assert lufs == pytest.approx(-16.0, abs=1.0)
    assert peak <= -1.0


def test_one_info_frame_describes_the_whole_episode(babble_episode):
    segments, files, _ = babble_episode
    data = files.mp3.read_bytes()
    audio_at = _id3_size(data)
    info = read_info_frame(data[audio_at:])
    frames = data[audio_at + info.header.length:]
    offsets, _ = frame_offsets(frames)  # nothing but whole audio frames: no other info frame
    assert info.frames == len(offsets) == sum(s.frames for s, _ in segments)
    assert (info.delay, info.padding) == (segments[0][0].delay, segments[-1][0].padding)
    assert info.music_crc == crc16(frames)
    assert b"Info" not in frames and b"Xing" not in frames


def _id3_size(data: bytes) -> int:
    """Bytes of the ID3v2 tag at the start of `data` (header and synchsafe size)."""
    assert data[:3] == b"ID3"
    size = 0
    for byte in data[6:10]:
        size = size << 7 | byte
    return 10 + size


def fail(*args, **kwargs):
    raise RuntimeError("failed midway")


@pytest.mark.parametrize("name", ["write_frames", "write_tags", "webvtt", "chapters_json"])
def test_a_failed_join_leaves_nothing_and_keeps_earlier_files(tone_episode, tmp_path,
                                                              monkeypatch, name):
    segments, _ = tone_episode
    join_segments(segments, METADATA, tmp_path / "her.mp3")
    before = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
    assert set(before) == {"her.mp3", "her.chapters.json", "her.vtt"}
    monkeypatch.setattr(join_module, name, fail)
    with pytest.raises(RuntimeError):
        join_segments(segments, METADATA, tmp_path / "her.mp3")
    with pytest.raises(RuntimeError):
        join_segments(segments, METADATA, tmp_path / "new.mp3")
    assert {path.name: path.read_bytes() for path in tmp_path.iterdir()} == before


def test_a_join_killed_midway_publishes_nothing(tone_episode, tmp_path):
    """SIGKILL while the frames are being copied: no MP3 and no sidecar under their names."""
    segments, _ = tone_episode
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import pickle, sys, time
        from pathlib import Path
        from narration import join
        from narration.document import Metadata
        def slow(*args):
            print("copying", flush=True)
            time.sleep(60)
        join.crc16_combine = slow  # called once per segment, after its frames are written
        segments = pickle.loads(bytes.fromhex(sys.argv[1]))
        join.join_segments(segments, Metadata(title="x"), Path({str(tmp_path / 'her.mp3')!r}))
        """), _pickled(segments)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert child.stdout.readline().strip() == "copying"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    visible = [path.name for path in tmp_path.iterdir() if not path.name.startswith(".")]
    assert visible == []


def _pickled(segments) -> str:
    import pickle

    return pickle.dumps(segments).hex()


def test_the_id3_comment_carries_the_reviews_rating():
    from narration.document import Metadata
    from narration.join import episode_comment

    assert episode_comment(Metadata(rating="3.5/4 stars")) == "Rating: 3.5/4 stars. Narrated by narrator."
    assert episode_comment(Metadata()) == "Narrated by narrator."
