"""The MP3 a user downloads: decodes to the right length and loudness, carries tags and chapters
that agree with its sidecars, and is never left half-written."""

import json

import numpy as np
import pytest
from mutagen.id3 import ID3, CTOCFlags
from mutagen.mp3 import MP3

from tests.checks import decode, ebur128, parse_vtt
from tests.fakes import BabbleEngine, ToneEngine, make_speak
from narration import encode as encode_module
from narration.cover import render_cover
from narration.document import Metadata
from narration.encode import encode_mp3_to
from narration.join import join_segments, place_segments
from narration.loudness import normalize_loudness
from narration.render import Pauses, render_chapter
from narration.script import ChapterScript, Pause, Utterance
from narration.segment import encode_segment
from narration.sidecars import vtt_timestamp, webvtt
from narration.timeline import Cue

METADATA = Metadata(title="Her", headline="Falling in love with AI", author="A. Reviewer",
                    published="2024-02-14", year="2013")


def chapter(title: str, sentences: list[str]) -> ChapterScript:
    return ChapterScript(title, (Utterance(title, title, Pause.TITLE),
                                 *(Utterance(s, s, Pause.SENTENCE) for s in sentences)))


SCRIPTS = [
    chapter("Introduction", ["Her, 2013. Directed by Spike Jonze, with Joaquin Phoenix."]),
    chapter("Love & <code>", ["Is it love if one of you is software?",
                              "The film says yes, and then\nsays something harder."]),
    chapter("Ending", ["Theodore finally writes a letter of his own, and it is to Catherine."]),
]


def segments_of(scripts, speak, folder):
    """Each chapter as its final segment, laid out as an episode is."""
    pauses = Pauses()
    return [(encode_segment(render_chapter(script, speak), folder / f"{index}.mp3",
                            chapter=index, lead=pauses.chapter if index else pauses.lead_in),
             folder / f"{index}.mp3") for index, script in enumerate(scripts)]


@pytest.fixture(scope="module")
def segments(tmp_path_factory):
    """A short episode in a speech-like voice, loud enough to need the limiter."""
    speak = make_speak(BabbleEngine(22050, seconds_per_word=0.3, amplitude=0.9))
    return segments_of(SCRIPTS, speak, tmp_path_factory.mktemp("segments"))


@pytest.fixture(scope="module")
def episode(segments):
    """Where chapters and cues fall, computed from the segments alone."""
    return place_segments([segment for segment, _ in segments])


@pytest.fixture(scope="module")
def written(segments, tmp_path_factory):
    folder = tmp_path_factory.mktemp("episode")
    cover = render_cover("Her", "Falling in love with AI", size=1400)
    return join_segments(segments, METADATA, folder / "her.mp3", cover=cover), cover


def test_mp3_is_mono_44k_and_decodes_to_the_episode_length(written, episode):
    files, _ = written
    info = MP3(files.mp3).info
    assert (info.channels, info.sample_rate) == (1, 44100)
    decoded = decode(files.mp3)
    assert len(decoded) == episode.samples
    assert files.duration == pytest.approx(episode.duration)
    assert MP3(files.mp3).info.length == pytest.approx(episode.duration, abs=0.001)


def test_ffmpeg_measures_podcast_loudness_and_true_peak(written):
    integrated, peak = ebur128(written[0].mp3)
    assert integrated == pytest.approx(-16.0, abs=0.5)
    assert peak <= -1.0


def test_encoding_corrects_an_mp3_that_overshoots(tmp_path):
    """Noise-like speech overshoots its PCM peak by about 2 dB at 64 kbit/s; the encoder must
    measure the decoded file and try again rather than publish peaks over −1 dBTP."""
    voice = BabbleEngine(22050, seconds_per_word=0.3, amplitude=0.9)
    audio = normalize_loudness(voice.synthesize(" ".join(["word"] * 60)), ceiling_db=-0.5)
    encode_mp3_to(audio, tmp_path / "loud.mp3")
    integrated, peak = ebur128(tmp_path / "loud.mp3")
    assert peak <= -1.0
    # Holding peaks this far down costs this harsh a signal some loudness; Apple allows ±1 LU.
    assert integrated == pytest.approx(-16.0, abs=1.0)


def test_id3_tags_and_chapters_agree_with_the_chapters_json(written, episode):
    files, cover = written
    tags = ID3(files.mp3)
    assert tags.version[:2] == (2, 3)
    assert str(tags["TIT2"]) == "Her" and str(tags["TPE1"]) == "A. Reviewer"
    assert tags.getall("APIC")[0].data == cover and tags.getall("APIC")[0].type == 3
    assert "TSSE" not in tags  # ffmpeg's own tag was replaced, not merged

    toc = tags.getall("CTOC")[0]
    assert toc.flags == CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED
    chapters = {frame.element_id: frame for frame in tags.getall("CHAP")}
    in_toc_order = [chapters[element_id] for element_id in toc.child_element_ids]
    assert in_toc_order == sorted(chapters.values(), key=lambda frame: frame.start_time)

    document = json.loads(files.chapters_json.read_text())
    assert document["version"] == "1.2.0"
    assert len(document["chapters"]) == len(in_toc_order) == len(episode.chapters)
    for frame, entry, mark in zip(in_toc_order, document["chapters"], episode.chapters):
        assert frame.start_time == round(entry["startTime"] * 1000)
        assert frame.end_time == round(entry["endTime"] * 1000)
        assert str(frame.sub_frames["TIT2"]) == entry["title"] == mark.title
        assert (frame.start_offset, frame.end_offset) == (0xFFFFFFFF, 0xFFFFFFFF)
    assert in_toc_order[-1].end_time == round(episode.duration * 1000)


def test_chapters_start_on_their_spoken_titles(written, episode):
    files, _ = written
    document = json.loads(files.chapters_json.read_text())
    cues = parse_vtt(files.vtt.read_text())
    title_cues = [next(c for c in cues if c[2] == s.utterances[0].text) for s in SCRIPTS]
    assert document["chapters"][0]["startTime"] == 0.0
    assert title_cues[0][0] == pytest.approx(Pauses().lead_in, abs=0.001)
    for entry, cue in zip(document["chapters"][1:], title_cues[1:]):
        assert abs(entry["startTime"] - cue[0]) < 0.05


def test_vtt_cues_parse_back_to_the_episode_cues(written, episode):
    cues = parse_vtt(written[0].vtt.read_text())
    assert len(cues) == len(episode.cues)
    for (start, end, text), cue in zip(cues, episode.cues):
        assert start == pytest.approx(cue.start, abs=0.001)
        assert end == pytest.approx(cue.end, abs=0.001)
        assert text == " ".join(cue.text.split())  # one line, original wording, & < > intact
    # Every cue is exactly: its number, its timings, one line of text.
    blocks = written[0].vtt.read_text().strip().split("\n\n")[1:]
    assert all(len(block.split("\n")) == 3 for block in blocks)


@pytest.mark.parametrize("seconds, stamp", [
    (0, "00:00:00.000"), (1.2345, "00:00:01.234"), (59.9996, "00:01:00.000"),
    (3725.5, "01:02:05.500"), (-0.0001, "00:00:00.000")])
def test_vtt_timestamps(seconds, stamp):
    assert vtt_timestamp(seconds) == stamp


@pytest.mark.parametrize("text, payload", [
    ("Fish & chips", "Fish &amp; chips"),
    ("a <b>bold</b> claim", "a &lt;b&gt;bold&lt;/b&gt; claim"),
    ("first line\n\nsecond line", "first line second line"),
    ("an arrow --> here", "an arrow --&gt; here"),
])
def test_vtt_cue_text_is_escaped_and_kept_on_one_line(text, payload):
    vtt = webvtt([Cue(0.0, 1.0, text)])
    assert vtt == f"WEBVTT\n\n1\n00:00:00.000 --> 00:00:01.000\n{payload}\n"


def fail_export(audio, path, bitrate):
    """Write half a file, then fail, as a crashed encoder would."""
    with open(path, "wb") as handle:
        handle.write(b"\xff\xfb" + b"\0" * 1000)
    raise RuntimeError("encoder died")


def test_an_encoder_that_dies_midway_leaves_nothing_behind(tmp_path, monkeypatch):
    monkeypatch.setattr(encode_module, "export_mp3", fail_export)
    speak = make_speak(ToneEngine(24000))
    with pytest.raises(RuntimeError):
        segments_of([chapter("One", ["a b c d e"])], speak, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_silent_episode_is_still_a_valid_mp3(tmp_path):
    speak = make_speak(ToneEngine(24000, amplitude=0.0))
    files = join_segments(segments_of(SCRIPTS[:2], speak, tmp_path), METADATA,
                          tmp_path / "quiet.mp3")
    audio = decode(files.mp3)
    assert len(audio) == round(files.duration * 44100) and not np.any(audio)


def test_a_stream_fed_piece_by_piece_is_one_mp3_that_flows_as_it_is_fed(tmp_path):
    """Frames come out while the encoder is still being fed, and the pieces decode as one file
    as long as all of them, no gap between: what a streamed /v1/audio/speech sends."""
    import threading

    from narration.encode import Mp3Stream

    out, arrived = bytearray(), threading.Event()

    def collect(data: bytes) -> None:
        out.extend(data)
        arrived.set()

    engine = ToneEngine(44100)
    pieces = [engine.synthesize("word " * words).samples * 0.3 for words in (12, 7, 20)]
    stream = Mp3Stream(44100, collect)
    stream.write(pieces[0])
    assert arrived.wait(10), "no frames before the stream ended"
    for piece in pieces[1:]:
        stream.write(piece)
    stream.close()
    (tmp_path / "stream.mp3").write_bytes(bytes(out))
    decoded = decode(tmp_path / "stream.mp3")
    fed = sum(map(len, pieces))
    # No info frame, so decoders keep the encoder's delay and padding: at most two frames more.
    assert fed <= len(decoded) <= fed + 2 * 1152 + 1105
    position = 0
    for piece in pieces:  # each piece's tone is where it was fed: nothing lost or doubled
        middle = position + len(piece) // 2 + 1105
        assert np.abs(decoded[middle - 500:middle + 500]).max() > 0.1
        position += len(piece)
