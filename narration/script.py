"""The narration script: what is said, in order, and the pause after each thing said."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from narration.document import Document
from narration.errors import NothingSpeakableError
from narration.normalize import is_speakable, normalize
from narration.sentences import split_long, split_sentences


class Pause(str, Enum):
    """The silence after an utterance; lengths come from `narration.render.Pauses`."""

    SENTENCE = "sentence"
    PARAGRAPH = "paragraph"
    TITLE = "title"
    """After a chapter title or the introduction."""


@dataclass(frozen=True)
class Utterance:
    """One engine call: a sentence (or a clause of an over-long one)."""

    text: str
    """The original wording, shown in transcripts."""
    spoken: str
    """The normalized wording sent to the engine."""
    pause: Pause = Pause.SENTENCE
    phonemes: tuple[tuple[str, str], ...] = ()
    """(words of `spoken`, IPA) from a lexicon, for engines that take phonemes (narration.lexicon)."""


@dataclass(frozen=True)
class ChapterScript:
    """A chapter as it will be read: its title (spoken first when present) and its utterances."""

    title: str
    utterances: tuple[Utterance, ...]


OPENING_TITLE = "Introduction"
"""Chapter title for the text before the first heading when the text has no headline."""


def build_script(document: Document, *, max_chars: int) -> tuple[ChapterScript, ...]:
    """Turn a Document into chapters of utterances, each short enough for the engine.

    The spoken introduction opens the first chapter; every titled chapter starts by saying its
    title. Utterances with nothing to say (an emoji-only line) are dropped.
    """
    scripts = []
    for index, chapter in enumerate(document.chapters):
        utterances: list[Utterance] = []
        if index == 0 and document.introduction:
            utterances += _paragraph_utterances(document.introduction, max_chars, Pause.TITLE)
        if chapter.title:
            utterances += _paragraph_utterances(chapter.title, max_chars, Pause.TITLE)
        for paragraph in chapter.paragraphs:
            utterances += _paragraph_utterances(paragraph, max_chars, Pause.PARAGRAPH)
        if utterances:
            title = chapter.title or document.metadata.headline or OPENING_TITLE
            scripts.append(ChapterScript(title, tuple(utterances)))
    if not any(script.utterances for script in scripts):
        raise NothingSpeakableError(
            "The text has nothing an engine can say (no words or numbers); check what was sent.")
    return tuple(scripts)


def _paragraph_utterances(paragraph: str, max_chars: int, last_pause: Pause) -> list[Utterance]:
    """Sentences of one paragraph, over-long ones split, the last one followed by `last_pause`."""
    utterances = []
    for sentence in split_sentences(paragraph):
        for piece, spoken in _pieces(sentence, max_chars):
            if is_speakable(spoken):
                utterances.append(Utterance(piece, spoken))
    if utterances:
        last = utterances[-1]
        utterances[-1] = Utterance(last.text, last.spoken, last_pause)
    return utterances


def _pieces(sentence: str, max_chars: int, written_chars: int | None = None) -> list[tuple[str, str]]:
    """Split at clause boundaries until every piece's spoken form fits the engine: (piece, spoken).

    Normalization can lengthen text ("$1,250" → "one thousand two hundred fifty dollars"), so a
    piece that fits in writing may still be too long when spoken; such pieces are split again
    at half their written length. The spoken limit stays `max_chars` all the way down: halving
    the limit itself split "&&&…" into one utterance per character, and took seconds to do so.
    The spoken form is returned so each piece is normalized once.
    """
    pieces = []
    for piece in split_long(sentence, written_chars or max_chars):
        spoken = normalize(piece)
        if len(spoken) > max_chars and len(piece) > 1:
            pieces += _pieces(piece, max_chars, max(1, len(piece) // 2))
        else:
            pieces.append((piece, spoken))
    return pieces
