"""Speak a chapter's utterances and join them, with pauses, into one clip with exact cue times."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np
import soxr

from narration.audio import Audio, samples_for
from narration.loudness import normalize_groups
from narration.script import ChapterScript, Pause, Role, Utterance
from narration.timeline import Cue, RenderedChapter

log = logging.getLogger(__name__)

OUTPUT_RATE = 44100
"""Sample rate of everything after synthesis; Apple asks for 44.1 or 48 kHz."""
NARRATOR_LABEL, QUOTE_LABEL = "Narrator", "Quote"
"""The readers' names in a two-voice transcript (WebVTT `<v Narrator>`, `<v Quote>`)."""


@dataclass(frozen=True)
class Pauses:
    """Silences in seconds: how the narration breathes between things said."""

    sentence: float = 0.35
    """After a sentence inside a paragraph."""
    paragraph: float = 0.8
    """After the last sentence of a paragraph."""
    title: float = 1.0
    """After a chapter title or the spoken introduction."""
    lead_in: float = 0.6
    """At the very start of the episode, before the first title is spoken, so players that start
    late or fade in do not clip the first word."""
    chapter: float = 1.2
    """Between the last words of one chapter and the title of the next."""
    fade: float = 0.01
    """Fade-in and fade-out on every clip, so joins never click."""

    def after(self, pause: Pause) -> float:
        """Seconds of silence that follow an utterance marked with `pause`."""
        return {Pause.SENTENCE: self.sentence, Pause.PARAGRAPH: self.paragraph,
                Pause.TITLE: self.title}[Pause(pause)]


def resample(audio: Audio, rate: int = OUTPUT_RATE) -> np.ndarray:
    """The clip at `rate`, exactly round(n * rate / src) samples long, as float32.

    soxr's "HQ" quality is transparent for speech; its output length can differ from the
    rounded ideal by a sample, so it is padded or cut to keep timings predictable.
    """
    samples = np.asarray(audio.samples, dtype=np.float32)
    if samples.ndim != 1:
        raise ValueError(f"engines must return mono audio, got shape {samples.shape}")
    expected = round(len(samples) * rate / audio.rate)
    if audio.rate != rate and len(samples):
        samples = soxr.resample(samples, audio.rate, rate, quality="HQ").astype(np.float32)
    if len(samples) > expected:
        samples = samples[:expected]
    elif len(samples) < expected:
        samples = np.pad(samples, (0, expected - len(samples)))
    return samples


def fade_edges(samples: np.ndarray, fade_samples: int) -> np.ndarray:
    """A copy with raised-cosine fades that start and end at exactly zero.

    Engines often stop mid-cycle; a clip that jumps from full scale to silence clicks.
    """
    out = np.array(samples, dtype=np.float32, copy=True)
    n = min(fade_samples, len(out) // 2)
    if n <= 0:
        return out
    ramp = (0.5 - 0.5 * np.cos(np.pi * np.arange(n) / n)).astype(np.float32)
    out[:n] *= ramp
    out[len(out) - n:] *= ramp[::-1]
    return out


def render_pieces(script: ChapterScript, speak: Callable[[Utterance], Audio], *,
                  pauses: Pauses = Pauses(), rate: int = OUTPUT_RATE
                  ) -> Iterator[tuple[Utterance, np.ndarray, int]]:
    """Each utterance spoken, resampled to `rate` and faded, as (utterance, clip, samples of
    the pause after it), one at a time: what `render_chapter` lays end to end, and what a
    stream sends as soon as it is said. The last utterance has no pause after it."""
    fade = samples_for(pauses.fade, rate)
    for index, utterance in enumerate(script.utterances):
        clip = fade_edges(resample(speak(utterance), rate), fade)
        last = index == len(script.utterances) - 1
        yield utterance, clip, 0 if last else samples_for(pauses.after(utterance.pause), rate)


def render_chapter(script: ChapterScript, speak: Callable[[Utterance], Audio], *,
                   pauses: Pauses = Pauses(), rate: int = OUTPUT_RATE,
                   two_voices: bool = False) -> RenderedChapter:
    """Speak each utterance in order and lay the clips end to end with their pauses.

    Cue times come from integer sample counts, so they are exact to the sample. Nothing is
    trimmed from engine output: what the engine returns is where the cue is. No pause follows
    the last utterance: the silence before the next chapter or part is that one's lead
    (`narration.segment.encode_segment`).

    With `two_voices` (a narration with a quote voice), each cue names its reader, and the
    narrator's and the quotes' clips are each brought to the podcast loudness
    (`normalize_groups`) before the part as a whole is: two engines rarely speak equally loud.
    """
    if two_voices:  # the groups are leveled together, so every clip is spoken first
        clips = normalize_groups([resample(speak(u), rate) for u in script.utterances],
                                 [u.role == Role.QUOTE for u in script.utterances], rate)
        leveled = iter(clips)
        pieces_of = render_pieces(script, lambda _u: Audio(next(leveled), rate), pauses=pauses,
                                  rate=rate)
    else:
        pieces_of = render_pieces(script, speak, pauses=pauses, rate=rate)
    pieces: list[np.ndarray] = []
    cues: list[Cue] = []
    position = 0
    for utterance, clip, gap in pieces_of:
        pieces.append(clip)
        label = "" if not two_voices else QUOTE_LABEL if utterance.role == Role.QUOTE \
            else NARRATOR_LABEL
        cues.append(Cue(position / rate, (position + len(clip)) / rate, utterance.text, label))
        position += len(clip)
        if gap:
            pieces.append(np.zeros(gap, dtype=np.float32))
            position += gap
    samples = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
    log.debug("rendered chapter %r: %d utterances, %.1f s", script.title, len(cues),
              position / rate)
    return RenderedChapter(script.title, Audio(samples, rate), tuple(cues))
