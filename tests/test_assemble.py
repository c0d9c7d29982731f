"""Chapters join with exact gaps and marks; the episode comes out at podcast loudness."""

import math

import numpy as np
import pyloudnorm
import pytest

from tests.fakes import BabbleEngine, ToneEngine, make_speak
from narration.assemble import assemble_episode
from narration.audio import Audio
from narration.errors import NothingSpeakableError
from narration.loudness import (TRUE_PEAK_CEILING, integrated_loudness, normalize_loudness,
                                true_peak)
from narration.render import OUTPUT_RATE, Pauses, render_chapter
from narration.script import ChapterScript, Pause, Utterance


def script(title: str, sentences: list[str]) -> ChapterScript:
    """A chapter that says its title, then its sentences as one paragraph."""
    utterances = [Utterance(title, title, Pause.TITLE)]
    utterances += [Utterance(s, s, Pause.SENTENCE) for s in sentences]
    return ChapterScript(title, tuple(utterances))


SCRIPTS = [
    script("Introduction", ["Her, 2013.", "Directed by Spike Jonze."]),
    script("The letters", ["Theodore writes other people's letters.", "He is good at it."]),
    script("The voice", ["Samantha laughs.", "It changes everything for both of them."]),
]


# Sentences of narration length (about 4 s each at a speaking pace of 0.3 s a word), so the
# episode is mostly speech, as real ones are.
LONG_SCRIPTS = [
    script(f"Part {n}", [f"sentence {i} of part {n} runs on for a while as people talk"
                         for i in range(4)])
    for n in range(3)
]


def lufs(samples: np.ndarray) -> float:
    return pyloudnorm.Meter(OUTPUT_RATE).integrated_loudness(samples.astype(np.float64))


def test_chapter_marks_are_sums_of_chapter_lengths_and_gaps():
    pauses = Pauses()
    rendered = [render_chapter(s, make_speak(ToneEngine(24000)), pauses=pauses) for s in SCRIPTS]
    episode = assemble_episode(rendered, pauses=pauses)

    lead_in = round(pauses.lead_in * OUTPUT_RATE)
    gap = round(pauses.chapter * OUTPUT_RATE)
    lengths = [len(chapter.audio.samples) for chapter in rendered]
    starts = [lead_in + sum(lengths[:i]) + i * gap for i in range(len(lengths))]
    total = lead_in + sum(lengths) + gap * (len(lengths) - 1)

    assert len(episode.audio.samples) == total
    assert [m.title for m in episode.chapters] == [s.title for s in SCRIPTS]
    assert episode.chapters[0].start == 0.0  # marks cover the whole file
    for mark, start in zip(episode.chapters[1:], starts[1:]):
        assert mark.start == pytest.approx(start / OUTPUT_RATE, abs=0.001)
    for mark, following in zip(episode.chapters, episode.chapters[1:]):
        assert mark.end == following.start
    assert episode.chapters[-1].end == pytest.approx(total / OUTPUT_RATE, abs=1e-9)

    # Cues move into episode time: each chapter's cues shift by where that chapter starts.
    shifted = [(start / OUTPUT_RATE + c.start, start / OUTPUT_RATE + c.end, c.text)
               for chapter, start in zip(rendered, starts) for c in chapter.cues]
    assert len(episode.cues) == len(shifted)
    for cue, (start, end, text) in zip(episode.cues, shifted):
        assert (cue.start, cue.end, cue.text) == (pytest.approx(start, abs=0.001),
                                                  pytest.approx(end, abs=0.001), text)
    # Jumping to a chapter lands on its spoken title; the first words follow the lead-in.
    assert episode.cues[0].start == pytest.approx(pauses.lead_in, abs=0.001)
    first_cues = [cue for cue in episode.cues if cue.text in {s.title for s in SCRIPTS}]
    for mark, cue in zip(episode.chapters[1:], first_cues[1:]):
        assert abs(mark.start - cue.start) < 0.05


def test_no_chapters_is_the_users_error():
    with pytest.raises(NothingSpeakableError):
        assemble_episode([])


def test_a_loud_and_a_quiet_voice_end_at_minus_16_lufs_under_the_peak_ceiling():
    loud = make_speak(BabbleEngine(22050, seconds_per_word=0.3, amplitude=0.95))
    quiet = make_speak(BabbleEngine(24000, seconds_per_word=0.3, amplitude=0.05))
    rendered = [render_chapter(LONG_SCRIPTS[0], loud), render_chapter(LONG_SCRIPTS[1], quiet),
                render_chapter(LONG_SCRIPTS[2], loud)]
    episode = assemble_episode(rendered)
    finished = normalize_loudness(episode.audio)  # what the encoder does before encoding
    assert lufs(finished.samples) == pytest.approx(-16.0, abs=0.5)
    assert true_peak(finished) <= -1.0
    # One gain for the whole episode: the quiet chapter stays quieter than the loud ones.
    quiet_part = finished.samples[round(episode.chapters[1].start * OUTPUT_RATE):
                                       round(episode.chapters[1].end * OUTPUT_RATE)]
    assert np.max(np.abs(quiet_part)) < 0.2


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
