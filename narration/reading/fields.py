"""Labelled facts in a title block ("Genre Drama", "Published: Aug 8, 2014") read as metadata."""

from __future__ import annotations

import re
from datetime import date

from narration.reading.facts import (is_reading_time, is_relative_date, parse_genre_list, parse_runtime,
                                     parse_work_line)
from narration.reading.ratings import parse_rating, split_rating

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
BYLINE = re.compile(r"(?:by|review by|reviewed by|words by|posted by|written by|published by)\s+(.+)", re.IGNORECASE)
# "Posted on March 3, 2021 by Kim", "Reviewed in the United States on March 3, 2024", "Watched 12 Mar 2024".
DATED = re.compile(r"(?P<verb>posted|published|written|reviewed|watched|seen|read|updated|last updated|edited)"
                   r"(?:\s+in\s+[^,]{1,40}?\s+on|\s+on|\s+in)?\s+(?P<date>.+?)(?:\s+by\s+(?P<name>.+))?", re.IGNORECASE)
NAME = re.compile(r"(?:[A-Z][\w'’.-]*|de|van|von|der|la|le|du|da|di)(?:\s+(?:[A-Z][\w'’.-]*|de|van|von|der|la|le|du|da|di)){0,4}"
                  r"|@?[a-z0-9_.-]{3,30}")

_LABEL = re.compile(
    r"(?P<label>" + "|".join(re.escape(k) for k in sorted(FIELD_LABELS, key=len, reverse=True))
    + r")(?P<colon>\s*:\s*|\s+)(?P<value>\S.*)",
    re.IGNORECASE,
)
_PART_SEPARATORS = re.compile(r"\s*[|•·‧]\s*")
_NAME_SEPARATORS = re.compile(r"\s*(?:,|;|/|&|\band\b)\s*")
_YEAR = re.compile(r"\b(1[89]\d\d|20\d\d)\b")

# Strict formats only: a forgiving parser would read "Drama 3" as a date.
# Strict shapes only: a forgiving parser would read "Drama 3" as a date. Numeric day/month dates
# are read month first ("10/02/2015" is October 2), as US sites write them, unless the first
# number cannot be a month. Regexes rather than strptime: strptime keeps only five compiled
# formats, so trying a dozen on every line recompiled them all (0.8 ms a line).
MONTHS = {name: number for number, names in enumerate(
    (("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"), ("may",), ("jun", "june"),
     ("jul", "july"), ("aug", "august"), ("sep", "sept", "september"), ("oct", "october"),
     ("nov", "november"), ("dec", "december")), start=1) for name in names}
_MONTH = "(?P<month>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + ")"
_DATE_SHAPES = [re.compile(shape, re.IGNORECASE) for shape in (
    r"(?P<year>\d{4})[-/](?P<m>\d{1,2})[-/](?P<day>\d{1,2})",
    r"(?P<day>\d{1,2})\.(?P<m>\d{1,2})\.(?P<year>\d{4})",
    r"(?P<a>\d{1,2})/(?P<b>\d{1,2})/(?P<year>\d{4}|\d{2})",
    rf"{_MONTH} (?P<day>\d{{1,2}}) (?P<year>\d{{4}})",
    rf"(?P<day>\d{{1,2}}) {_MONTH} (?P<year>\d{{4}})",
    rf"{_MONTH} (?P<year>\d{{4}})",
)]
_WEEKDAY = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+", re.IGNORECASE)
_TIME = re.compile(r"(,?\s+(at\s+)?\d{1,2}[:.]\d{2}(\s*[ap]\.?m\.?)?(\s+[A-Z]{2,4})?)$", re.IGNORECASE)


def parse_date(text: str) -> str | None:
    """ISO date (YYYY-MM-DD, or YYYY alone) for a written date, or None if it is not one."""
    text = _TIME.sub("", _WEEKDAY.sub("", text.strip()))
    if re.fullmatch(r"1[89]\d\d|20\d\d", text):
        return text
    text = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", text)
    text = re.sub(r"[,.]?\s+|\.(?=\s)", " ", text).strip()
    if len(text) > 40 or not any(c.isdigit() for c in text):
        return None
    for shape in _DATE_SHAPES:
        match = shape.fullmatch(text)
        if match:
            return _iso_date(match)
    return None


def _iso_date(match: re.Match) -> str | None:
    """YYYY-MM-DD for a matched date shape, or None when it names no real day."""
    parts = match.groupdict()
    year = int(parts["year"]) + (2000 if len(parts["year"]) == 2 else 0)
    if parts.get("a"):
        month, day = int(parts["a"]), int(parts["b"])
        if month > 12:
            month, day = day, month
    else:
        month = MONTHS[parts["month"].lower()] if parts.get("month") else int(parts["m"])
        day = int(parts["day"]) if parts.get("day") else 0
    try:
        return date(year, month, day or 1).isoformat()[:7 if not day else 10]
    except ValueError:
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
    if field == "rating":
        rating = parse_rating(part, labelled=True) or parse_rating(value, labelled=True)
        return ("rating", rating.written()) if rating else None
    if field == "runtime":
        value = parse_runtime(value) or value
    if field == "certificate":
        value = value.upper() if len(value) <= 6 else value
    if field in DATE_FIELDS:
        date = parse_date(value)
        if date is None and field != "released":
            return None
        value = date or value
    return field, value


def parse_meta_line(line: str) -> list[tuple[str, str]] | None:
    """The (field, value) pairs a title-block line states, or None when it is not such a line.

    A whole line may be a rating ("*** out of ****"), a run of work facts ("2015 R 108 Minutes")
    or a genre list ("Drama | Science Fiction"). Otherwise parts separated by | • · are read one
    by one ("Published: Aug 8, 2014 |Updated: Sep 11, 2023", "By Dana Whitfield · March 14, 2025
    · 6 min read"); each must be a labelled field, a byline, a date, a rating, a length or a
    reading time; a bare name counts as the author beside a date.
    """
    line = line.strip()
    if not line or len(line) > 200:
        return None
    whole = _parse_whole(line)
    if whole:
        return whole
    rating, rest = split_rating(line)
    if rating is not None:  # "Review by dana_k ★★★½"
        pairs = parse_meta_line(rest)
        return [("rating", rating.written())] + pairs if pairs else None
    pairs: list[tuple[str, str]] = []
    names: list[str] = []
    strong, weak = False, 0
    for part in (part.strip() for part in _PART_SEPARATORS.split(line)):
        part_pairs = _parse_part(part) if part else []
        if part_pairs is None and NAME.fullmatch(part) and len(part.split()) <= 4:
            names.append(part)
            continue
        if part_pairs is None:
            return None
        strong = strong or bool(part_pairs and part_pairs[0][0] != "weak")
        weak += bool(part_pairs and part_pairs[0][0] == "weak")
        pairs.extend(part_pairs)
    dated = any(name in ("published", "updated", "reading_time", "posted_ago") for name, _ in pairs)
    if names and not (dated and len(names) == 1 and names[0][:1].isupper()):
        return None
    if not strong and weak < 2:
        return None
    author = [("author", names[0])] if names else []
    return author + _merge_genres([pair for pair in pairs if pair[0] != "weak"])


def _merge_genres(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """One genre pair for a line that names several ("Genre: Action | Adventure")."""
    genres = [value for name, value in pairs if name == "genre"]
    if len(genres) < 2:
        return pairs
    first = next(index for index, (name, _) in enumerate(pairs) if name == "genre")
    rest = [pair for pair in pairs if pair[0] != "genre"]
    return rest[:first] + [("genre", ", ".join(genres))] + rest[first:]


def _parse_whole(line: str) -> list[tuple[str, str]] | None:
    """Pairs for a line that is one fact as a whole: a rating, work facts or a genre list."""
    rating = parse_rating(line)
    if rating:
        return [("rating", rating.written())]
    work = parse_work_line(line)
    if work:
        return work
    genres = parse_genre_list(line)
    return [("genre", genres)] if genres else None


def _parse_part(part: str) -> list[tuple[str, str]] | None:
    """Pairs for one part of a title-block line, or None. A bare year or certificate is "weak":
    it counts only beside a stronger part."""
    if re.fullmatch(r"\(?(1[89]\d\d|20\d\d)\)?", part):
        return [("weak", ""), ("year", part.strip("()"))]
    if part.isdigit():
        return None  # a lone number is too weak a sign of a title block
    if is_reading_time(part):
        return [("reading_time", part)]
    if is_relative_date(part):
        return [("posted_ago", part)]
    date = parse_date(part)
    if date:
        return [("published", date)]
    whole = _parse_whole(part)
    if whole:
        return whole
    if re.fullmatch(r"(?:rated\s+)?(?:G|PG|PG-13|R|NC-17|NR|Not Rated|Unrated|TV-(?:Y7|Y|G|PG|14|MA))", part, re.IGNORECASE):
        certificate = re.sub(r"(?i)^rated\s+", "", part).upper()
        return ([("weak", "")] if certificate == part.upper() else []) + [("certificate", certificate)]
    if parse_genre_list(f"{part} | {part}"):
        return [("weak", ""), ("genre", part)]  # one genre word, beside other facts
    runtime = parse_runtime(part)
    if runtime:
        return [("runtime", runtime)]
    dated = _parse_dated(part)
    if dated:
        return dated
    byline = _parse_byline(part)
    if byline:
        return byline
    pair = _parse_field(part)
    return [pair] if pair else None


def _parse_dated(part: str) -> list[tuple[str, str]] | None:
    """ "Posted on 10/02/2015 by Kim", "Reviewed in the United States on March 3, 2024",
    "kim_reviews 3 March 2024": a date with a verb or a name before it."""
    match = DATED.fullmatch(part)
    if match and parse_date(match["date"]):
        field = "updated" if "updated" in match["verb"].lower() else "published"
        name = _byline_pairs(match["name"], None) if match["name"] else []
        return None if name is None else name + [(field, parse_date(match["date"]))]
    words = part.split()
    for cut in range(1, min(4, len(words))):
        name, rest = " ".join(words[:cut]), " ".join(words[cut:])
        if NAME.fullmatch(name) and not parse_date(name) and (date := parse_date(rest)) and len(rest.split()) >= 2:
            return [("author", name.lstrip("@")), ("published", date)]
    return None


def _parse_byline(part: str) -> list[tuple[str, str]] | None:
    """("author", name) and maybe ("published", date) for "By Jane Doe, March 3, 2021" or "Kim's review"."""
    owner = re.fullmatch(r"(?P<name>.{1,40}?)['’]s (?:review|rating|take|verdict)", part, re.IGNORECASE)
    if owner:
        return _byline_pairs(owner["name"], None)
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
    handle = re.fullmatch(r"@?[a-z][a-z0-9_.-]{2,29}", name)  # a user name: "dana_k", "@marlowe"
    if handle:
        return [("author", name.lstrip("@"))] + ([("published", date)] if date else [])
    if not name or len(name.split()) > 6 or not name[0].isupper() or re.search(r"[\d.!?:;]$|\d", name):
        return None
    return [("author", name)] + ([("published", date)] if date else [])


def year_of(value: str) -> str:
    """The four-digit year mentioned in a value, or ""."""
    match = _YEAR.search(value)
    return match[1] if match else ""
