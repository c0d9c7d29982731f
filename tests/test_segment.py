"""A chapter becomes its final MP3 segment in one encode: lead silence, podcast loudness as
decoded, an info frame and no tag, and a record that round-trips through JSON."""

import numpy as np
import pytest

import voices
from narration import encode as encode_module
from narration.audio import Audio
from narration.loudness import short_loudness
from narration.pipeline import make_speaker
from narration.render import OUTPUT_RATE, Pauses, render_chapter
from narration.script import ChapterScript, Pause, Utterance
from narration.segment import Segment, encode_segment, segment_from_json, segment_to_json
from narration.timeline import Cue, RenderedChapter
from tests.checks import decode, ebur128
from tests.fakes import BabbleEngine, ToneEngine, make_speak


def script(*sentences: str) -> ChapterScript:
    return ChapterScript("Title", tuple(Utterance(s, s, Pause.SENTENCE) for s in sentences))


@pytest.fixture
def encodes(monkeypatch):
    """Counts LAME encodes."""
    calls = []
    real = encode_module.export_mp3

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(encode_module, "export_mp3", counting)
    return calls


def test_the_segment_file_is_bare_frames_with_the_lead_silence_first(tmp_path):
    engine = ToneEngine(22050, seconds_per_word=0.2, amplitude=0.5)
    rendered = render_chapter(script("one two three", "four five"), make_speak(engine))
    segment = encode_segment(rendered, tmp_path / "s.mp3", chapter=3, lead=1.2)
    data = (tmp_path / "s.mp3").read_bytes()
    assert data[:2] == b"\xff\xfb" and b"ID3" not in data[:10] and b"TAG" not in data[-128:-125]
    assert (segment.chapter, segment.title, segment.rate) == (3, "Title", OUTPUT_RATE)
    assert segment.lead == round(1.2 * OUTPUT_RATE)
    assert segment.samples == segment.lead + len(rendered.audio.samples)
    assert [c.start for c in segment.cues] == pytest.approx(
        [1.2 + c.start for c in rendered.cues], abs=1e-6)
    audio = decode(tmp_path / "s.mp3").astype(np.float32) / 32768
    assert 0 <= len(audio) - segment.samples < 1152
    assert np.max(np.abs(audio[:segment.lead - 50])) < 0.001  # silence until the words
    sound = np.flatnonzero(np.abs(audio) > 0.05)
    assert sound[0] / OUTPUT_RATE == pytest.approx(segment.cues[0].start, abs=0.005)
    assert [path.name for path in tmp_path.iterdir()] == ["s.mp3"]  # no temp file left


def test_the_record_round_trips_through_json():
    segment = Segment("Love & <code> “quotes”", 2, 44100, 123456, 52920, 576, 1000, 109,
                      (Cue(1.2, 2.5, "Hello, “world”."), Cue(2.85, 3.0, "Ünïcode")))
    assert segment_from_json(segment_to_json(segment)) == segment


@pytest.mark.parametrize("data", [b"", b"{}", b"[]", b'{"version": 99}', b"not json"])
def test_anything_else_is_not_a_segment_record(data):
    with pytest.raises(ValueError):
        segment_from_json(data)


def test_a_loud_peaky_chapter_is_brought_to_podcast_loudness(tmp_path, encodes):
    engine = BabbleEngine(22050, seconds_per_word=0.3, amplitude=0.95)
    rendered = render_chapter(script(*(" ".join(["word"] * n) for n in (12, 9, 15))),
                              make_speak(engine))
    encode_segment(rendered, tmp_path / "s.mp3", chapter=0, lead=0.6)
    lufs, peak = ebur128(tmp_path / "s.mp3")
    assert lufs == pytest.approx(-16.0, abs=1.0)
    assert peak <= -1.0


def test_a_real_voice_needs_one_encode(tmp_path, encodes):
    """Piper speech: the encoder's level change is predicted, so the decoded check passes at
    once and the chapter is encoded exactly once."""
    engine = voices.load_engine(voices.load_catalogue().find("male"))
    sentences = ["Her is a film about a lonely man who falls in love with his computer.",
                 "It sounds absurd, and for the first ten minutes it is.",
                 "Then Scarlett Johansson's voice does something no one expected."]
    rendered = render_chapter(script(*sentences), make_speaker(engine, 1.0, None))
    encode_segment(rendered, tmp_path / "s.mp3", chapter=0, lead=0.6)
    lufs, peak = ebur128(tmp_path / "s.mp3")
    assert lufs == pytest.approx(-16.0, abs=0.5)
    assert peak <= -1.0
    assert len(encodes) == 1


def test_a_part_too_short_to_measure_is_as_loud_as_the_rest(tmp_path):
    """0.1 s of sound after a 0.25 s lead: under one 0.4 s gating block, so no integrated
    loudness exists; it is read as one block and brought to the target like any other."""
    engine = ToneEngine(22050, seconds_per_word=0.1, amplitude=0.02)
    rendered = render_chapter(script("yes"), make_speak(engine))
    segment = encode_segment(rendered, tmp_path / "s.mp3", chapter=1, lead=0.25)
    assert segment.seconds < 0.4
    audio = decode(tmp_path / "s.mp3").astype(np.float32) / 32768
    assert short_loudness(Audio(audio, OUTPUT_RATE)) == pytest.approx(-16.0, abs=1.5)
    assert np.max(np.abs(audio)) < 10 ** (-1 / 20)


@pytest.mark.parametrize("seconds", [0.0, 0.3, 2.0])
def test_silence_and_an_empty_part_encode_as_silence(tmp_path, seconds):
    silent = RenderedChapter("Quiet", Audio(np.zeros(round(seconds * OUTPUT_RATE), np.float32),
                                            OUTPUT_RATE), ())
    segment = encode_segment(silent, tmp_path / "s.mp3", chapter=0, lead=Pauses().sentence)
    audio = decode(tmp_path / "s.mp3")
    assert 0 <= len(audio) - segment.samples < 1152
    assert not np.any(audio)
