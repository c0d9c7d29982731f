"""Written abbreviations → the words said ("Mr." → "Mister", "e.g." → "for example")."""

from __future__ import annotations

import re

from narration.normalize.context import ends_text, previous_word

# Titles before a name; case matters ("Mr." yes, "mr." is rare and "MR" may be an acronym).
# The dot is optional for the British "Mr Smith" style, but then a capitalized name must follow.
_TITLES = {
    "Mr": "Mister",
    "Mrs": "Missus",
    "Ms": "Miz",
    "Prof": "Professor",
    "Capt": "Captain",
    "Lt": "Lieutenant",
    "Sgt": "Sergeant",
    "Gov": "Governor",
    "Rev": "Reverend",
    "Mt": "Mount",
}
# After a name; only with their dot.
_SUFFIXES = {"Jr": "Junior", "Sr": "Senior", "Ave": "Avenue", "Blvd": "Boulevard"}
# Latin and everyday abbreviations, any case, only with their dots (so "etc" in a URL survives).
_PHRASES = {
    "e.g.": "for example",
    "i.e.": "that is",
    "etc.": "et cetera",
    "vs.": "versus",
    "approx.": "approximately",
    "cf.": "compare",
    "a.k.a.": "also known as",
    "incl.": "including",
    "esp.": "especially",
    "w/o": "without",
    "w/": "with",
}
_CAPITALIZED_WORD = re.compile(r"\s+[\"'(]?[A-Z]")


def _with_period(replacement: str, match: re.Match) -> str:
    """Keep the sentence's final period when the abbreviation's dot was also the full stop."""
    dotted = match.group(0).endswith(".")
    return replacement + ("." if dotted and ends_text(match.string, match.end()) else "")


def _next_is_capitalized(match: re.Match) -> bool:
    """True when a capitalized word follows ("Dr. Smith", "St. Louis")."""
    return bool(_CAPITALIZED_WORD.match(match.string, match.end()))


def _speak_doctor_or_drive(match: re.Match) -> str:
    """"Dr. Smith" → "Doctor Smith"; "Mulholland Dr." → "Mulholland Drive"."""
    previous = previous_word(match.string, match.start())
    if not _next_is_capitalized(match) and previous[:1].isupper():
        return _with_period("Drive", match)
    return _with_period("Doctor", match)


def _speak_saint_or_street(match: re.Match) -> str:
    """"St. Louis" → "Saint Louis"; "Main St." and "5th St." → "Street"."""
    previous = previous_word(match.string, match.start())
    after_number = previous[:1].isdigit()
    if _next_is_capitalized(match) and not after_number:
        return _with_period("Saint", match)
    return _with_period("Street", match)


_DOTTED_INITIALISM = re.compile(r"(?<![\w.])((?:[A-Za-z]\.){2,})(?!\w)")
_NUMBER_SIGN = re.compile(r"\b[Nn]o\.\s?(?=\d)|\bNos\.\s?(?=\d)")
_INITIAL = re.compile(r"(?<![\w.])([A-Z])\.(?=\s+[A-Z][a-z.])")  # "J. K. Rowling"


def _speak_initialism(match: re.Match) -> str:
    """"U.S.A." → "U S A": letters the engine says one by one, without sentence-ending dots."""
    letters = " ".join(match.group(1).replace(".", ""))
    return letters + ("." if ends_text(match.string, match.end()) else "")


def _phrase_pattern(written: str) -> str:
    """A phrase abbreviation as a standalone token."""
    if written.endswith("."):
        end = r"(?!\w)"
    elif written.endswith("/"):
        end = ""  # "w/friends" as well as "w/ friends"
    else:
        end = r"\b"
    return r"(?<![\w.])" + re.escape(written) + end


def expand_abbreviations(text: str) -> str:
    """Replace abbreviations with words, keeping a final period where the dot ended the sentence."""
    for written, spoken in _PHRASES.items():
        text = re.sub(
            _phrase_pattern(written),
            lambda m, spoken=spoken: _with_period(spoken, m),
            text,
            flags=re.IGNORECASE,
        )
    text = re.sub(r"\bvs\b(?!\.)", "versus", text)
    text = _NUMBER_SIGN.sub(lambda m: "numbers " if m.group(0).startswith("Nos") else "number ", text)
    for written, spoken in _TITLES.items():
        text = re.sub(
            rf"\b{written}(?:\.|(?=\s+[A-Z]))", lambda m, spoken=spoken: _with_period(spoken, m), text
        )
    for written, spoken in _SUFFIXES.items():
        text = re.sub(rf"\b{written}\.", lambda m, spoken=spoken: _with_period(spoken, m), text)
    text = re.sub(r"\bDr(?:\.|(?=\s+[A-Z]))", _speak_doctor_or_drive, text)
    text = re.sub(r"\bSt\.", _speak_saint_or_street, text)
    text = _DOTTED_INITIALISM.sub(_speak_initialism, text)
    return _INITIAL.sub(r"\1", text)
