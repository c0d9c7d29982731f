"""Plain text → Document: title block to metadata, standalone short lines to chapter titles."""

from __future__ import annotations

import logging

from narration.document import Document
from narration.errors import EmptyTextError
from narration.reading.chapters import assemble_chapters, build_document
from narration.reading.chrome import drop_trailing_chrome, trailing_chrome_start
from narration.reading.decoding import clean_text
from narration.reading.paragraphs import Unit, block_units, is_heading_like, split_blocks
from narration.reading.ratings import split_leading_rating
from narration.reading.chrome import SPOILER_BANNER
from narration.reading.review import drop_repeated_head_lines, sentence_case_heading, take_facts, tidy_units
from narration.reading.titleblock import read_title_block

logger = logging.getLogger(__name__)


def read_plain(text: str, *, title: str = "", author: str = "") -> Document:
    """Read a plain-text review or article; `title` and `author` override what the text says."""
    text = clean_text(text)
    if not text.strip():
        raise EmptyTextError("The text is empty. Paste or upload the review or article to narrate.")
    lines = drop_repeated_head_lines(text.split("\n"))  # chrome lines go in take_facts
    lines, fields = _split_leading_rating(lines)
    lines = lines[:trailing_chrome_start(lines)]  # before short lines are joined into paragraphs
    # Furniture goes first; fact lines stay for the title block, which reads its shape from them.
    drop, spoilers = take_facts(lines, fields, facts=False)
    block = read_title_block([line for index, line in enumerate(lines) if index not in drop])
    fields += block.fields
    drop, body_spoilers = take_facts(block.body, fields, chrome=False)
    block.body = [line for index, line in enumerate(block.body) if index not in drop]
    spoilers = spoilers or body_spoilers
    fields += [("title", block.title), ("headline", block.headline), ("tagline", block.tagline)]
    fields = [(name, value) for name, value in fields if value]
    if title and block.title and block.title.casefold() != title.casefold() and not block.headline:
        # The caller named the work; the text's own first line is then its headline.
        fields.append(("headline", block.title))
    body = tidy_units(paragraph_units(block.body), fields, titles=(block.title, block.headline, title),
                      facts=False)
    body = [Unit(SPOILER_BANNER)] * spoilers + body
    units = [sentence_case_heading(unit) for unit in mark_headings(drop_trailing_chrome(body))]
    chapters = assemble_chapters(units)
    logger.debug("read %d chapters from %d lines of plain text", len(chapters), len(lines))
    return build_document(chapters, fields, title=title, author=author, source="plain")


def paragraph_units(lines: list[str]) -> list[Unit]:
    """Every paragraph, list item and standalone line of the body, in order."""
    return [unit for block in split_blocks(lines) for unit in block_units(block)]


def mark_headings(units: list[Unit]) -> list[Unit]:
    """Mark as headings the title-like lines that introduce a real paragraph or list."""
    marked = []
    for index, unit in enumerate(units):
        following = units[index + 1] if index + 1 < len(units) else None
        heading = (
            is_heading_like(unit)
            and following is not None
            and (following.list_item or not is_heading_like(following))
        )
        marked.append(Unit(unit.text, single_line=unit.single_line, heading=True) if heading else unit)
    return marked


def _split_leading_rating(lines: list[str]) -> tuple[list[str], list[tuple[str, str]]]:
    """A first line that opens with a rating ("★★★★☆ Great value") gives the rating and keeps the rest."""
    for index, line in enumerate(lines):
        if line.strip():
            rating, rest = split_leading_rating(line)
            if rating is None:
                return lines, []
            return lines[:index] + [rest] + lines[index + 1:], [("rating", rating.written())]
    return lines, []
