"""Numbers with a meaning: money, percentages, units, decades, ordinals, ranges, ratings."""

from __future__ import annotations

import re

from narration.normalize.numbers import (
    cardinal,
    decade,
    follows_count_noun,
    fraction,
    is_year,
    ordinal,
    year,
)

# Up to fifteen digits: longer runs are codes read digit by digit by the plain number pass.
_AMOUNT = r"\d{1,3}(?:,\d{3}){1,4}(?![\d,]\d)|\d{1,15}(?!\d)"

# symbol → (unit, units, subunit, subunits); yen has no subunit in everyday speech.
_CURRENCIES = {
    "$": ("dollar", "dollars", "cent", "cents"),
    "€": ("euro", "euros", "cent", "cents"),
    "£": ("pound", "pounds", "penny", "pence"),
    "¥": ("yen", "yen", None, None),
    "₹": ("rupee", "rupees", None, None),
}
_SCALES = {"k": "thousand", "m": "million", "mn": "million", "b": "billion", "bn": "billion"}
_SCALE_WORDS = "thousand|million|billion|trillion"
_MONEY = re.compile(
    rf"(?P<symbol>[$€£¥₹])\s?(?P<amount>{_AMOUNT})(?P<frac>\.\d+)?"
    rf"(?:\s?[-–]\s?[$€£¥₹]?(?P<to>{_AMOUNT})(?P<to_frac>\.\d+)?)?"
    rf"(?:(?P<letter>k|K|m|M|mn|bn|b|B)\b|\s(?P<scale>(?i:{_SCALE_WORDS}))\b)?"
)
# "20€", "5 €": the symbol after the amount, as written in much of Europe.
_MONEY_AFTER = re.compile(rf"(?<![\w.])(?P<amount>{_AMOUNT})(?P<frac>\.\d+)?\s?(?P<symbol>[€£¥₹])")


def _money_words(symbol: str, amount: str, frac: str | None) -> str:
    """"$1.50" → "one dollar and fifty cents"; "$1" → "one dollar"; "$0.05" → "five cents"."""
    unit, units, subunit, subunits = _CURRENCIES[symbol]
    whole = int(amount.replace(",", ""))
    cents = frac[1:] if frac else ""
    if cents and (len(cents) > 2 or subunit is None):
        return f"{cardinal(amount + frac)} {units}"
    count = int(cents.ljust(2, "0")) if cents else 0
    main = f"{cardinal(amount)} {unit if whole == 1 else units}"
    if not count:
        return main
    change = f"{cardinal(str(count))} {subunit if count == 1 else subunits}"
    return change if whole == 0 else f"{main} and {change}"


def _speak_money(match: re.Match) -> str:
    """Money, with an optional range ("$20-30") and scale ("$5 million", "$2.5bn")."""
    symbol, amount, frac = match.group("symbol"), match.group("amount"), match.group("frac") or ""
    scale = match.group("scale") or _SCALES.get((match.group("letter") or "").lower())
    if not match.group("to") and not scale:
        return _money_words(symbol, amount, frac or None)
    spoken = cardinal(amount + frac)
    if match.group("to"):
        spoken += " to " + cardinal(match.group("to") + (match.group("to_frac") or ""))
    if scale:
        spoken += " " + scale.lower()
    return f"{spoken} {_CURRENCIES[symbol][1]}"


_PERCENT = re.compile(r"(?<![\w.])(?P<number>[-−]?(?:(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|\.\d+))\s?%")

# unit → (singular, plural). Only unambiguous abbreviations: "m" (metres? minutes? million?)
# and "g" (grams? 5G?) are left alone.
_UNITS = {
    "km/h": ("kilometer per hour", "kilometers per hour"),
    "km": ("kilometer", "kilometers"),
    "cm": ("centimeter", "centimeters"),
    "mm": ("millimeter", "millimeters"),
    "kg": ("kilogram", "kilograms"),
    "mg": ("milligram", "milligrams"),
    "lb": ("pound", "pounds"),
    "lbs": ("pound", "pounds"),
    "oz": ("ounce", "ounces"),
    "ft": ("foot", "feet"),
    "mph": ("mile per hour", "miles per hour"),
    "kph": ("kilometer per hour", "kilometers per hour"),
    "ml": ("milliliter", "milliliters"),
    "kb": ("kilobyte", "kilobytes"),
    "mb": ("megabyte", "megabytes"),
    "gb": ("gigabyte", "gigabytes"),
    "tb": ("terabyte", "terabytes"),
    "hz": ("hertz", "hertz"),
    "khz": ("kilohertz", "kilohertz"),
    "mhz": ("megahertz", "megahertz"),
    "ghz": ("gigahertz", "gigahertz"),
    "fps": ("frame per second", "frames per second"),
    "min": ("minute", "minutes"),
    "mins": ("minute", "minutes"),
    "hr": ("hour", "hours"),
    "hrs": ("hour", "hours"),
    "sec": ("second", "seconds"),
    "secs": ("second", "seconds"),
    "x": ("times", "times"),
}
_UNIT = re.compile(
    rf"(?<![\w.])(?P<number>(?:{_AMOUNT})(?:\.\d+)?)\s?(?P<unit>"
    + "|".join(re.escape(unit) for unit in sorted(_UNITS, key=len, reverse=True))
    + r")(?![\w/])",
    re.IGNORECASE,
)
_DEGREES = re.compile(rf"(?<![\w.])(?P<number>[-−]?(?:{_AMOUNT})(?:\.\d+)?)\s?°\s?(?P<scale>[CF]\b)?")
_TEMPERATURE_SCALES = {"C": "Celsius", "F": "Fahrenheit"}


def _counted(number: str, singular: str, plural: str) -> str:
    """A number and its unit, singular only for exactly one."""
    return f"{cardinal(number)} {singular if number == '1' else plural}"


def _speak_unit(match: re.Match) -> str:
    """"5km" → "five kilometers", "10x" → "ten times"."""
    return _counted(match.group("number"), *_UNITS[match.group("unit").lower()])


def _speak_degrees(match: re.Match) -> str:
    """"20°C" → "twenty degrees Celsius"."""
    spoken = _counted(match.group("number"), "degree", "degrees")
    scale = match.group("scale")
    return f"{spoken} {_TEMPERATURE_SCALES[scale]}" if scale else spoken


# "1970s", "1970's" and "'90s", "90s".
_DECADE = re.compile(r"(?<![\w'])'?(?P<digits>1[1-9]\d0|20[0-9]0|[1-9]0)'?s\b")
_ORDINAL = re.compile(rf"(?<![\w.])(?P<number>{_AMOUNT})(?:st|nd|rd|th)\b", re.IGNORECASE)

_NUMBER = rf"(?:{_AMOUNT})(?:\.\d+)?"
# Two numbers joined by a hyphen or en dash, not part of a longer chain (dates, phone numbers).
_RANGE = re.compile(rf"(?<![\w.,/-])(?P<low>{_NUMBER})\s?[-–]\s?(?P<high>{_NUMBER})(?![\w/]|[-–.,]\d)")


def _speak_range(match: re.Match) -> str:
    """"20-30" → "twenty to thirty"; "1990–1995" → "nineteen ninety to nineteen ninety-five"."""
    low, high = match.group("low"), match.group("high")
    as_years = is_year(low) and (is_year(high) or (len(high) == 2 and high.isdigit()))
    if as_years and not follows_count_noun(match.string, match.end()):
        return f"{year(int(low))} to {year(int(high)) if len(high) == 4 else cardinal(high)}"
    return f"{cardinal(low)} to {cardinal(high)}"


_RATING_SCALES = {4, 5, 10, 20, 100}
_STANDALONE_SCALES = {5, 10, 100}  # "3/4" alone is a fraction; "4/5" alone is a score
_RATING_WORDS = re.compile(
    r"\b(?:stars?|rat(?:e|ed|ing|ings)|scores?|scored|grades?|verdict|give|gave|giving|"
    r"points?|overall|out of)\b",
    re.IGNORECASE,
)
_FRACTION = re.compile(
    r"(?<![\w/.])(?:(?P<whole>\d{1,9})\s)?(?P<top>\d{1,9}(?:\.\d+)?)\s?/\s?(?P<bottom>\d{1,9})(?![\w/]|\.\d)"
)
_MAX_STANDALONE_WORDS = 2  # "Rating: 8/10", "Verdict - 8/10": a fraction nearly alone is a score


# Slashed numbers that are names, not fractions.
_SET_PHRASES = {
    "24/7": "twenty-four seven",
    "9/11": "nine eleven",
    "50/50": "fifty-fifty",
    "20/20": "twenty twenty",
}


_OF_AFTER = re.compile(r"\s+of\b")
_WORD_AFTER = re.compile(r"\s*[^\W\d_]")
_WORD = re.compile(r"[^\W\d_]+")


def _is_rating(match: re.Match, bottom: int, rating_talk: bool, word_count: int) -> bool:
    """A score when its scale is a rating scale and the sentence talks about rating, or the
    fraction stands (nearly) alone; "1/5 of the cast" and "3/4 cup" stay fractions."""
    if bottom not in _RATING_SCALES or match.group("whole"):
        return False
    if _OF_AFTER.match(match.string, match.end()):
        return False
    if rating_talk:
        return True
    if bottom not in _STANDALONE_SCALES or _WORD_AFTER.match(match.string, match.end()):
        return False  # a word right after ("4/5 cup") makes it a quantity
    return word_count <= _MAX_STANDALONE_WORDS


def _speak_fraction(match: re.Match, rating_talk: bool, word_count: int) -> str:
    """Ratings → "four out of five"; fractions → "three quarters"; "1 1/2" → "one and a half"."""
    top, bottom = match.group("top"), int(match.group("bottom"))
    if not match.group("whole") and f"{top}/{bottom}" in _SET_PHRASES:
        return _SET_PHRASES[f"{top}/{bottom}"]
    if _is_rating(match, bottom, rating_talk, word_count):
        return f"{cardinal(top)} out of {cardinal(str(bottom))}"
    if "." in top or bottom == 0 or int(top) >= bottom and not match.group("whole"):
        return f"{cardinal(top)} over {cardinal(str(bottom))}"
    spoken = fraction(int(top), bottom)
    whole = match.group("whole")
    if not whole:
        return spoken
    if top == "1":  # "1 1/2" is said "one and a half", not "one and one half"
        spoken = "a " + spoken.removeprefix("one ")
    return f"{cardinal(whole)} and {spoken}"


def _speak_fractions(text: str) -> str:
    """Fractions and ratings, judged against the whole sentence (looked at once, not per match)."""
    rating_talk = bool(_RATING_WORDS.search(text))
    word_count = len(_WORD.findall(text))  # fractions hold no letters, so these are the others
    return _FRACTION.sub(lambda match: _speak_fraction(match, rating_talk, word_count), text)


def speak_amounts(text: str) -> str:
    """Turn money, percentages, units, decades, ordinals, ranges and ratings into words."""
    text = _MONEY.sub(_speak_money, text)
    text = _MONEY_AFTER.sub(lambda m: _money_words(m["symbol"], m["amount"], m["frac"]), text)
    text = _DEGREES.sub(_speak_degrees, text)
    text = _UNIT.sub(_speak_unit, text)
    text = _DECADE.sub(lambda m: decade(int(m.group("digits"))), text)
    text = _ORDINAL.sub(lambda m: ordinal(int(m.group("number").replace(",", ""))), text)
    text = _RANGE.sub(_speak_range, text)
    text = _PERCENT.sub(lambda m: cardinal(m.group("number")) + " percent", text)
    text = re.sub(r"\s?%", " percent", text)
    return _speak_fractions(text)
