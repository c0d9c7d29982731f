"""Numbers → words: cardinals, ordinals, years, decades, fractions, and the final digits pass."""

from __future__ import annotations

import functools
import re

from num2words import num2words

_DIGIT_WORDS = "zero one two three four five six seven eight nine".split()
# Longer plain digit runs are codes or IDs, not quantities: read them digit by digit. Numbers
# written with thousands commas are quantities up to a sane size.
_MAX_QUANTITY_DIGITS = 15
_MAX_GROUPED_DIGITS = 36

# Words after a number that make it a count ("2000 people"), not a year ("in 2000 people
# moved"-style ambiguity is resolved towards the count, which is the commoner reading).
UNIT_WORDS = frozenset(
    """people persons men women kids children times years days hours minutes seconds weeks months
    words pages miles meters metres feet inches pounds dollars euros kilometers kilometres kg km
    copies units votes points fans users viewers emails letters items steps calories
    """.split()
)
# Lowercase words ending in "s" that are not plural nouns, so they do not make a count.
_NOT_PLURALS = frozenset(
    """is was has as its this his hers us thus plus yes always perhaps unless across whereas
    does goes says gets makes takes sees comes lets seems becomes""".split()
)
_NEXT_WORD = re.compile(r"\s+([A-Za-z]+)")


def load_tables() -> None:
    """Warm the number readings before a server's first request (kept as the start-up hook:
    num2words itself imports in milliseconds)."""
    _words(0)


_BRITISH_JOINS = re.compile(r",| and\b")


@functools.lru_cache(maxsize=4096)  # texts repeat their numbers
def _words(value: int) -> str:
    """The American reading, no "and" and no commas ("one thousand two hundred five"): num2words
    reads the British way, so its joins are dropped. (inflect reads this way itself, but its
    import took 2–9 s, paid by the first number of every process.)"""
    return _BRITISH_JOINS.sub("", num2words(value, lang="en"))


def digits(text: str) -> str:
    """Read a digit string digit by digit ("007" → "zero zero seven")."""
    return " ".join(_DIGIT_WORDS[int(digit)] for digit in text if digit.isdigit())


def cardinal(number: str) -> str:
    """A written number ("-1,200.5", "3.14", ".5") → words ("minus one thousand two hundred…")."""
    grouped = "," in number
    text = number.replace(",", "").strip()
    sign = ""
    if text.startswith(("-", "−")):
        sign, text = "minus ", text[1:]
    whole, _, fraction = text.partition(".")
    too_long = len(whole) > (_MAX_GROUPED_DIGITS if grouped else _MAX_QUANTITY_DIGITS)
    if too_long or (len(whole) > 1 and whole.startswith("0")):
        spoken = digits(whole)
    else:
        spoken = _words(int(whole)) if whole else ""
    if fraction:
        spoken = f"{spoken} point {digits(fraction)}".strip()
    return sign + spoken


def ordinal(value: int) -> str:
    """7 → "seventh", 22 → "twenty-second", 101 → "one hundred first"."""
    return _BRITISH_JOINS.sub("", num2words(value, lang="en", to="ordinal"))


def year(value: int) -> str:
    """1999 → "nineteen ninety-nine", 2013 → "twenty thirteen", 2005 → "two thousand five"."""
    return num2words(value, to="year").replace(" and ", " ").replace(",", "")


def is_year(text: str) -> bool:
    """Four digits in 1100–2099 with no separators: the span where year reading is natural."""
    return len(text) == 4 and text.isdigit() and 1100 <= int(text) <= 2099


def _plural_word(word: str) -> str:
    """"seventy" → "seventies", "hundred" → "hundreds" (decade names)."""
    return word[:-1] + "ies" if word.endswith("y") else word + "s"


def decade(value: int) -> str:
    """1970 → "nineteen seventies", 90 → "nineties", 1900 → "nineteen hundreds"."""
    spoken = year(value) if value >= 100 else _words(value)
    # A decade's last word is never hyphenated ("ten", "seventy", "hundred", "thousand").
    head, _, last = spoken.rpartition(" ")
    return f"{head} {_plural_word(last)}".strip()


def fraction(numerator: int, denominator: int) -> str:
    """1/2 → "one half", 3/4 → "three quarters", 2/3 → "two thirds", 5/8 → "five eighths"."""
    if denominator == 2:
        name = "half"
    elif denominator == 4:
        name = "quarter"
    else:
        name = ordinal(denominator)
    if numerator != 1:
        name = "halves" if name == "half" else name + "s"
    return f"{_words(numerator)} {name}"


def follows_count_noun(text: str, end: int) -> bool:
    """True when the word after position `end` makes the number a count ("500 emails")."""
    match = _NEXT_WORD.match(text, end)
    if not match:
        return False
    word = match.group(1)
    if word.lower() in UNIT_WORDS:
        return True
    return word.islower() and word.endswith("s") and word not in _NOT_PLURALS


# A number not already handled by a more specific rule: optional sign, digits with optional
# thousands commas, optional decimals. A minus needs a non-word before it ("-5", "(-5)");
# after a word the hyphen only joins ("COVID-19", "F-16").
_NUMBER = re.compile(
    r"(?:(?<![\w-])(?P<sign>[-−])(?=\.?\d)|(?<![\w.]))"
    r"(?:(?P<int>\d{1,3}(?:,\d{3})+(?![\d,]\d)|\d+)(?P<frac>\.\d+)?|(?P<bare>\.\d+))"
)


def _speak_number(match: re.Match) -> str:
    """One number: a year when it looks like one in context, else a cardinal."""
    whole, frac = match.group("int"), match.group("frac")
    if whole and not frac and not match.group("sign") and is_year(whole):
        if not follows_count_noun(match.string, match.end()):
            return year(int(whole))
    return cardinal(match.group(0))


def speak_numbers(text: str) -> str:
    """Replace every remaining number with words."""
    return _NUMBER.sub(_speak_number, text)
