"""Markdown → Document with markdown-it-py: headings are chapters, markup is read as plain text.

Choices: fenced and indented code is replaced by one short sentence (CODE_OMITTED), never read
as symbols; inline code is kept only when it reads as words; images become "Image: alt." or
nothing; tables are read row by row as "Header: cell, Header: cell."; raw HTML is reduced to
its text with scripts and styles dropped.
"""

from __future__ import annotations

import html
import logging
import re

from markdown_it import MarkdownIt
from markdown_it.token import Token

from narration.document import Document
from narration.errors import EmptyTextError
from narration.reading.chapters import assemble_chapters, build_document
from narration.reading.chrome import drop_trailing_chrome, is_chrome
from narration.reading.decoding import clean_text
from narration.reading.fields import parse_meta_line
from narration.reading.htmltext import html_items
from narration.reading.paragraphs import Unit, as_sentence, collapse_spaces
from narration.reading.plain import read_plain
from narration.reading.review import sentence_case_heading, tidy_units
from narration.reading.titleblock import split_title

logger = logging.getLogger(__name__)

CODE_OMITTED = "A code example is omitted."
_PARSER = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
_FRONT_MATTER = re.compile(r"\A---\n((?:[^\n]*\n){0,40}?)(?:---|\.\.\.)\n")
_FRONT_MATTER_KEYS = {"title": "title", "author": "author", "date": "published", "description": "tagline",
                      "subtitle": "headline", "summary": "tagline"}
# Inline code that contains these is code, not a word in backticks.
_CODE_LIKE = re.compile(r"[(){}\[\];=<>$\\|#@^~/]|::|->|\w\.\w|\w_\w|^[a-z]+[A-Z]\w*$|^--?\w")
MARKUP_CHARACTERS = "[]!*_`<>\\~|"
MAX_MARKUP = 60_000
"""Most markup characters a Markdown text is parsed with. markdown-it-py costs ~30 µs for each
(`"![` repeated over 1 MB took 33 s), while real Markdown, even a long book, has a few thousand.
A text over this is read as plain text with its markup characters removed: linear, and still
narrated."""
_MARKUP_TO_SPACE = str.maketrans({mark: " " for mark in MARKUP_CHARACTERS})
_LINK_TARGET = re.compile(r"\]\([^()\s]{0,2000}\)")
_HEADING_MARK = re.compile(r"^ {0,3}#{1,6}[ \t]+", re.MULTILINE)
_SCRIPT_TAG = re.compile(r"<\s*(/?)\s*(script|style)\b", re.IGNORECASE)
_BREAK_TAG = re.compile(r"<\s*(br|hr|/p|p)\b", re.IGNORECASE)


def read_markdown(text: str, *, title: str = "", author: str = "") -> Document:
    """Read a Markdown text; `title` and `author` override what the text says."""
    text = clean_text(text)
    if not text.strip():
        raise EmptyTextError("The text is empty. Paste or upload the Markdown to narrate.")
    if _markup_count(text) > MAX_MARKUP:
        logger.warning("Markdown with more than %d markup characters read as plain text", MAX_MARKUP)
        return read_plain(_strip_markup(text), title=title, author=author)
    text, fields = _front_matter(text)
    items = _block_items(_PARSER.parse(text))
    items, heading_title = _take_title_heading(items)
    heading_title, year = split_title(heading_title)
    if year:
        fields.append(("year", year))
    known_title = title or next((value for name, value in fields if name == "title"), "")
    if heading_title and not known_title:
        fields.append(("title", heading_title))
    elif heading_title and heading_title.casefold() != known_title.casefold():
        fields.append(("headline", heading_title))
    units = [
        Unit(text, heading=kind == "heading", list_item=kind in ("row", "image"), quote=kind == "quote")
        for kind, _, text in items
        if kind == "heading" or not is_chrome(text)
    ]
    units = tidy_units(units, fields, titles=(heading_title, known_title, title))
    chapters = assemble_chapters([sentence_case_heading(unit) for unit in drop_trailing_chrome(units)])
    logger.debug("read %d chapters from Markdown", len(chapters))
    return build_document(chapters, fields, title=title, author=author, source="markdown")


def _markup_count(text: str) -> int:
    """How many characters of the text can open or close Markdown markup."""
    return sum(text.count(mark) for mark in MARKUP_CHARACTERS)


def _strip_markup(text: str) -> str:
    """Markdown source reduced to its words: heading marks, link targets and markup characters out."""
    text = html.unescape(_LINK_TARGET.sub("", text))
    text = _HEADING_MARK.sub("", text)
    return text.translate(_MARKUP_TO_SPACE)


def _front_matter(text: str) -> tuple[str, list[tuple[str, str]]]:
    """Split off YAML-style front matter ("title: …") and read its simple key: value lines."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return text, []
    fields = []
    for line in match[1].splitlines():
        key, _, value = line.partition(":")
        value = value.strip().strip("\"'")
        if not value:
            continue
        name = _FRONT_MATTER_KEYS.get(key.strip().lower())
        if name:
            fields.append((name, value))
        else:
            fields.extend(parse_meta_line(f"{key.strip()}: {value}") or [])
    return text[match.end():], fields


def _take_title_heading(items: list[tuple[str, int, str]]) -> tuple[list[tuple[str, int, str]], str]:
    """A single H1 is the text's title, not a chapter; several H1s are chapters."""
    top = [index for index, (kind, level, _) in enumerate(items) if kind == "heading" and level == 1]
    if len(top) != 1:
        return items, ""
    index = top[0]
    return items[:index] + items[index + 1:], items[index][2]


def _block_items(tokens: list[Token]) -> list[tuple[str, int, str]]:
    """(kind, heading level, text) for each heading and paragraph-like block, in reading order."""
    items: list[tuple[str, int, str]] = []
    # Per open list item: its number ("" for a bullet) until its first paragraph is read, then None.
    item_numbers: list[str | None] = []
    quote_depth = 0  # inside a `>` block quote: its paragraphs are "quote" items
    index = 0
    while index < len(tokens):
        token = tokens[index]
        kind = token.type
        if kind == "heading_open":
            text, _ = _inline_text(tokens[index + 1])
            if text:
                items.append(("heading", int(token.tag[1]), text))
            index += 3
            continue
        if kind in ("blockquote_open", "blockquote_close"):
            quote_depth += 1 if kind == "blockquote_open" else -1
        elif kind == "list_item_open":
            item_numbers.append(token.info if token.markup in (".", ")") else "")
        elif kind == "list_item_close":
            item_numbers.pop()
        elif kind == "inline":
            text, images = _inline_text(token)
            if text and item_numbers and item_numbers[-1] is not None:
                number = item_numbers[-1]
                text = as_sentence(f"{number}. {text}" if number else text)
                item_numbers[-1] = None
            if text:
                items.append(("quote" if quote_depth else "paragraph", 0, text))
            items.extend(("image", 0, f"Image: {as_sentence(alt)}") for alt in images)
        elif kind in ("fence", "code_block") and items[-1:] != [("paragraph", 0, CODE_OMITTED)]:
            items.append(("paragraph", 0, CODE_OMITTED))  # one notice for a run of code blocks
        elif kind == "html_block":
            items.extend(_html_block_items(token.content))
        elif kind == "table_open":
            index = _read_table(tokens, index, items)
        index += 1
    return items


def _html_block_items(fragment: str) -> list[tuple[str, int, str]]:
    """Raw HTML reduced to paragraphs and headings; images read as "Image: alt."."""
    return [
        ("image", 0, f"Image: {as_sentence(text)}") if kind == "image" else (kind, level, text)
        for kind, level, text in html_items(fragment)
    ]


def _read_table(tokens: list[Token], index: int, items: list[tuple[str, int, str]]) -> int:
    """Read a table as one sentence per body row ("Year: 2013, Genre: Drama."); returns table_close's index."""
    header: list[str] = []
    row: list[str] = []
    while tokens[index].type != "table_close":
        token = tokens[index]
        if token.type == "inline":
            row.append(_inline_text(token)[0])
        elif token.type == "tr_close":
            if not header and tokens[index - 1].type == "th_close":
                header = row
            elif any(row):
                items.append(("row", 0, _row_sentence(header, row)))
            row = []
        index += 1
    return index


def _row_sentence(header: list[str], row: list[str]) -> str:
    """ "Film: Her, Year: 2013." — each cell named by its column, so a row makes sense spoken."""
    names = header + [""] * (len(row) - len(header))
    cells = [f"{name}: {cell}" if name else cell for name, cell in zip(names, row, strict=False) if cell]
    return as_sentence(", ".join(cells))


def _inline_text(token: Token) -> tuple[str, list[str]]:
    """The plain text of an inline run, and the alt texts of its images (read after it)."""
    parts: list[str] = []
    images: list[str] = []
    skipping = 0
    skipped_code = False
    for child in token.children or []:
        if child.type == "html_inline":
            # Text between <script> and </script> is code, not prose.
            match = _SCRIPT_TAG.match(child.content)
            if match:
                skipping = max(0, skipping + (-1 if match[1] else 1))
            elif _BREAK_TAG.match(child.content):
                parts.append(" ")
            continue
        if skipping:
            continue
        if child.type == "text":
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "code_inline" and not _CODE_LIKE.search(child.content):
            parts.append(child.content)
        elif child.type == "code_inline":
            skipped_code = True
        elif child.type == "image" and child.content.strip():
            images.append(collapse_spaces(child.content))
    text = collapse_spaces("".join(parts))
    if skipped_code:
        # Close the gap the code left: "run  ." → "run."
        text = re.sub(r"\s+([.,;:!?])", r"\1", text)
    return text, images
