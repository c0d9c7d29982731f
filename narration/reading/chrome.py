"""Site chrome: navigation, sharing and comment links copied along with a text, never narrated.

Patterns are data so a new site's chrome is one line here; each matches a whole line (case-blind).
"""

from __future__ import annotations

import re

from narration.reading.paragraphs import Unit

# Lines that are chrome wherever they appear. Phrases that could also be prose ("Back to
# the story.") exclude sentence punctuation, so a real sentence never matches.
ANYWHERE_PATTERNS = (
    r"[←→↑↓⟵⟶⇐⇒▲▼►◄◀▶].{0,80}",  # arrow links: "← Previous"
    r"[»«‹›]\s*[^»«‹›]{1,60}",  # "»Return to user reviews" (a «quotation» has a closing mark)
    r"[^»«‹›]{1,60}\s*[»›]",  # "Next review »"
    r"(return|go|back) to [^.!?]{1,60}",
    r"back to top|top of page|skip to (main )?content|jump to (navigation|content)",
    r"share( this| on [^.!?]{1,30}| via [^.!?]{1,30})?:?|tweet( this)?|pin it",
    r"read (more|next|the full [^.!?]{1,40})|continue reading[^.!?]{0,40}|see also:?",
    r"(\d+ )?comments?:?|(post|leave|add) a (comment|reply)|reply|no comments( yet)?\.?",
    r"(sign|log) (in|out|up)( to [^.!?]{1,40})?|register|subscribe( now| to [^.!?]{1,40})?",
    r"advertisement|sponsored( content)?|ad",
    r"was this (review|article|post) helpful\??|\d+ (of|out of) \d+ (people|users) found this .{1,30}",
    r"report (this|abuse)( review| comment)?|flag (this|as inappropriate)",
    r"(©|\(c\)).{0,120}|copyright (©|\(c\)|\d{4}).{0,120}|all rights reserved\.?",
    r"discuss [^.!?]{1,60} below:?",
    r"(https?://|www\.)\S+",  # a bare address; reading a URL aloud helps no one
    r"home\s*[›>»/|].*",  # breadcrumbs: "Home › Reviews › Her"
    r"print( this)?( page| article)?|email( this)?( page| article)?|permalink",
    r"loading\W*|click here[^.!?]{0,40}",
)

# Lines that are chrome only in the tail of a page, where blogs put bylines and tag lists.
TRAILING_PATTERNS = (
    r"posted (by|on|in|at) [^!?]{1,80}",
    r"(tags?|labels?|categor(y|ies)|topics?):.{0,120}|filed under [^.!?]{1,120}",
    r"like this:?|related( posts| reviews| articles)?:?|you (may|might) also like:?",
    r"more from [^.!?]{1,40}|about the author:?|share this( post| review)?:?",
    r"twitter|facebook|x|pinterest|reddit|linkedin|tumblr|whatsapp|email|print|mastodon|bluesky",
    r"(previous|next|older|newer) (post|review|article|entry|page)s?:?[^.!?]{0,60}",
)


def _compile(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """One case-blind, whole-line regex per table, so matching stays cheap and exact."""
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


_ANYWHERE = _compile(ANYWHERE_PATTERNS)
_TRAILING = _compile(ANYWHERE_PATTERNS + TRAILING_PATTERNS)


def is_chrome(line: str) -> bool:
    """True for a line that is site chrome wherever it appears."""
    return bool(_ANYWHERE.fullmatch(line.strip()))


def is_trailing_chrome(line: str) -> bool:
    """True for a line that is site chrome when it sits in the tail of the text."""
    return bool(_TRAILING.fullmatch(line.strip()))


def looks_like_link(line: str) -> bool:
    """A short line with no sentence ending: in a page's tail that is a link, not prose."""
    line = line.strip()
    return len(line) <= 50 and len(line.split()) <= 6 and not line.endswith((".", "!", "?", "…", "\"", "”"))


def trailing_chrome_start(lines: list[str]) -> int:
    """Index where the trailing chrome of a page begins (len(lines) when there is none).

    The tail is cut from the first chrome line of the final run of chrome or link-like
    lines; short lines before that first chrome line stay (a review may end on "Highly
    recommended"), while link-like lines after it ("Twitter", "Older posts") go.
    """
    start = len(lines)
    for index in range(len(lines) - 1, -1, -1):
        if is_trailing_chrome(lines[index]):
            start = index
        elif not looks_like_link(lines[index]):
            break
    return start


def drop_trailing_chrome(units: list[Unit]) -> list[Unit]:
    """Cut the links and bylines a page leaves after the text ("Posted by …", "Share this")."""
    return units[:trailing_chrome_start([unit.text for unit in units])]
