"""Ratings in the forms reviews write them, read into one written form and one spoken form.

`★★★★½`, `*** out of ****`, `3/4`, `8 / 10`, `4.5/5`, `Rating: 4.5/5`, `Grade: B+`, `9 out of 10`,
`Four stars`, `Verdict: Good`. A rating line becomes metadata (Metadata.rating, written as
"3.5/4 stars", "8/10", "B+") and is said once in the introduction ("three and a half out of four
stars"); read raw it came out as "out of." and it became the episode's title.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from num2words import num2words

SCALES = {4, 5, 10, 20, 100}
"""Scales a bare "x/y" must use to count as a rating (not a date or a fraction)."""
NUMBER_WORDS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                "eight": 8, "nine": 9, "ten": 10}
_WORD = "|".join(NUMBER_WORDS)
_NUMBER = rf"(?:\d{{1,3}}(?:[.,]\d{{1,2}})?\s*½?|½|(?:{_WORD})(?:\s+and\s+a\s+half)?)"
_LABEL = re.compile(
    r"^(?:(?:my|our|the|overall|final|user|critic'?s?|editor'?s?|reviewer'?s?|average|total)\s+)*"
    r"(?P<label>rating|score|grade|verdict|stars|mark|rated|overall)\b\s*[:\-–—=]?\s*",
    re.IGNORECASE)
_GLYPHS = re.compile(r"(?P<full>[★⭐✪✭✮✯]+)\s*(?P<half>½|1/2|⯪)?\s*(?P<empty>[☆✩✰]*)")
_ASTERISKS = re.compile(r"(?P<full>\*{1,5})\s*(?P<half>½|1/2)?(?:\s*(?:out\s+of|/)\s*(?P<scale>\*{2,5}|\d{1,2}))?")
_RATIO = re.compile(rf"(?P<value>{_NUMBER})\s*(?:/|out\s+of|of)\s*(?P<scale>\d{{1,3}}|{_WORD})"
                    r"(?:\s*(?P<unit>stars?|points|pts)\.?)?", re.IGNORECASE)
_STARS = re.compile(rf"(?P<value>{_NUMBER})\s*(?:-\s*)?stars?(?:\s+out\s+of\s+(?P<scale>\d{{1,2}}|{_WORD}))?",
                    re.IGNORECASE)
_GRADE = re.compile(r"(?P<grade>[A-F])\s*(?P<sign>[+\-−–]|plus|minus)?", re.IGNORECASE)
_VERDICT = re.compile(r"[A-Za-z][A-Za-z' -]{1,30}")
_DECORATION = re.compile(r"^[\s(\[]+|[\s)\].!]+$")


@dataclass(frozen=True)
class Rating:
    """A rating: a value on a scale (maybe stars), or a letter grade, or a one-word verdict."""

    value: float | None = None
    scale: int | None = None
    stars: bool = False
    grade: str = ""
    verdict: str = ""

    def written(self) -> str:
        """The short written form kept in metadata: "3.5/4 stars", "8/10", "4 stars", "B+", "Good"."""
        if self.grade:
            return self.grade
        if self.value is None:
            return self.verdict
        value = f"{self.value:g}"
        number = f"{value}/{self.scale}" if self.scale else value
        return f"{number} stars" if self.stars else number

    def spoken(self) -> str:
        """How it is said: "three and a half out of four stars", "eight out of ten", "B plus"."""
        if self.grade:
            letter, sign = self.grade[0], self.grade[1:]
            return letter + {"+": " plus", "-": " minus"}.get(sign, "")
        if self.value is None:
            return self.verdict.lower()
        value = _say_number(self.value)
        unit = (" star" if self.value == 1 and not self.scale else " stars") if self.stars else ""
        return f"{value} out of {_say_number(self.scale)}{unit}" if self.scale else f"{value}{unit}"


def parse_rating(text: str, *, labelled: bool = False) -> Rating | None:
    """The rating a whole line (or line part) states, or None.

    Bare forms must be unmistakable (stars, "x out of y", "x/y" on a usual scale); a letter
    grade, a lone run of asterisks or a verdict word counts only after a label ("Grade: B+"),
    or when `labelled` says the caller already saw one.
    """
    text = text.strip()
    if not text or len(text) > 60:
        return None
    label = _LABEL.match(text)
    if label and label.end() < len(text):
        labelled, kind = True, label["label"].lower()
        text = text[label.end():]
    else:
        kind = ""
    text = _DECORATION.sub("", text)
    for reader in (_glyph_rating, _asterisk_rating, _ratio_rating, _star_count_rating):
        rating = reader(text, labelled)
        if rating is not None:
            return rating
    if labelled and (match := _GRADE.fullmatch(text)) and (kind in ("grade", "rating", "") or match["sign"]):
        sign = (match["sign"] or "").lower()
        return Rating(grade=match["grade"].upper() + {"plus": "+", "minus": "-", "−": "-", "–": "-"}.get(sign, sign))
    if re.fullmatch(r"(?:not\s+)?recommended", text, re.IGNORECASE):
        return Rating(verdict=text.capitalize())
    if kind == "verdict" and _VERDICT.fullmatch(text) and len(text.split()) <= 3:
        return Rating(verdict=text.strip().capitalize())
    return None


def _glyph_rating(text: str, labelled: bool) -> Rating | None:
    """★★★★½ (out of five), ★★★☆☆ (out of the glyphs shown)."""
    match = _GLYPHS.fullmatch(text)
    if not match:
        return None
    full, half, empty = len(match["full"]), 0.5 if match["half"] else 0.0, len(match["empty"])
    scale = full + empty + (1 if half else 0) if empty else 5
    return Rating(full + half, max(scale, 5) if not empty else scale, stars=True)


def _asterisk_rating(text: str, labelled: bool) -> Rating | None:
    """*** out of ****, ***1/2, or a lone *** after a label ("Rating: ***")."""
    match = _ASTERISKS.fullmatch(text)
    if not match or not (match["scale"] or match["half"] or labelled):
        return None
    value = len(match["full"]) + (0.5 if match["half"] else 0)
    scale = match["scale"]
    scale = (len(scale) if scale.startswith("*") else int(scale)) if scale else 4 if value <= 4 else 5
    return Rating(value, scale, stars=True) if value <= scale else None


def _ratio_rating(text: str, labelled: bool) -> Rating | None:
    """8/10, 4.5 / 5, 9 out of 10, three out of four stars, 87/100 points."""
    match = _RATIO.fullmatch(text)
    if not match:
        return None
    value, scale = _number(match["value"]), _number(match["scale"])
    if value is None or not scale or value > scale or int(scale) != scale:
        return None
    if "/" in text and not labelled and int(scale) not in SCALES:
        return None
    return Rating(value, int(scale), stars=bool(match["unit"] and match["unit"].lower().startswith("star")))


def _star_count_rating(text: str, labelled: bool) -> Rating | None:
    """4 stars, four and a half stars, 3½ stars out of 5."""
    match = _STARS.fullmatch(text)
    if not match:
        return None
    value = _number(match["value"])
    scale = _number(match["scale"]) if match["scale"] else None
    if value is None or value > 10 or (scale and value > scale):
        return None
    return Rating(value, int(scale) if scale else None, stars=True)


def _number(text: str) -> float | None:
    """3, 3.5, 3,5, 3½, ½, three, three and a half → a number."""
    text = text.strip().lower()
    half = 0.5 if text.endswith("½") or text.endswith("and a half") else 0.0
    text = re.sub(r"\s*(½|and\s+a\s+half)$", "", text)
    if not text:
        return half
    if text in NUMBER_WORDS:
        return NUMBER_WORDS[text] + half
    try:
        return float(text.replace(",", ".")) + half
    except ValueError:
        return None


def _say_number(value: float) -> str:
    """4 → "four", 3.5 → "three and a half", 8.7 → "eight point seven"."""
    whole = int(value)
    if value == whole:
        return num2words(whole)
    if value - whole == 0.5:
        return "a half" if whole == 0 else f"{num2words(whole)} and a half"
    return num2words(round(value, 2))


def say_rating(written: str) -> str:
    """The spoken form of a rating kept in its written form ("3.5/4 stars" → "three and a half out of four stars")."""
    rating = parse_rating(written, labelled=True) or parse_rating(f"Verdict: {written}")
    return rating.spoken() if rating else written


_LEADING = re.compile(r"(?P<rating>[★⭐✪✭☆✩½]+|\*{1,5}½?|\d{1,3}(?:\.\d)?\s*/\s*\d{1,3})\s+[-–—:|]?\s*(?P<rest>[^\W\d].*)")


_TRAILING = re.compile(r"(?P<rest>.*?[^\W\d_].*?)\s*[-–—:|·]?\s+(?P<rating>[★⭐✪✭☆✩½]+|\*{1,5}½?)")


def split_leading_rating(line: str) -> tuple[Rating | None, str]:
    """ "★★★★☆ Great value for money" → (4/5 stars, "Great value for money"); else (None, line)."""
    match = _LEADING.fullmatch(line.strip())
    rating = parse_rating(match["rating"]) if match else None
    return (rating, match["rest"].strip()) if rating else (None, line)


def split_rating(line: str) -> tuple[Rating | None, str]:
    """A rating at either end of a line: "★★★★☆ Great value", "Review by dana_k ★★★½"."""
    rating, rest = split_leading_rating(line)
    if rating:
        return rating, rest
    match = _TRAILING.fullmatch(line.strip())
    rating = parse_rating(match["rating"]) if match else None
    return (rating, match["rest"].strip()) if rating else (None, line)
