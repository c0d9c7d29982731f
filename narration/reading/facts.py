"""Facts about the work written as bare lines: `2015 R 108 Minutes`, `PG-13 · 1h 48m`, `Drama | Sci-Fi`,
and a post's reading time (`6 min read`), which is metadata and never spoken.

Recognized by shape: every token of the line must be a year, an age certificate, a length or a
genre, so a sentence that merely mentions a year never matches.
"""

from __future__ import annotations

import re

GENRE_WORDS = {
    "action", "adventure", "animation", "animated", "anime", "biography", "biopic", "comedy", "crime",
    "documentary", "drama", "family", "fantasy", "film-noir", "noir", "history", "historical", "horror",
    "music", "musical", "mystery", "romance", "romantic", "sci-fi", "scifi", "science", "fiction",
    "sport", "sports", "superhero", "thriller", "war", "western", "satire", "short", "kids", "teen",
    "psychological", "political", "period", "coming-of-age", "dark", "black", "slasher", "disaster",
    "heist", "spy", "martial", "arts", "epic", "dramedy", "nonfiction", "non-fiction", "memoir", "poetry",
    "literary", "young", "adult", "graphic", "novel", "essay", "self-help", "suspense", "paranormal",
    "supernatural", "dystopian", "post-apocalyptic", "rpg", "platformer", "puzzle", "strategy",
    "shooter", "indie", "rock", "pop", "jazz", "folk", "hip-hop", "electronic", "classical", "metal",
    "&", "and", "/",
}
"""Words genre names are made of (film, book, game and music genres)."""

CERTIFICATE = (r"(?:PG-13|NC-17|TV-(?:Y7|Y|G|PG|14|MA)|MA15\+|R18\+|FSK\s?\d{1,2}|Not Rated|Unrated|Approved|"
               r"PG|G|R|NR|X|U|12A?|15|18|M|[0-9]{1,2}\+)")
"""Age certificates, longest first so "PG-13" is not read as "PG" and a stray "-13"."""
RUNTIME = (r"(?:(?P<hours>\d)\s*(?:h|hrs?|hours?)\.?(?:\s*(?P<minutes>\d{1,2})\s*(?:m|mins?|minutes?)\.?)?"
           r"|(?P<total>\d{2,3})\s*(?:m|mins?|minutes?)\.?)")
_YEAR = r"(?:1[89]\d\d|20\d\d)"
_TOKEN = re.compile(
    rf"\s*(?:(?P<year>\(?{_YEAR}\)?)|(?P<runtime>{RUNTIME})|(?P<cert>(?:rated\s+)?{CERTIFICATE}))"
    r"(?=$|[\s|•·‧,/–—-])\s*[|•·‧,/–—-]?", re.IGNORECASE)
_RUNTIME_ONLY = re.compile(rf"(?:runtime|running time|length|duration)?\s*:?\s*{RUNTIME}", re.IGNORECASE)
READING_TIME = re.compile(
    r"(?:reading time:?\s*)?(?:about\s+)?\d{1,3}(?:\s*[-–]\s*\d{1,3})?[\s-]*(?:min(?:ute)?s?|m)\.?(?:\s+read(?:ing)?)"
    r"(?:\s+time)?|reading time:?\s*\d{1,3}\s*min(?:ute)?s?|\d{1,3}\s*min(?:ute)?s?\s+to\s+read",
    re.IGNORECASE)
RELATIVE_DATE = re.compile(
    r"(?:(?:updated|posted|published|edited)\s+)?(?:\d{1,3}|an?|one)\s+(?:second|minute|hour|day|week|month|year)s?"
    r"\s+ago|(?:updated|posted)?\s*(?:today|yesterday)(?:\s+at\s+\d{1,2}[:.]\d{2}\s*(?:[ap]\.?m\.?)?)?",
    re.IGNORECASE)
_GENRE_SPLIT = re.compile(r"\s*[|•·‧,/]\s*|\s+[-–—]\s+")


def runtime_of(match: re.Match) -> str:
    """ "108 minutes" from a RUNTIME match ("1h 48m", "108 Minutes", "2 hours")."""
    if match["total"]:
        return f"{int(match['total'])} minutes"
    minutes = int(match["hours"]) * 60 + int(match["minutes"] or 0)
    return f"{minutes} minutes"


def parse_runtime(text: str) -> str | None:
    """ "108 minutes" for a line part that is only a length ("1h 48m", "Runtime: 108 min"), else None."""
    match = _RUNTIME_ONLY.fullmatch(text.strip())
    return runtime_of(match) if match else None


def parse_work_line(line: str) -> list[tuple[str, str]] | None:
    """Pairs for a line made only of years, certificates and lengths ("2015 R 108 Minutes"), else None.

    A line of one bare year or one bare certificate letter is too weak a sign and gives None.
    """
    line = line.strip()
    if not line or len(line) > 80:
        return None
    pairs: list[tuple[str, str]] = []
    position = 0
    while position < len(line):
        match = _TOKEN.match(line, position)
        if not match or match.end() == position:
            return None
        if match["year"]:
            pairs.append(("year", match["year"].strip("()")))
        elif match["runtime"]:
            pairs.append(("runtime", runtime_of(re.fullmatch(RUNTIME, match["runtime"], re.IGNORECASE))))
        else:
            pairs.append(("certificate", re.sub(r"^rated\s+", "", match["cert"], flags=re.IGNORECASE).upper()))
        position = match.end()
    kinds = {name for name, _ in pairs}
    if len(pairs) < 2 and kinds != {"runtime"}:
        return None
    return pairs


def parse_genre_list(line: str) -> str | None:
    """ "Drama, Science Fiction" for a line that lists only genres ("Drama | Science Fiction"), else None."""
    line = line.strip()
    if not line or len(line) > 100:
        return None
    parts = [part for part in _GENRE_SPLIT.split(line) if part]
    if not parts or len(parts) > 8:
        return None
    for part in parts:
        words = part.lower().split()
        if not words or len(words) > 3 or not part[0].isupper() or any(w not in GENRE_WORDS for w in words):
            return None
    if len(parts) == 1 and len(parts[0].split()) == 1:
        return None  # one word alone ("Drama") is too often a heading
    return ", ".join(parts)


def is_reading_time(text: str) -> bool:
    """ "6 min read", "Reading time: 4 minutes": a post's reading time, never spoken."""
    return bool(READING_TIME.fullmatch(text.strip()))


def is_relative_date(text: str) -> bool:
    """ "Updated 2 hours ago", "yesterday at 9:14 PM": a date relative to a day we do not know."""
    return bool(RELATIVE_DATE.fullmatch(text.strip()))
