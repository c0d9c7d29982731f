"""Which words of a paragraph are someone else's: the quotations a second voice reads.

Used only when a narration names a quote voice (`build_script(..., quotes=True)`); without one
nothing here runs and the script is as it always was.

The rule, by structure rather than by guessing who speaks:

1. A block quote (Markdown `>`, HTML `<blockquote>`, marked by the readers in
   `Chapter.quotes`) is a quotation whole.
2. A quotation is a run of text between matching quotation marks: “…”, "…", «…» (also with
   the French inner spaces), „…“ and „…” (German, Polish, Czech), ”…” (Swedish, Finnish).
   Only the outermost marks count: ‘…’ and any marks of another kind inside belong to the
   quotation (« Il a dit “non” » is one quotation); a quotation ends at the first mark that
   closes its kind (typography nests with another kind of mark, never the same one). Single
   quotes are never quotation marks here, since they are also apostrophes ("the film's",
   "rock 'n' roll").
3. A quotation goes to the second voice when it has at least `MIN_WORDS` words, or when it
   stands alone: it is the whole paragraph, or a whole sentence of it (nothing but a colon or a
   sentence's end before it, and it ends a sentence itself or the paragraph). Shorter quotations
   inside a sentence — scare quotes, titles, a "masterpiece" — stay with the narrator.
4. An opening mark without its closing mark (unbalanced, a typo, a quotation that runs into the
   next paragraph) opens nothing: the narrator reads on. A straight " opens only where a word
   starts after it and closes only where a word ended before it.

Finding them takes time linear in the paragraph, whatever its marks (the plan step's promise):
each kind of mark's closing search only moves forward (`_Closers`), and the checks around a
quotation look at a few characters either side.
"""

from __future__ import annotations

import re

MIN_WORDS = 4
"""Words a quotation inside a sentence needs before the second voice reads it."""

_CLOSERS = {"“": "”", "«": "»", "„": "“”", '"': '"', "”": "”"}
"""Opening mark → the marks that close it."""
_AMBIGUOUS = {'"', "”"}
"""Marks that both open and close: they open only before a word, after a space or the start."""
_SENTENCE_END = ".!?…"
_CONTEXT = 40
"""Characters either side of a quotation that `_counts` looks at."""
_WORD = re.compile(r"\w+(?:['’-]\w+)*")


def quoted_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each outermost quotation in `text`, marks included, in order; an
    unbalanced opening mark is skipped."""
    spans: list[tuple[int, int]] = []
    closers = _Closers(text)
    index = 0
    while index < len(text):
        if _opens(text, index):
            end = closers.after(text[index], index)
            if end is not None:
                spans.append((index, end + 1))
                index = end + 1
                continue
        index += 1
    return spans


def split_quotes(paragraph: str) -> list[tuple[str, bool]]:
    """The paragraph as consecutive (text, is_quotation) runs, per the module's rule; the runs
    joined (with spaces) give back the paragraph's words, and narrator runs are never empty."""
    spans = [(start, end) for start, end in quoted_spans(paragraph)
             if _counts(paragraph, start, end)]
    runs: list[tuple[str, bool]] = []
    position = 0
    for start, end in spans:
        end = _with_trailing_punctuation(paragraph, end)
        before = paragraph[position:start].strip()
        if before:
            runs.append((before, False))
        runs.append((paragraph[start:end].strip(), True))
        position = end
    rest = paragraph[position:].strip()
    if rest:
        runs.append((rest, False))
    return _merge_punctuation(runs)


def _opens(text: str, index: int) -> bool:
    mark = text[index]
    if mark not in _CLOSERS:
        return False
    if mark not in _AMBIGUOUS:
        return True
    before = text[index - 1] if index else " "
    after = text[index + 1] if index + 1 < len(text) else " "
    return (before.isspace() or before in "([—–-:") and not after.isspace()


def _closes(text: str, index: int, opener: str) -> bool:
    if text[index] not in _CLOSERS[opener]:
        return False
    return text[index] not in _AMBIGUOUS or (index > 0 and not text[index - 1].isspace())


class _Closers:
    """The next mark that closes each kind of opening mark, after a position. Asked with rising
    positions, each kind's search only moves forward, so a text full of marks that never close
    ("““““…") is still read in linear time."""

    def __init__(self, text: str):
        self.text = text
        self.found: dict[str, int | None] = {}
        """Opening mark → where its last search ended: a closing mark, or None for none left."""

    def after(self, opener: str, start: int) -> int | None:
        """Index of the first mark after `start` that closes `opener`, or None."""
        index = self.found.get(opener, -1)
        if index is None or index > start:
            return index
        index = start + 1
        while index < len(self.text) and not _closes(self.text, index, opener):
            index += 1
        self.found[opener] = index if index < len(self.text) else None
        return self.found[opener]


def _counts(text: str, start: int, end: int) -> bool:
    """Long enough, or a sentence of its own (rule 3)."""
    if len(_WORD.findall(text[start:end])) >= MIN_WORDS:
        return True
    before = text[max(0, start - _CONTEXT):start].rstrip()
    after = text[end:end + _CONTEXT].lstrip()
    starts_alone = not before or before[-1] in _SENTENCE_END + ":" or (
        before[-1] in "”»“\"" and before.rstrip("”»“\"")[-1:] in _SENTENCE_END)
    inside = text[start + 1:end - 1].rstrip()
    ends_alone = not after.strip(_SENTENCE_END) or inside[-1:] in _SENTENCE_END \
        or after[:1] in _SENTENCE_END
    return bool(_WORD.search(text[start:end])) and starts_alone and ends_alone


def _with_trailing_punctuation(text: str, end: int) -> int:
    """A quotation keeps the punctuation right after its closing mark ("…”." or "…»,")."""
    while end < len(text) and text[end] in _SENTENCE_END + ",;:":
        end += 1
    return end


def _merge_punctuation(runs: list[tuple[str, bool]]) -> list[tuple[str, bool]]:
    """A narrator run of punctuation alone ("—", ")") is joined to the run before it."""
    merged: list[tuple[str, bool]] = []
    for text, quoted in runs:
        if merged and not quoted and not _WORD.search(text):
            merged[-1] = (f"{merged[-1][0]} {text}", merged[-1][1])
        else:
            merged.append((text, quoted))
    return merged
