"""Written text → the words a speech engine should say ("$5 million" → "five million dollars").

`normalize` runs a fixed series of passes over one sentence (or a title). The order matters:
each pass consumes a pattern before a more general one could take it apart — addresses before
anything splits their dots, dates before times, times and money before plain numbers, Roman
numerals and letter-digit tokens before acronyms are spelled, and the character filter last.
"""

from __future__ import annotations

import re

from narration.normalize.abbreviations import expand_abbreviations
from narration.normalize.acronyms import (
    speak_capitals,
    speak_roman_numerals,
    split_letters_and_digits,
)
from narration.normalize.amounts import speak_amounts
from narration.normalize.dates import speak_dates_and_times
from narration.normalize.numbers import load_tables, speak_numbers
from narration.normalize.symbols import clean_typography, tidy
from narration.normalize.web import speak_web_addresses

__all__ = ["NORMALIZER_VERSION", "is_speakable", "load_tables", "normalize"]

NORMALIZER_VERSION = "1"
"""Changes whenever `normalize` says anything differently; part of the sentence-cache key."""

_PASSES = (
    speak_web_addresses,
    clean_typography,
    speak_dates_and_times,
    expand_abbreviations,
    speak_amounts,
    speak_roman_numerals,
    split_letters_and_digits,
    speak_numbers,
    speak_capitals,
    tidy,
)
_SAYABLE = re.compile(r"[^\W_]")


def normalize(text: str) -> str:
    """The spoken form of one sentence or title: words and basic punctuation, no digits or symbols."""
    for speak in _PASSES:
        text = speak(text)
    return text


def is_speakable(spoken: str) -> bool:
    """True when a normalized text has at least one letter or digit for the engine to say."""
    return bool(_SAYABLE.search(spoken))
