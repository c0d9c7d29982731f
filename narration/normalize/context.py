"""What surrounds a match, found without copying the text (rules run once per match)."""

from __future__ import annotations

import re

_CLOSING_TAIL = re.compile(r"[\s\"')\]]*")
_BLANK = re.compile(r"\s*")
_WORD_BEFORE = re.compile(r"(\S+)\s+$")
_LOOK_BACK = 80  # characters enough to hold the previous word


def ends_text(text: str, end: int) -> bool:
    """True when only spaces and closing quotes/brackets follow `end`: the sentence ends there."""
    return _CLOSING_TAIL.match(text, end).end() == len(text)


def starts_text(text: str, start: int) -> bool:
    """True when only spaces come before `start`."""
    return _BLANK.match(text, 0, start).end() == start


def previous_word(text: str, start: int) -> str:
    """The word before `start`, or "" at the start of the text."""
    found = _WORD_BEFORE.search(text[max(0, start - _LOOK_BACK) : start])
    return found.group(1) if found else ""
