"""The narration script: what is said, in order, and the pause after each thing said."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from narration.document import Document
from narration.errors import NothingSpeakableError
from narration.normalize import is_speakable, normalize
from narration.quotes import split_quotes
from narration.sentences import split_long, split_sentences


class Pause(str, Enum):
    """The silence after an utterance; lengths come from `narration.render.Pauses`."""

    SENTENCE = "sentence"
    PARAGRAPH = "paragraph"
    TITLE = "title"
    """After a chapter title or the introduction."""


class Role(str, Enum):
    """Who reads an utterance: the narration's voice, or the quote voice when one is chosen."""

    NARRATOR = "narrator"
    QUOTE = "quote"


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
    role: Role = Role.NARRATOR
    """Quotations (narration.quotes) are `Role.QUOTE` when the narration has a quote voice."""


@dataclass(frozen=True)
class ChapterScript:
    """A chapter as it will be read: its title (spoken first when present) and its utterances."""

    title: str
    utterances: tuple[Utterance, ...]


OPENING_TITLE = "Introduction"
"""Chapter title for the text before the first heading when the text has no headline."""


def build_script(document: Document, *, max_chars: int,
                 quotes: bool = False) -> tuple[ChapterScript, ...]:
    """Turn a Document into chapters of utterances, each short enough for the engine.

    The spoken introduction opens the first chapter; every titled chapter starts by saying its
    title. Utterances with nothing to say (an emoji-only line) are dropped. With `quotes`, block
    quotes and quotations (narration.quotes) become utterances of their own with `Role.QUOTE`,
    a sentence cut where a quotation starts or ends; without, every utterance is the narrator's.
    """
    scripts = []
    for index, chapter in enumerate(document.chapters):
        utterances: list[Utterance] = []
        if index == 0 and document.introduction:
            utterances += _paragraph_utterances(document.introduction, max_chars, Pause.TITLE)
        if chapter.title:
            utterances += _paragraph_utterances(chapter.title, max_chars, Pause.TITLE)
        for number, paragraph in enumerate(chapter.paragraphs):
            runs = None
            if quotes:
                runs = [(paragraph, True)] if number in chapter.quotes else split_quotes(paragraph)
            utterances += _paragraph_utterances(paragraph, max_chars, Pause.PARAGRAPH, runs)
        if utterances:
            title = chapter.title or document.metadata.headline or OPENING_TITLE
            scripts.append(ChapterScript(title, tuple(utterances)))
    if not any(script.utterances for script in scripts):
        raise NothingSpeakableError(
            "The text has nothing an engine can say (no words or numbers); check what was sent.")
    return tuple(scripts)


def _paragraph_utterances(paragraph: str, max_chars: int, last_pause: Pause,
                          runs: list[tuple[str, bool]] | None = None) -> list[Utterance]:
    """Sentences of one paragraph, over-long ones split, the last one followed by `last_pause`;
    with `runs` ((text, is_quotation) from narration.quotes), each run's sentences in its role."""
    utterances = []
    for run, quoted in runs if runs is not None else [(paragraph, False)]:
        role = Role.QUOTE if quoted else Role.NARRATOR
        for sentence in split_sentences(run):
            for piece, spoken in _pieces(sentence, max_chars):
                if is_speakable(spoken):
                    utterances.append(Utterance(piece, spoken, role=role))
    if utterances:
        last = utterances[-1]
        utterances[-1] = Utterance(last.text, last.spoken, last_pause, role=last.role)
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
