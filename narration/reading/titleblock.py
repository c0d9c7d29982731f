"""The title block at the top of a pasted review: title, dates, labelled facts, tagline, headline."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from narration.reading.fields import parse_meta_line
from narration.reading.paragraphs import UNWRAPPED_LINE, Unit, collapse_spaces, ends_sentence, is_heading_like

# How many non-blank lines from the top may belong to a title block.
HEAD_WINDOW = 20
TITLE_MAX_WORDS = 15
TITLE_MAX_CHARS = 120
TAGLINE_MAX_CHARS = 400
_PERSON = re.compile(r"(?!(?:The|A|An|My|Our) )[A-Z][a-z'’-]+(?: [A-Z][a-z'’.-]*){1,2}")
"""A bare name ("Dana Whitfield") on its own line just above a date or reading time."""
_TITLE_YEAR = re.compile(r"^(?P<title>.+?)\s*[(\[](?P<year>1[89]\d\d|20\d\d)[)\]]$")
_REVIEW_PREFIX = re.compile(r"^(?:(?:(?:film|movie|book|album|game|tv|series)\s+)?review\s*[:\-–—|]|re:)\s*",
                            re.IGNORECASE)  # "Review: Her", and "Re: …" of a forum reply
_REVIEW_SUFFIX = re.compile(r"\s*[:\-–—|]\s*(?:a\s+)?(?:film\s+|movie\s+|book\s+)?review$", re.IGNORECASE)


@dataclass
class TitleBlock:
    """What the top of a text said about itself, and the lines left to narrate."""

    title: str = ""
    headline: str = ""
    tagline: str = ""
    fields: list[tuple[str, str]] = field(default_factory=list)
    body: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Line:
    """A non-blank line with where it sits: its index in the text and its paragraph."""

    index: int
    text: str
    paragraph: tuple[int, int]
    alone: bool
    """Its paragraph is this one line (it stood on its own)."""


def read_title_block(lines: list[str]) -> TitleBlock:
    """Split the leading title block off a text's lines; the body is every line after it."""
    entries = _nonblank_lines(_head(lines))
    if not entries:
        return TitleBlock(body=lines)
    block = TitleBlock()
    position = _leading_ratings(entries, block)
    first = entries[position]
    followed_by_fields = len(entries) > position + 1 and parse_meta_line(entries[position + 1].text) is not None
    if (
        parse_meta_line(first.text) is None
        and (first.alone or followed_by_fields or _is_title_and_subtitle(entries[position:]))
        and _is_title_like(first.text)
        and len(entries) > position + 1
    ):
        block.title, year = split_title(first.text)
        if year:
            block.fields.append(("year", year))
        if _is_title_and_subtitle(entries[position:]):
            block.headline = collapse_spaces(entries[position + 1].text)
            position += 1
        position += 1
    end = _read_fields(entries, position, block)
    if end is None:
        # No labelled facts: only a title line (if any) is taken off the top.
        block.body = lines[entries[position].index:] if position < len(entries) else lines[entries[-1].index + 1:]
        return block
    if end + 1 < len(entries) and not block.headline and _is_headline(entries[end], entries[end + 1]):
        block.headline = entries[end].text.strip()
        end += 1
    block.body = lines[entries[end].index:] if end < len(entries) else lines[entries[-1].index + 1:]
    return block


def _leading_ratings(entries: list[_Line], block: TitleBlock) -> int:
    """Rating or verdict lines above the title ("8/10", "Verdict: Skip it"): into block.fields;
    returns the index of the first entry after them."""
    position = 0
    while position < min(2, len(entries) - 1):
        pairs = parse_meta_line(entries[position].text)
        if not pairs or any(name != "rating" for name, _ in pairs):
            break
        block.fields.extend(pairs)
        position += 1
    return position


def split_title(line: str) -> tuple[str, str]:
    """("Her", "2013") from "Her (2013)"; a "Review:" prefix or suffix is not part of the title."""
    title = _REVIEW_SUFFIX.sub("", _REVIEW_PREFIX.sub("", collapse_spaces(line)))
    match = _TITLE_YEAR.match(title)
    return (match["title"], match["year"]) if match else (title, "")


def _read_fields(entries: list[_Line], position: int, block: TitleBlock) -> int | None:
    """Read labelled lines (with at most one free paragraph among them) into block.

    Returns the entry index just past the last labelled line, or None when there is none.
    The one free paragraph is the tagline, or the headline when it reads as a title.
    """
    end = None
    pending: list[_Line] = []
    for index in range(position, min(len(entries), position + HEAD_WINDOW)):
        entry = entries[index]
        pairs = parse_meta_line(entry.text)
        if pairs is None:
            pending.append(entry)
            if len({line.paragraph for line in pending}) > 1:
                break
            continue
        if pending and pending[0].index == entries[0].index and ends_sentence(pending[0].text):
            break  # the text opens with prose: no title block, the facts are read where they are
        if pending:
            _take_free_paragraph(pending, block)
            pending = []
        block.fields.extend(pairs)
        end = index + 1
    return end


def _is_title_and_subtitle(entries: list[_Line]) -> bool:
    """The text opens with a paragraph of two short title-like lines: a title and its subtitle."""
    if len(entries) < 3 or entries[0].alone or entries[0].paragraph != entries[1].paragraph:
        return False
    if parse_meta_line(entries[1].text) is not None:
        return False
    if entries[2].paragraph == entries[0].paragraph and parse_meta_line(entries[2].text) is None:
        return False
    return all(_is_title_like(entry.text) and not ends_sentence(entry.text) for entry in entries[:2])


def _take_free_paragraph(pending: list[_Line], block: TitleBlock) -> None:
    """A free paragraph inside the title block: the author when it is a bare name before a dated
    line, a headline if it reads as a title, else the tagline."""
    text = collapse_spaces(" ".join(line.text for line in pending))
    if _PERSON.fullmatch(text) and not any(name == "author" for name, _ in block.fields):
        block.fields.append(("author", text))
    elif len(pending) == 1 and not block.headline and _is_title_like(text) and text[:1].isupper() and not ends_sentence(text):
        block.headline = text
    elif len(text) <= TAGLINE_MAX_CHARS and not block.tagline:
        block.tagline = text


def _is_headline(candidate: _Line, following: _Line) -> bool:
    """The review's own headline: a title-like line on its own, followed by a real paragraph."""
    unit = Unit(candidate.text.strip(), single_line=candidate.alone)
    after = Unit(following.text.strip(), single_line=following.alone)
    return is_heading_like(unit) and not is_heading_like(after)


def _is_title_like(text: str) -> bool:
    """Short, with no sentence ending other than ? or ! (titles may ask or exclaim)."""
    text = text.strip()
    if len(text) > TITLE_MAX_CHARS or len(text.split()) > TITLE_MAX_WORDS:
        return False
    return not ends_sentence(text) or text.rstrip("\"'”’)").endswith(("?", "!"))


def _head(lines: list[str]) -> list[str]:
    """The first lines of a text, up to twice the title block's window of non-blank lines."""
    seen = 0
    for index, line in enumerate(lines):
        seen += bool(line.strip())
        if seen > 2 * HEAD_WINDOW:
            return lines[:index]
    return lines


def _nonblank_lines(lines: list[str]) -> list[_Line]:
    """Non-blank lines tagged with their paragraph; in unwrapped text every line is one."""
    blocks: list[list[tuple[int, str]]] = []
    current: list[tuple[int, str]] = []
    for index, line in enumerate(lines):
        if line.strip():
            current.append((index, line))
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    entries = []
    for block_number, block in enumerate(blocks):
        unwrapped = len(block) > 1 and max(len(line) for _, line in block) > UNWRAPPED_LINE
        for index, line in block:
            paragraph = (block_number, index if unwrapped else 0)
            entries.append(_Line(index, line, paragraph, alone=len(block) == 1 or unwrapped))
    return entries
