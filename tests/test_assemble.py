"""The episode's layout follows the segments' frames exactly; every segment comes out at podcast
loudness."""

import math

import numpy as np
import pyloudnorm
import pytest

from tests.checks import ebur128
from tests.fakes import BabbleEngine, ToneEngine, make_speak
from narration.audio import Audio
from narration.errors import NothingSpeakableError
from narration.join import place_segments
from narration.loudness import (TRUE_PEAK_CEILING, integrated_loudness, normalize_loudness,
                                true_peak)
from narration.render import OUTPUT_RATE, Pauses, render_chapter
from narration.script import ChapterScript, Pause, Utterance
from narration.segment import Segment, encode_segment
from narration.timeline import Cue


def script(title: str, sentences: list[str]) -> ChapterScript:
    """A chapter that says its title, then its sentences as one paragraph."""
    utterances = [Utterance(title, title, Pause.TITLE)]
    utterances += [Utterance(s, s, Pause.SENTENCE) for s in sentences]
    return ChapterScript(title, tuple(utterances))


# Sentences of narration length (about 4 s each at a speaking pace of 0.3 s a word), so the
# episode is mostly speech, as real ones are.
LONG_SCRIPTS = [
    script(f"Part {n}", [f"sentence {i} of part {n} runs on for a while as people talk"
                         for i in range(4)])
    for n in range(3)
]


def lufs(samples: np.ndarray) -> float:
    return pyloudnorm.Meter(OUTPUT_RATE).integrated_loudness(samples.astype(np.float64))


def segment(title: str, chapter: int, *, lead: float, seconds: float, cues=(),
            delay: int = 576) -> Segment:
    """A segment record as the encoder would describe `seconds` of PCM after `lead`."""
    samples = round((lead + seconds) * OUTPUT_RATE)
    frames = -(-(delay + samples + 600) // 1152)
    padding = frames * 1152 - delay - samples  # what the encoder pads to a whole frame
    return Segment(title, chapter, OUTPUT_RATE, samples, round(lead * OUTPUT_RATE), delay,
                   padding, frames, tuple(Cue(lead + a, lead + b, text) for a, b, text in cues))


def test_chapter_marks_and_cues_follow_the_frames_of_each_segment():
    pauses = Pauses()
    segments = [
        segment("One", 0, lead=pauses.lead_in, seconds=3.3, cues=[(0, 1, "One"), (1.5, 3.3, "a")]),
        segment("Two", 1, lead=pauses.chapter, seconds=2.0, cues=[(0, 0.5, "Two")]),
        segment("Two", 1, lead=pauses.paragraph, seconds=4.1, cues=[(0, 4.1, "b")]),
        segment("Three", 2, lead=pauses.chapter, seconds=0.2, cues=[(0, 0.2, "Three")]),
    ]
    placed = place_segments(segments)
    # Segment k's first sample plays after every earlier segment's whole frames.
    starts = [sum(s.frames for s in segments[:k]) * 1152 for k in range(len(segments))]
    assert placed.samples == starts[-1] + segments[-1].frames * 1152 - 576 - segments[-1].padding
    assert [m.title for m in placed.chapters] == ["One", "Two", "Three"]  # parts form one mark
    assert placed.chapters[0].start == 0.0
    assert placed.chapters[1].start == pytest.approx((starts[1] + segments[1].lead) / OUTPUT_RATE)
    assert placed.chapters[2].start == pytest.approx((starts[3] + segments[3].lead) / OUTPUT_RATE)
    for mark, following in zip(placed.chapters, placed.chapters[1:]):
        assert mark.end == following.start
    assert placed.chapters[-1].end == pytest.approx(placed.duration)
    expected = [(start / OUTPUT_RATE + c.start, start / OUTPUT_RATE + c.end, c.text)
                for s, start in zip(segments, starts) for c in s.cues]
    assert [(c.start, c.end, c.text) for c in placed.cues] == [
        (pytest.approx(a, abs=1e-4), pytest.approx(b, abs=1e-4), t) for a, b, t in expected]
    # Jumping to a chapter lands on its spoken title.
    assert [c.start for c in placed.cues if c.text in ("Two", "Three")] == pytest.approx(
        [m.start for m in placed.chapters[1:]], abs=1e-4)


def test_parts_of_a_chapter_must_be_consecutive():
    parts = [segment("A", 0, lead=0.6, seconds=1), segment("B", 1, lead=1.2, seconds=1),
             segment("A", 0, lead=0.35, seconds=1)]
    with pytest.raises(ValueError, match="not consecutive"):
        place_segments(parts)


def test_no_segments_is_the_users_error():
    with pytest.raises(NothingSpeakableError):
        place_segments([])


def test_a_loud_and_a_quiet_voice_each_end_at_minus_16_lufs(tmp_path):
    """Each chapter is brought to the target on its own, as decoded from its MP3."""
    loud = make_speak(BabbleEngine(22050, seconds_per_word=0.3, amplitude=0.95))
    quiet = make_speak(BabbleEngine(24000, seconds_per_word=0.3, amplitude=0.05))
    for index, speak in enumerate((loud, quiet)):
        path = tmp_path / f"{index}.mp3"
        encode_segment(render_chapter(LONG_SCRIPTS[index], speak), path, chapter=index, lead=1.2)
        integrated, peak = ebur128(path)
        assert integrated == pytest.approx(-16.0, abs=0.7)
        assert peak <= -1.0


def test_the_limiter_holds_speech_like_peaks_under_the_ceiling_at_target_loudness():
    engine = BabbleEngine(OUTPUT_RATE, amplitude=0.5)
    audio = engine.synthesize(" ".join(["word"] * 80))  # 8 s
    gain = 10 ** ((-16.0 - lufs(audio.samples)) / 20)
    assert true_peak(Audio(audio.samples * gain, OUTPUT_RATE)) > 0.0  # gain alone would clip
    out = normalize_loudness(audio)
    assert true_peak(out) <= TRUE_PEAK_CEILING + 0.01
    assert lufs(out.samples) == pytest.approx(-16.0, abs=0.5)


@pytest.mark.parametrize("make", [
    lambda: BabbleEngine(22050, amplitude=0.5).synthesize(" ".join(["w"] * 60)),
    lambda: ToneEngine(24000, amplitude=0.01).synthesize(" ".join(["w"] * 30)),
    lambda: render_chapter(LONG_SCRIPTS[0],
                           make_speak(BabbleEngine(24000, seconds_per_word=0.3))).audio,
])
def test_our_loudness_reading_agrees_with_pyloudnorm(make):
    audio = make()
    reference = pyloudnorm.Meter(audio.rate).integrated_loudness(audio.samples.astype(np.float64))
    assert integrated_loudness(audio) == pytest.approx(reference, abs=0.02)


def test_true_peak_sees_peaks_between_samples():
    """A tone at a quarter of the rate, sampled 45° off its crest: samples at 0.707, peak 1.0."""
    n = np.arange(OUTPUT_RATE)
    tone = np.sin(np.pi / 2 * n + np.pi / 4).astype(np.float32)
    assert 20 * math.log10(np.max(np.abs(tone))) == pytest.approx(-3.0, abs=0.1)
    assert true_peak(Audio(tone, OUTPUT_RATE)) == pytest.approx(0.0, abs=0.2)


@pytest.mark.parametrize("samples", [
    np.zeros(2 * OUTPUT_RATE, dtype=np.float32),  # silence: loudness is -inf
    (0.5 * np.sin(np.arange(4000) / 5)).astype(np.float32),  # under one 0.4 s gating block
    np.zeros(0, dtype=np.float32),
])
def test_silent_or_very_short_audio_is_left_unchanged(samples):
    out = normalize_loudness(Audio(samples, OUTPUT_RATE))
    assert np.array_equal(out.samples, samples)
