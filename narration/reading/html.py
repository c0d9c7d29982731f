"""HTML pages → Document: the article only, its headings as chapters, the page's metadata.

The article is found by trafilatura. Compared on the pages in tests/corpus/ with readability-lxml
(the other well-kept extractor): both drop navigation, cookie banners, related links and footers,
but readability keeps bylines, share bars, tag lines and sometimes the comments inside the
article (16 of the corpus pages' never-spoken phrases survive it, against 3 for trafilatura, all
three a label or rating line the review rules then take), and gives no metadata beyond the title;
trafilatura also removes comments and share bars and reads author, date and site name from meta
tags, JSON-LD and the page itself (htmldate). Both parse with lxml (libxml2), which is linear in the size of the page, unlike
the standard library's html.parser on some malformed input.

What trafilatura drops that a review needs, the rating, is read from the page's schema.org
JSON-LD (`reviewRating`); the extracted text then goes through the same review rules as a
pasted text (narration.reading.review), which catch any furniture left over.
"""

from __future__ import annotations

import json
import logging
import re

import trafilatura
from trafilatura.settings import use_config
from lxml import etree
from lxml import html as lxml_html

from narration.document import Document
from narration.errors import EmptyTextError
from narration.reading.chapters import assemble_chapters, build_document
from narration.reading.chrome import drop_trailing_chrome
from narration.reading.paragraphs import Unit, as_sentence, collapse_spaces
from narration.reading.ratings import parse_rating
from narration.reading.review import sentence_case_heading, tidy_units
from narration.reading.titleblock import split_title

logger = logging.getLogger(__name__)

CODE_OMITTED = "A code example is omitted."
_CONFIG = use_config()
# No SIGALRM-based timeout: it would replace any alarm of the worker process running us; the time
# a page may take is bounded by the size limit on what is fetched or sent instead.
_CONFIG.set("DEFAULT", "EXTRACTION_TIMEOUT", "0")
_EXTRACT = {"include_comments": False, "include_tables": True, "include_formatting": True,
            "include_images": False, "include_links": False, "with_metadata": True, "config": _CONFIG}
FAST_ABOVE = 256 * 1024
"""Pages larger than this skip trafilatura's second opinion (readability and jusText run on the
same page and are compared), which costs a third of the time; real articles are far smaller."""


def read_html(html: str | bytes, *, url: str | None = None, title: str = "", author: str = "") -> Document:
    """Read the article of an HTML page; `title` and `author` override what the page says."""
    if not (html.strip() if isinstance(html, (str, bytes)) else html):
        raise EmptyTextError("The page is empty. Send the HTML of the page to narrate.")
    fast = len(html) > FAST_ABOVE
    extracted = (trafilatura.bare_extraction(html, url=url, fast=fast, **_EXTRACT)
                 or trafilatura.bare_extraction(html, url=url, fast=fast, favor_recall=True, **_EXTRACT))
    if extracted is None or extracted.body is None:
        raise EmptyTextError("No article was found on the page (only navigation, links or scripts). "
                             "Link to the page of the article itself, or paste its text.")
    fields = [(name, value) for name, value in (
        ("title", collapse_spaces(extracted.title or "")), ("author", collapse_spaces(extracted.author or "")),
        ("published", extracted.date or ""), ("site", collapse_spaces(extracted.sitename or "")),
        ("url", url or extracted.url or ""),
    ) if value]
    page_title, year = split_title(dict(fields).get("title", ""))  # "Her (2013) – a film review" → Her, 2013
    if page_title:
        fields = [("title", page_title) if name == "title" else (name, value) for name, value in fields]
    if year:
        fields.append(("year", year))
    rating = _json_ld_rating(html)
    if rating:
        fields.insert(0, ("rating", rating))
    full_title = collapse_spaces(extracted.title or "")
    units = tidy_units(body_units(extracted.body), fields, titles=(full_title, page_title, title))
    chapters = assemble_chapters([sentence_case_heading(unit) for unit in drop_trailing_chrome(units)])
    logger.debug("read %d chapters from an HTML page", len(chapters))
    return build_document(chapters, fields, title=title, author=author, source="html")


def body_units(body: etree._Element) -> list[Unit]:
    """Units of trafilatura's XML body: <head> headings, <p> paragraphs, <list> items, <quote>s, tables."""
    units: list[Unit] = []
    for element in body:
        tag = element.tag
        if tag == "head":
            text = _text(element)
            if text:
                units.append(Unit(text, single_line=True, heading=True))
        elif tag == "list":
            units.extend(Unit(as_sentence(text), list_item=True)
                         for text in (_text(item) for item in element.iter("item")) if text)
        elif tag == "quote":
            parts = [_text(child) for child in element] or [_text(element)]
            units.extend(Unit(text, quote=True) for text in parts if text)
        elif tag == "table":
            units.extend(Unit(as_sentence(row), list_item=True) for row in _table_rows(element))
        elif tag == "code":
            if not units or units[-1].text != CODE_OMITTED:
                units.append(Unit(CODE_OMITTED))
        else:
            text = _text(element)
            if text:
                units.append(Unit(text, single_line=len(text) <= 80))
    return units


def _text(element: etree._Element) -> str:
    """The visible text of an element, with line breaks as spaces."""
    return collapse_spaces(" ".join(element.itertext()))


def _table_rows(table: etree._Element) -> list[str]:
    """Each row as "Header: cell, Header: cell", so a row makes sense spoken."""
    rows = [[_text(cell) for cell in row.iter("cell")] for row in table.iter("row")]
    rows = [row for row in rows if any(row)]
    if len(rows) < 2:
        return [", ".join(cell for cell in row if cell) for row in rows]
    header, body = rows[0], rows[1:]
    return [", ".join(f"{name}: {cell}" if name else cell for name, cell in zip(header, row, strict=False) if cell)
            for row in body]


_LD_JSON = re.compile(rb"application/ld\+json", re.IGNORECASE)


def _json_ld_rating(html: str | bytes) -> str:
    """The review's rating from schema.org JSON-LD (`reviewRating`), written as "4/5", or ""."""
    data = html.encode("utf-8", "replace") if isinstance(html, str) else html
    if not _LD_JSON.search(data):
        return ""
    try:
        tree = lxml_html.fromstring(data)
    except (etree.ParserError, ValueError):
        return ""
    for script in tree.xpath('//script[contains(translate(@type, "LDJSON", "ldjson"), "ld+json")]'):
        try:
            found = _find_rating(json.loads(script.text or ""))
        except (ValueError, RecursionError):
            continue
        if found:
            return found
    return ""


def _find_rating(value, depth: int = 0) -> str:
    """Search JSON-LD for a reviewRating {ratingValue, bestRating}."""
    if depth > 6:
        return ""
    if isinstance(value, list):
        return next((found for item in value[:50] if (found := _find_rating(item, depth + 1))), "")
    if not isinstance(value, dict):
        return ""
    rating = value.get("reviewRating")
    if isinstance(rating, dict) and rating.get("ratingValue") is not None:
        best = rating.get("bestRating") or 5
        parsed = parse_rating(f"{rating['ratingValue']}/{best}", labelled=True)
        if parsed:
            return parsed.written()
    return next((found for item in list(value.values())[:50] if (found := _find_rating(item, depth + 1))), "")
