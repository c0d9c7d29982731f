"""Labelled facts in a title block ("Genre Drama", "Published: Aug 8, 2014") read as metadata."""

from __future__ import annotations

import re
from datetime import datetime

# Label → field name. Fields that Metadata has no slot for end up in Document.extras["fields"].
FIELD_LABELS = {
    "genre": "genre", "genres": "genre",
    "production year": "year", "year": "year", "release year": "year",
    "release date": "released", "released": "released",
    "director": "director", "directors": "director", "directed by": "director",
    "male actors": "cast", "female actors": "cast", "actors": "cast", "cast": "cast",
    "starring": "cast", "stars": "cast", "main cast": "cast",
    "writer": "writer", "writers": "writer", "written by": "writer", "screenplay": "writer",
    "author": "creator", "novel by": "creator", "artist": "creator", "band": "creator",
    "creator": "creator", "created by": "creator",
    "runtime": "runtime", "running time": "runtime", "length": "runtime", "duration": "runtime",
    "rating": "rating", "score": "rating", "my rating": "rating", "verdict": "rating",
    "rated": "certificate", "certificate": "certificate", "age rating": "certificate",
    "country": "country", "language": "original_language", "studio": "studio",
    "publisher": "publisher", "pages": "pages", "isbn": "isbn", "format": "format",
    "published": "published", "publish date": "published", "posted": "published",
    "posted on": "published", "date": "published", "first published": "first_published",
    "updated": "updated", "last updated": "updated", "modified": "updated",
    "tagline": "tagline", "summary": "tagline", "plot": "tagline",
}
DATE_FIELDS = {"published", "updated", "released"}
BYLINE = re.compile(r"(?:by|review by|reviewed by|words by|posted by)\s+(.+)", re.IGNORECASE)
STARS = re.compile(r"[★☆✩✪⭐½\s]+|\d+(\.\d)?\s*/\s*(5|10|100)|\d+(\.\d)? out of (5|10)", re.IGNORECASE)

_LABEL = re.compile(
    r"(?P<label>" + "|".join(re.escape(k) for k in sorted(FIELD_LABELS, key=len, reverse=True))
    + r")(?P<colon>\s*:\s*|\s+)(?P<value>\S.*)",
    re.IGNORECASE,
)
_PART_SEPARATORS = re.compile(r"\s*[|•·]\s*")
_NAME_SEPARATORS = re.compile(r"\s*(?:,|;|/|&|\band\b)\s*")
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")

# Strict formats only: a forgiving parser would read "Drama 3" as a date.
_DATE_FORMATS = ("%b %d %Y", "%B %d %Y", "%d %b %Y", "%d %B %Y", "%Y-%m-%d", "%Y/%m/%d", "%d.%m.%Y")
_WEEKDAY = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+", re.IGNORECASE)
_TIME = re.compile(r"(,?\s+(at\s+)?\d{1,2}[:.]\d{2}(\s*[ap]\.?m\.?)?(\s+[A-Z]{2,4})?)$", re.IGNORECASE)


def parse_date(text: str) -> str | None:
    """ISO date (YYYY-MM-DD, or YYYY alone) for a written date, or None if it is not one."""
    text = _TIME.sub("", _WEEKDAY.sub("", text.strip()))
    if re.fullmatch(r"1[89]\d\d|20\d\d", text):
        return text
    text = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", text)
    text = re.sub(r"\bsept\b", "sep", text, flags=re.IGNORECASE)
    text = re.sub(r"[,.]?\s+|\.(?=\s)", " ", text).strip()
    for date_format in _DATE_FORMATS:
        try:
            return datetime.strptime(text, date_format).date().isoformat()
        except ValueError:
            continue
    return None


def split_names(value: str) -> list[str]:
    """Names from a cast or director list ("A, B and C"), in order, without blanks."""
    return [name.strip() for name in _NAME_SEPARATORS.split(value) if name.strip()]


def _parse_field(part: str) -> tuple[str, str] | None:
    """(field, value) for one "Label value" or "Label: value" part, else None."""
    match = _LABEL.fullmatch(part.strip())
    if not match:
        return None
    field = FIELD_LABELS[match["label"].lower()]
    value = match["value"].strip()
    if len(value) > 160:
        return None
    # Without a colon the line could be prose ("Year after year, …"): demand a short,
    # capitalized value that does not end a sentence.
    looks_like_prose = len(value.split()) > 10 or not (value[0].isupper() or value[0].isdigit()) or value.endswith(".")
    if ":" not in match["colon"] and looks_like_prose:
        return None
    if field in DATE_FIELDS:
        date = parse_date(value)
        if date is None and field != "released":
            return None
        value = date or value
    return field, value


def parse_meta_line(line: str) -> list[tuple[str, str]] | None:
    """The (field, value) pairs a title-block line states, or None when it is not such a line.

    Parts separated by | • · are read one by one ("Published: Aug 8, 2014 |Updated: Sep 11,
    2023", "Reviewed by Anna Berg · March 3, 2021"); each must be a labelled field, a byline,
    a bare date or a star rating.
    """
    line = line.strip()
    if not line or len(line) > 200:
        return None
    pairs = []
    for part in _PART_SEPARATORS.split(line):
        part_pairs = _parse_part(part) if part else None
        if part_pairs is None:
            return None
        pairs.extend(part_pairs)
    return pairs or None


def _parse_part(part: str) -> list[tuple[str, str]] | None:
    """Pairs for one part of a title-block line, or None."""
    if part.isdigit():
        return None  # a lone number is too weak a sign of a title block
    date = parse_date(part)
    if date:
        return [("published", date)]
    if STARS.fullmatch(part):
        return [("rating", part)]
    byline = _parse_byline(part)
    if byline:
        return byline
    pair = _parse_field(part)
    return [pair] if pair else None


def _parse_byline(part: str) -> list[tuple[str, str]] | None:
    """("author", name) and maybe ("published", date) for "By Jane Doe, March 3, 2021"."""
    match = BYLINE.fullmatch(part)
    if not match:
        return None
    rest = match[1].strip()
    for cut in [m.start() for m in re.finditer(r",|\s+on\s+|\s+[—–-]\s+", rest)]:
        date = parse_date(re.sub(r"^(,|\s+on|\s+[—–-])\s*", "", rest[cut:]))
        if date:
            return _byline_pairs(rest[:cut], date)
    return _byline_pairs(rest, None)


def _byline_pairs(name: str, date: str | None) -> list[tuple[str, str]] | None:
    """Pairs for a byline whose name part looks like a name (short, capitalized, no digits)."""
    name = name.strip()
    if not name or len(name.split()) > 6 or not name[0].isupper() or re.search(r"[\d.!?:;]$|\d", name):
        return None
    return [("author", name)] + ([("published", date)] if date else [])


def year_of(value: str) -> str:
    """The four-digit year mentioned in a value, or ""."""
    match = _YEAR.search(value)
    return match[1] if match else ""
