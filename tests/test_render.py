"""A chapter's clips and pauses land exactly where the arithmetic says, and joins never click."""

import numpy as np
import pytest

from tests.fakes import ToneEngine, make_speak
from narration.audio import Audio
from narration.render import OUTPUT_RATE, Pauses, render_chapter, resample
from narration.script import ChapterScript, Pause, Utterance


def utterance(text: str, pause: Pause = Pause.SENTENCE) -> Utterance:
    return Utterance(text, text.lower(), pause)


def chapter_script() -> ChapterScript:
    """A titled chapter: the title, a paragraph of three sentences, then two more sentences."""
    return ChapterScript("Falling in love", (
        utterance("Falling in love", Pause.TITLE),
        utterance("Theodore writes letters for other people."),
        utterance("He is very good at it."),
        utterance("Then he buys an operating system.", Pause.PARAGRAPH),
        utterance("She names herself Samantha."),
        utterance("The film never laughs at him & neither do we.", Pause.PARAGRAPH),
    ))


@pytest.mark.parametrize("engine_rate", [22050, 24000, 16000, 44100])
def test_cues_are_sums_of_clip_lengths_and_pauses(engine_rate):
    script = chapter_script()
    engine = ToneEngine(engine_rate)
    pauses = Pauses()
    chapter = render_chapter(script, make_speak(engine), pauses=pauses)

    position = 0  # in output samples, computed from the inputs only
    expected = []
    pause_seconds = {Pause.SENTENCE: 0.35, Pause.PARAGRAPH: 0.8, Pause.TITLE: 1.0}
    for index, u in enumerate(script.utterances):
        clip = round(engine.samples_for(u.spoken) * OUTPUT_RATE / engine_rate)
        expected.append((position / OUTPUT_RATE, (position + clip) / OUTPUT_RATE, u.text))
        position += clip
        if index < len(script.utterances) - 1:
            position += round(pause_seconds[u.pause] * OUTPUT_RATE)

    assert [cue.text for cue in chapter.cues] == [text for _, _, text in expected]
    for cue, (start, end, _) in zip(chapter.cues, expected):
        assert cue.start == pytest.approx(start, abs=0.001)
        assert cue.end == pytest.approx(end, abs=0.001)
    # No pause after the last utterance: the chapter ends with its last word.
    assert len(chapter.audio.samples) == position
    assert chapter.audio.rate == OUTPUT_RATE
    assert chapter.title == "Falling in love"


def test_speaks_every_utterance_in_order_once():
    script = chapter_script()
    engine = ToneEngine()
    render_chapter(script, make_speak(engine))
    assert engine.spoken == [u.spoken for u in script.utterances]


@pytest.mark.parametrize("pause, field", [
    (Pause.SENTENCE, "sentence"), (Pause.PARAGRAPH, "paragraph"), (Pause.TITLE, "title")])
def test_each_pause_kind_uses_its_own_length(pause, field):
    pauses = Pauses(sentence=0.1, paragraph=0.2, title=0.3)
    script = ChapterScript("t", (utterance("one two", pause), utterance("three")))
    chapter = render_chapter(script, make_speak(ToneEngine(24000)), pauses=pauses)
    gap = chapter.cues[1].start - chapter.cues[0].end
    assert gap == pytest.approx(getattr(pauses, field), abs=1 / OUTPUT_RATE)


@pytest.mark.parametrize("source_rate, samples", [
    (22050, 22050), (22050, 2205), (22050, 12347), (24000, 24000), (24000, 2401),
    (24000, 1), (16000, 7919), (48000, 48001), (44100, 1234)])
def test_resampling_gives_the_exact_expected_length(source_rate, samples):
    audio = Audio(np.random.default_rng(1).uniform(-0.5, 0.5, samples).astype(np.float32),
                  source_rate)
    out = resample(audio, OUTPUT_RATE)
    assert len(out) == round(samples * OUTPUT_RATE / source_rate)
    assert out.dtype == np.float32


def test_resampling_keeps_the_pitch():
    """A 440 Hz tone at 24 kHz is still 440 Hz at 44.1 kHz (soxr, not sample repetition)."""
    t = np.arange(24000) / 24000
    out = resample(Audio(np.sin(2 * np.pi * 440 * t).astype(np.float32), 24000))
    spectrum = np.abs(np.fft.rfft(out))
    assert np.argmax(spectrum) * OUTPUT_RATE / len(out) == pytest.approx(440, abs=2)


@pytest.mark.parametrize("engine_rate", [22050, 24000])
def test_joins_do_not_click_even_when_clips_end_at_full_scale(engine_rate):
    engine = ToneEngine(engine_rate, amplitude=1.0)
    chapter = render_chapter(chapter_script(), make_speak(engine))
    samples = chapter.audio.samples
    for cue in chapter.cues:
        first = round(cue.start * OUTPUT_RATE)
        last = round(cue.end * OUTPUT_RATE) - 1
        assert abs(samples[first]) < 1e-3 and abs(samples[last]) < 1e-3
        # The raw clip really does end at full scale, so the fade is what made it quiet.
        assert abs(engine.synthesize("x").samples[-1]) > 0.99
    # No step anywhere is larger than the tone's own steepest slope: joins add no discontinuity.
    tone_slope = 2 * np.pi * engine.frequency / OUTPUT_RATE
    assert np.max(np.abs(np.diff(samples))) < tone_slope * 1.1


def test_a_clip_shorter_than_two_fades_still_renders():
    script = ChapterScript("t", (utterance("a"), utterance("b")))
    engine = ToneEngine(22050, seconds_per_word=0.005, amplitude=1.0)
    chapter = render_chapter(script, make_speak(engine))
    assert len(chapter.cues) == 2
    assert abs(chapter.audio.samples[0]) < 1e-3
