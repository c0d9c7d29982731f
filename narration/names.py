"""The names check: words a listener is likely to hear wrong, found before anything is spoken.

Proper names are what voices miss most (measured: most of the male voice's ~12 % word error rate
on a review was names). A word counts as a name when it is capitalized in the middle of a
sentence somewhere in the text; at the start of a sentence or in a title (where every word is
capitalized) it counts only if it is also capitalized mid-sentence elsewhere, so "The" and "Ending"
are not names. Words with letters outside English's a–z ("Björk", "Saoirse" is not, "Zoë" is)
are listed too. For each, the engine's phonemizer says whether it knows the word or guesses it
by spelling rules (espeak-ng, for Piper and Kokoro), and the lexicon says whether it covers it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Iterable

from narration.lexicon import Lexicon
from narration.script import ChapterScript, Pause

WORD = re.compile(r"[^\W\d_](?:[\w’'-]*[^\W_])?")
ENDING = re.compile(r"(n['’]t|['’](s|m|re|ve|ll|d|es)?)$", re.IGNORECASE)
"""Possessives and contractions: "Nathan's" is Nathan, "I'm" is I, "haven't" is haven."""
SENTENCE_START = re.compile(r"(^|[.!?\"“(]\s*)$")
EXAMPLES = 3
"""Sentences kept per name: enough to hear it in context, few enough to read."""


@dataclass
class Name:
    """One word a listener may hear wrong, with where it is said."""

    word: str
    count: int = 0
    sentences: list[tuple[int, str]] = field(default_factory=list)
    """(chapter index, sentence as written), the first few."""
    guessed: bool | None = None
    """True: the phonemizer has no entry and guesses from spelling; None: the engine cannot say."""
    in_lexicon: bool = False

    def to_dict(self) -> dict:
        return {"word": self.word, "count": self.count, "guessed": self.guessed,
                "in_lexicon": self.in_lexicon,
                "sentences": [{"chapter": c, "text": t} for c, t in self.sentences]}


@dataclass(frozen=True)
class NamesReport:
    names: tuple[Name, ...]

    @property
    def missing(self) -> tuple[Name, ...]:
        """Names no lexicon covers."""
        return tuple(name for name in self.names if not name.in_lexicon)

    def summary(self) -> str:
        """One line, e.g. "12 names; 3 not in your lexicon"."""
        count = len(self.names)
        line = f"{count} name{'s' if count != 1 else ''}; {len(self.missing)} not in your lexicon"
        guessed = [name for name in self.missing if name.guessed]
        if guessed:
            line += f" ({len(guessed)} of them guessed from spelling by the voice)"
        return line

    def to_dict(self) -> dict:
        return {"summary": self.summary(), "names": len(self.names),
                "not_in_lexicon": len(self.missing), "words": [n.to_dict() for n in self.names]}


def find_names(scripts: Iterable[ChapterScript], *, lexicon: Lexicon | None = None,
               guessed: Callable[[list[str]], set[str]] | None = None) -> NamesReport:
    """The names (and foreign-lettered words) of the scripts, in order of first appearance.

    `guessed` is the engine's `guessed_words` when it has one (Piper and Kokoro do).
    """
    occurrences: list[tuple[int, str, str, bool]] = []  # chapter, sentence, word, mid-sentence
    for chapter, script in enumerate(scripts):
        for utterance in script.utterances:
            title = utterance.pause == Pause.TITLE
            for match in WORD.finditer(utterance.text):
                word = ENDING.sub("", match.group(0))
                if not word:
                    continue
                start = SENTENCE_START.search(utterance.text[:match.start()]) is not None
                occurrences.append((chapter, utterance.text, word, not (start or title)))
    lowercase = {word for _c, _s, word, _m in occurrences if word[0].islower()}
    named = {word for _c, _s, word, mid in occurrences
             if mid and _is_capitalized(word) and word.lower() not in lowercase}
    names: dict[str, Name] = {}
    for chapter, sentence, word, _mid in occurrences:
        if word in named or (not word.replace("’", "'").isascii() and word.lower() not in named):
            name = names.setdefault(word, Name(word))
            name.count += 1
            if len(name.sentences) < EXAMPLES and (chapter, sentence) not in name.sentences:
                name.sentences.append((chapter, sentence))
    if guessed is not None and names:
        unknown = guessed(list(names))
        for name in names.values():
            name.guessed = name.word in unknown
    if lexicon:
        for name in names.values():
            name.in_lexicon = _covered(name, lexicon)
    return NamesReport(tuple(names.values()))


def _is_capitalized(word: str) -> bool:
    """"Caleb", "McGregor", "O'Brien": a capital first; not "I", not all-caps acronyms."""
    return word[0].isupper() and len(word) > 1 and not word.isupper()


def _covered(name: Name, lexicon: Lexicon) -> bool:
    """True when an entry matches the word where it is said (also inside a phrase entry)."""
    for _chapter, sentence in name.sentences:
        for grapheme in lexicon.apply(sentence).matched:
            if name.word in grapheme.split() or name.word.lower() == grapheme.lower():
                return True
    return False
