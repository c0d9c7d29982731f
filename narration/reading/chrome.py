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
    # Helpfulness votes: "12 of 14 people found this review helpful", "Was this review helpful? Yes / No".
    r"(\d[\d,]* ((of|out of) \d[\d,]* )?)?(people|users|readers|members|customers|others|person)? ?found this "
    r"(review |post |answer |comment )?(helpful|useful)\.?.{0,60}",
    r"(was|is|did you find) this (review|article|post|answer|comment)? ?(helpful|useful)\??.{0,60}",
    r"(helpful|not helpful|useful|funny|cool|agree|disagree|yes|no)\s*[(\[]?\d*[)\]]?"
    r"(\s*[|/·•]?\s*(helpful|not helpful|useful|funny|cool|agree|disagree|yes|no)\s*[(\[]?\d*[)\]]?)+",
    r"(helpful|not helpful|useful|funny|cool)\s*[(\[]\d[\d,]*[)\]]",
    r"report( this| abuse)?( review| comment| post| answer)?|flag (this|as inappropriate)|verified (purchase|buyer)",
    r"(write|add|rate|see all|read all|show all|view all)( \d[\d,]*)? (a |your |this |all )?"
    r"(reviews?|ratings?|comments?|answers?|replies|film|movie|book|show)\b[^.!?]{0,30}",
    r"(add to|save to|remove from) (my )?(watchlist|wishlist|list|cart|favorites|favourites|library)",
    r"sort(ed)? by:?.{0,40}|filter by:?.{0,40}|show (more|less)|load more( comments| reviews)?|see more|view more",
    # Tags and categories, wherever they sit.
    r"(tags?|tagged( with| as)?|labels?|shelves|categor(y|ies)|topics?)\s*:.{0,200}|filed (under|in):? [^.!?]{1,160}",
    # Forum post furniture.
    r"(reply|post|answer) #\d+.{0,80}|quote( from)?:?( .{1,60} on .{1,40})?|logged|(quote|reply|edit)( \| (quote|reply|edit))+",
    r"(posts|joined|member since|karma|reputation|location|messages|reaction score|points):\s*[\w ,.]{1,30}",
    r"(photo|picture|illustration)s?( credit)?:.{0,100}|image credits?:.{0,100}|(photograph|photo|image)s? (by|courtesy of|via) [^.!?]{1,60}",
    r"(\d[\d,.]*k? )?(likes?|views?|shares?|votes?|replies|reactions|points|upvotes?|downvotes?|comments?)"
    r"( \(\d[\d,]*\))?",
    r"listen( to this( article| story| post)?)?|responses?( \(\d+\))?|\d[\d,.]* (hrs|hours) (on record|played).{0,40}",
    r"like (this )?(review|post|comment)|follow( us| me)?( on [^.!?]{1,30})?|edited( by .{1,40})?",
    r"(©|\(c\)).{0,120}|copyright (©|\(c\)|\d{4}).{0,120}|all rights reserved\.?",
    r"discuss [^.!?]{1,60} below:?",
    r"(related|see also|read more|more from [^:]{1,30}|you (may|might) also like)( posts| reviews| articles| stories)?"
    r"\s*:.{0,160}",
    r"(https?://|www\.)\S+",  # a bare address; reading a URL aloud helps no one
    r"home\s*[›>»/|].*",  # breadcrumbs: "Home › Reviews › Her"
    r"print( this)?( page| article)?|email( this)?( page| article)?|permalink",
    r"(like )?loading\W*|click here[^.!?]{0,40}",
)

# Lines that are chrome only in the tail of a page, where blogs put bylines and tag lists.
TRAILING_PATTERNS = (
    r"posted (by|on|in|at) [^!?]{1,80}",
    r"like this:?|related( posts| reviews| articles)?:?|you (may|might) also like:?",
    r"more from [^.!?]{1,40}|about the author:?|share this( post| review)?:?",
    r"twitter|facebook|x|pinterest|reddit|linkedin|tumblr|whatsapp|email|print|mastodon|bluesky",
    r"(previous|next|older|newer) (post|review|article|entry|page)s?:?[^.!?]{0,60}",
)


MAX_TAIL_LINES = 200


def _compile(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """One case-blind, whole-line regex per table, so matching stays cheap and exact."""
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


_ANYWHERE = _compile(ANYWHERE_PATTERNS)
_TRAILING = _compile(ANYWHERE_PATTERNS + TRAILING_PATTERNS)


# Words of the links sites put around a text; a line made only of short parts, one of them
# such a word ("Permalink | Comments (3) | Share"), is a bar of links.
LINK_WORDS = {
    "share", "shares", "comment", "comments", "permalink", "reply", "replies", "report", "like", "likes",
    "tweet", "email", "e-mail", "print", "save", "saved", "follow", "flag", "quote", "link", "embed", "vote",
    "votes", "helpful", "subscribe", "facebook", "twitter", "x", "pinterest", "reddit", "linkedin", "tumblr",
    "whatsapp", "mastodon", "bluesky", "threads", "instagram", "youtube", "tiktok", "rss", "copy", "edit",
    "bookmark", "favorite", "favourite", "upvote", "downvote", "award", "more", "menu", "home", "search",
    "this", "on", "via", "us", "post",
}
_PARTS = re.compile(r"\s*(?:[|·•/]|\s{2,}|\t)\s*")
_COUNT = re.compile(r"[(\[]?\d[\d,.]*k?[)\]]?")
_SYMBOLS_AND_COUNTS = re.compile(r"(?:[^\w\s\x21-\x7e]{1,3}\s*\d[\d,.]*k?\s*)+")  # "♥ 12 💬 3", not "/ 10"
_COOKIES = re.compile(r"\bcookies?\b", re.IGNORECASE)
_CONSENT = re.compile(r"\b(we use|uses|accept|consent|privacy|preferences|settings|policy|agree|partners)\b",
                      re.IGNORECASE)
_NEWSLETTER = re.compile(
    r"^(sign up|subscribe|join|get|enter your e-?mail)\b.{0,160}\b(newsletter|inbox|mailing list|updates|e-?mails?)\b"
    r"|^(don'?t|never) miss\b.{0,80}|^(our |the |weekly |free )?newsletter\b.{0,40}$", re.IGNORECASE)
SPOILER_BANNER = "This review contains spoilers."
"""What a standalone spoiler warning ("** SPOILERS AHEAD **") is read as: one short sentence."""
_SPOILER = re.compile(r"\bspoilers?\b|\bspoiler-free\b", re.IGNORECASE)


def is_chrome(line: str) -> bool:
    """True for a line that is site chrome wherever it appears: by pattern, or by its shape."""
    line = line.strip()
    return bool(line) and (bool(_ANYWHERE.fullmatch(line)) or is_link_bar(line) or is_notice(line))


def is_link_bar(line: str) -> bool:
    """ "Permalink | Comments (3) | Share", "Facebook Twitter Email", "♥ 12 💬 3": links and counters only."""
    if len(line) > 160 or line.rstrip().endswith((".", "?", "!")) and len(line.split()) > 3:
        return False
    if _SYMBOLS_AND_COUNTS.fullmatch(line.strip()):
        return True
    if " " not in line.strip() and "|" not in line:
        return False  # one word: not a bar of links
    words = [_COUNT.sub("", word).strip(":").lower() for word in line.split()]
    words = [word for word in words if word]
    if words and all(word in LINK_WORDS for word in words) and len(words) >= 2:
        return True
    parts = [part for part in _PARTS.split(line.strip()) if part]
    if len(parts) < 2:
        return False
    short = all(len(part.split()) <= 3 and not part.endswith((".", "!", "?")) for part in parts)
    linked = any(word in LINK_WORDS for part in parts for word in _COUNT.sub("", part).lower().split())
    return short and linked


def is_notice(line: str) -> bool:
    """A cookie or newsletter notice: a site talking about itself, never part of the text."""
    words = len(line.split())
    if words <= 60 and _COOKIES.search(line) and _CONSENT.search(line):
        return True
    return words <= 30 and bool(_NEWSLETTER.search(line))


def is_spoiler_banner(line: str) -> bool:
    """A short standalone warning that spoilers follow ("SPOILERS AHEAD", "*** Spoiler warning ***")."""
    line = line.strip()
    return len(line.split()) <= 12 and bool(_SPOILER.search(line))


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
    # A page's tail is a few dozen links at most; looking further back only costs time
    # (200,000 one-word lines are all "link-like").
    for index in range(len(lines) - 1, max(-1, len(lines) - 1 - MAX_TAIL_LINES), -1):
        if is_trailing_chrome(lines[index]):
            start = index
        elif not looks_like_link(lines[index]):
            break
    if start == 0 and lines and not any(is_chrome(line) for line in lines[:MAX_TAIL_LINES]):
        return len(lines)  # nothing but short lines: that is the text itself, not a page's tail
    return start


def drop_trailing_chrome(units: list[Unit]) -> list[Unit]:
    """Cut the links and bylines a page leaves after the text ("Posted by …", "Share this")."""
    return units[:trailing_chrome_start([unit.text for unit in units])]
