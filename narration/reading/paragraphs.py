"""Lines → paragraphs: blank lines separate, hard wraps are joined, list items stand alone."""

from __future__ import annotations

import re
from dataclasses import dataclass

# A line this long was not hard-wrapped by hand, so a single newline after it is a paragraph break.
UNWRAPPED_LINE = 100
HEADING_MAX_WORDS = 8
HEADING_MAX_CHARS = 60
SENTENCE_END = (".", "!", "?", "…", ":", ";", ",", "—", "–", "-")
CLOSERS = "\"'”’»)]*_"
LIST_MARKER = re.compile(r"\s*(?:[-*•·‣◦▪–+]|(\d{1,3})[.)])\s+(?=\S)")


@dataclass(frozen=True)
class Unit:
    """A paragraph candidate with what heading detection needs to know about its shape."""

    text: str
    single_line: bool = False
    """It stood alone on one line in the source (a heading candidate)."""
    list_item: bool = False
    heading: bool = False
    """Marked as a heading by the source format itself (Markdown)."""
    quote: bool = False
    """A block quote in the source (Markdown `>`, HTML `<blockquote>`)."""


def collapse_spaces(text: str) -> str:
    """One plain space between words, none at the ends."""
    return re.sub(r"\s+", " ", text).strip()


def ends_sentence(text: str) -> bool:
    """True when text ends with sentence punctuation, looking past closing quotes and brackets."""
    return text.rstrip().rstrip(CLOSERS).endswith(SENTENCE_END)


def as_sentence(text: str) -> str:
    """The text with a full stop added if it has none, so a list item is read as a sentence."""
    text = text.strip()
    return text if not text or ends_sentence(text) else text + "."


def split_blocks(lines: list[str]) -> list[list[str]]:
    """Runs of non-blank lines; whitespace-only lines (including no-break spaces) separate them."""
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in lines:
        if line.strip():
            current.append(line.rstrip())
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def join_lines(lines: list[str]) -> str:
    """Join a hard-wrapped paragraph; a word broken with a hyphen at a line end is rejoined."""
    # Parts joined once at the end, and only the last part's tail checked for a hyphen:
    # re-searching the growing text made a 16,000-line paragraph take seconds.
    parts: list[str] = []
    for line in (line.strip() for line in lines):
        if parts and re.search(r"[A-Za-z]-$", parts[-1][-2:]) and line[:1].islower():
            parts[-1] += line
        else:
            parts.append(line)
    return collapse_spaces(" ".join(parts))


def list_item_text(line: str) -> str | None:
    """The item text without its bullet (an ordered item keeps its number), or None."""
    match = LIST_MARKER.match(line)
    if not match:
        return None
    rest = line[match.end():].strip()
    return f"{match[1]}. {rest}" if match[1] else rest


def block_units(block: list[str]) -> list[Unit]:
    """Paragraph units of one block: list items one by one, unwrapped lines one by one, else joined."""
    if len(block) == 1:
        item = list_item_text(block[0])
        if item is not None:
            return [Unit(as_sentence(item), list_item=True)]
        return [Unit(collapse_spaces(block[0]), single_line=True)]
    list_start = _list_start(block)
    if list_start is not None:
        before = block_units(block[:list_start]) if list_start else []
        return before + _list_units(block[list_start:])
    if max(len(line) for line in block) > UNWRAPPED_LINE:
        return [unit for line in block for unit in block_units([line])]
    return [Unit(join_lines(block))]


def _list_start(block: list[str]) -> int | None:
    """Where a list begins in a block: at its first line, right after a line ending in a colon, or
    right after a title line ("Set highlights" over its bullets).

    A wrapped line that happens to start with "2013. " is not a list, hence the two cases.
    """
    for index, line in enumerate(block):
        if list_item_text(line) is None:
            continue
        after_title = index == 1 and is_heading_like(Unit(collapse_spaces(block[0]), single_line=True))
        if index == 0 or block[index - 1].rstrip().endswith(":") or after_title:
            return index
    return None


def _list_units(lines: list[str]) -> list[Unit]:
    """One unit per list item; lines without a marker continue the item above."""
    items: list[list[str]] = []
    for line in lines:
        item = list_item_text(line)
        if item is not None:
            items.append([item])
        else:
            items[-1].append(line)
    return [Unit(as_sentence(join_lines(item)), list_item=True) for item in items]


def is_heading_like(unit: Unit) -> bool:
    """A short, capitalized line on its own with no sentence punctuation: it reads as a title."""
    text = unit.text
    if not unit.single_line or unit.list_item or ends_sentence(text):
        return False
    if len(text) > HEADING_MAX_CHARS or len(text.split()) > HEADING_MAX_WORDS:
        return False
    first = text.lstrip("\"'“‘(")[:1]
    return first.isupper() or first.isdigit()
