"""Plain text → Document: title block to metadata, standalone short lines to chapter titles."""

from __future__ import annotations

import logging

from narration.document import Document
from narration.errors import EmptyTextError
from narration.reading.chapters import assemble_chapters, build_document
from narration.reading.chrome import drop_trailing_chrome, is_chrome
from narration.reading.decoding import clean_text
from narration.reading.paragraphs import Unit, block_units, is_heading_like, split_blocks
from narration.reading.titleblock import read_title_block

logger = logging.getLogger(__name__)


def read_plain(text: str, *, title: str = "", author: str = "") -> Document:
    """Read a plain-text review or article; `title` and `author` override what the text says."""
    text = clean_text(text)
    if not text.strip():
        raise EmptyTextError("The text is empty. Paste or upload the review or article to narrate.")
    lines = [line for line in text.split("\n") if not is_chrome(line)]
    block = read_title_block(lines)
    fields = list(block.fields)
    fields += [("title", block.title), ("headline", block.headline), ("tagline", block.tagline)]
    fields = [(name, value) for name, value in fields if value]
    if title and block.title and block.title.casefold() != title.casefold() and not block.headline:
        # The caller named the work; the text's own first line is then its headline.
        fields.append(("headline", block.title))
    units = mark_headings(drop_trailing_chrome(paragraph_units(block.body)))
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
