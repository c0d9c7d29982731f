"""Paragraphs → sentences (pysbd plus a few fix-ups), and over-long sentences → clauses."""

from __future__ import annotations

import functools
import logging
import re

import pysbd
from pysbd.languages import LANGUAGE_CODES

logger = logging.getLogger(__name__)

# Abbreviations that never end a sentence: pysbd splits after some of them ("approx. 20",
# "Cf. chapter 3"), so a segment ending with one is glued to the next. "No." can end one
# ("She said No."), so it only glues to a number ("No. 5").
_NEVER_FINAL = re.compile(r"(?:^|[\s(\"'])(?:Mr|Mrs|Ms|Dr|Prof|approx|Approx|cf|Cf|vs|e\.g|i\.e)\.$")
_NUMBER_ABBREVIATION = re.compile(r"(?:^|[\s(])No\.$")
# A closing quote or bracket that pysbd put at the start of the next segment belongs to the end
# of the previous one ('she says.” We who?' → 'she says.”' + 'We who?').
# Only when a space follows: "’90s were great." starts with an apostrophe, not a closer.
_LEADING_CLOSER = re.compile(r"^[”’)\]\"']+(?=\s|$)")
# pysbd splits after "..." followed by a capital but not after the single character "…";
# splitting both the same way keeps the output consistent.
_ELLIPSIS_BOUNDARY = re.compile(r"(?<=…)(?=\s+[\"“'‘(]?[A-Z])")


@functools.lru_cache(maxsize=None)
def _segmenter(language: str) -> pysbd.Segmenter:
    """One Segmenter per language: building one compiles many rules, so it is shared."""
    return pysbd.Segmenter(language=language, clean=False)


def _pysbd_language(language: str) -> str:
    """Map "en-US"/"EN" to pysbd's code, falling back to English for languages it lacks."""
    code = (language or "en").split("-")[0].split("_")[0].lower()
    if code not in LANGUAGE_CODES:
        logger.warning("No sentence rules for language %r; splitting as English", language)
        return "en"
    return code


def _starts_lowercase(segment: str) -> bool:
    """True when a segment starts mid-sentence: its first word is all lowercase ("right?")."""
    match = re.match(r"[\"“‘'(\[]*([^\W\d_][\w'’-]*)", segment)
    return bool(match) and match.group(1).islower()


def _raw_segments(paragraph: str, language: str) -> list[str]:
    """pysbd's segments with their whitespace kept, then split after "…" + capital."""
    segments: list[str] = []
    for chunk in _chunks(paragraph):
        for segment in _segment_chunk(chunk, language):
            segments.extend(part for part in _ELLIPSIS_BOUNDARY.split(segment) if part)
    return segments


def _segment_chunk(chunk: str, language: str) -> list[str]:
    """One chunk's segments. Sentences averaging under DENSE_CHARS are not prose ("a!a!a!…"):
    pysbd spends ~70 µs on each, which made a 1 MB body take 40 s, so such a chunk is split at
    every end mark instead."""
    if len(chunk) > DENSE_MIN and len(_END_MARKS.findall(chunk)) * DENSE_CHARS > len(chunk):
        return _END_SPLIT.split(chunk)
    return [segment for piece in _capped(chunk) for segment in _segmenter(language).segment(piece)]


# pysbd locates each sentence by searching the whole text again, so its time grows with the
# square of a paragraph's length: one 100,000-character paragraph of short sentences took
# minutes. Paragraphs longer than CHUNK_CHARS are cut first at clear sentence ends (a word of
# four or more letters, end punctuation, a capital next), which pysbd would split at anyway;
# only when no clear end comes for FORCE_CHARS is any end punctuation followed by space used.
CHUNK_CHARS = 1000
FORCE_CHARS = 2 * CHUNK_CHARS
MAX_ENDS = 40
DENSE_CHARS = 8
DENSE_MIN = 256
_END_MARKS = re.compile(r"[.!?…。！？]+")
_END_SPLIT = re.compile(r"(?<=[.!?…。！？])(?![.!?…。！？])")
_ANY_END = re.compile(r"[.!?…。！？][\"”’')\]]*\s+")
_CLEAR_END = re.compile(r"[^\W\d_]{4}[.!?][\"”’')\]]*\s+(?=[\"“‘'(]?[A-Z])")


def _chunks(paragraph: str) -> list[str]:
    """The paragraph cut into pieces pysbd handles quickly; short paragraphs stay whole."""
    if len(paragraph) <= CHUNK_CHARS:
        return [paragraph]
    chunks, start = [], 0
    for match in _ANY_END.finditer(paragraph):
        length = match.end() - start
        clear = _CLEAR_END.match(paragraph, max(start, match.start() - 4))
        if (length >= CHUNK_CHARS and clear and clear.end() == match.end()) or length >= FORCE_CHARS:
            chunks.append(paragraph[start:match.end()])
            start = match.end()
    chunks.append(paragraph[start:])
    return [chunk for chunk in chunks if chunk]


def _capped(chunk: str) -> list[str]:
    """A chunk cut so pysbd stays fast whatever it holds.

    pysbd's cost grows with (sentences in a chunk) × (chunk length), so a chunk is cut after
    every MAX_ENDS-th run of end punctuation ("a!a!a!…" is a thousand sentences in 2000
    characters), and one with no space to cut at for FORCE_CHARS (one endless word) is cut at
    its last space before the cap, or at the cap itself.
    """
    pieces, start, ends = [], 0, 0
    for match in _END_MARKS.finditer(chunk):
        ends += 1
        if ends == MAX_ENDS:
            pieces.append(chunk[start:match.end()])
            start, ends = match.end(), 0
    rest = chunk[start:]
    while len(rest) > FORCE_CHARS:
        cut = rest.rfind(" ", CHUNK_CHARS, FORCE_CHARS) + 1 or FORCE_CHARS
        pieces.append(rest[:cut])
        rest = rest[cut:]
    return [piece for piece in [*pieces, rest] if piece]


def _move_leading_closers(segments: list[str]) -> list[str]:
    """Give a closing quote/bracket at a segment's start back to the segment before it."""
    fixed: list[str] = []
    for segment in segments:
        stripped = segment.lstrip()
        closer = _LEADING_CLOSER.match(stripped)
        if fixed and closer:
            fixed[-1] = fixed[-1].rstrip() + closer.group(0)
            segment = " " + stripped[closer.end():]
        fixed.append(segment)
    return fixed


def _should_join(previous: str, segment: str) -> bool:
    """True when pysbd split inside a sentence."""
    if not previous.strip():
        return False
    if segment.strip() and not previous[-1].isspace() and not segment[0].isspace():
        # No whitespace at the split: it fell inside a token (a URL's "?", "pain….right?").
        return True
    # Only the tail can hold the abbreviation; searching all of a sentence that keeps growing
    # by joins made long runs of "a. a. a." quadratic.
    tail = previous.rstrip()[-16:]
    if _NEVER_FINAL.search(tail):
        return True
    if _NUMBER_ABBREVIATION.search(tail) and segment.lstrip()[:1].isdigit():
        return True
    # Edited prose starts sentences with a capital, digit or quote; a lowercase start means
    # the split came after an abbreviation or ellipsis pysbd did not know ("…uhm…everything").
    return _starts_lowercase(segment.lstrip())


def split_sentences(paragraph: str, language: str = "en") -> list[str]:
    """Split a paragraph into sentences, keeping the original wording (whitespace stripped)."""
    if not paragraph or not paragraph.strip():
        return []
    segments = _move_leading_closers(_raw_segments(paragraph, _pysbd_language(language)))
    # Segments are gathered in lists and joined once: `+=` on a growing sentence copied it at
    # every join, quadratic when thousands of segments form one.
    joined: list[list[str]] = []
    for segment in segments:
        if joined and _should_join("".join(joined[-1][-8:])[-64:], segment):
            joined[-1].append(segment)
        else:
            joined.append([segment])
    sentences = (" ".join("".join(parts).split()) for parts in joined)
    return [sentence for sentence in sentences if sentence]


# Clause boundaries, most preferred first. Punctuation stays with the clause it ends; a
# conjunction starts the next clause. "9:30" and "1,200" are not boundaries (no space after).
_BOUNDARIES = (
    re.compile(r"(?<=[;:])\s+|(?<=—)\s*|(?<=\s[–-])\s+"),
    re.compile(r"(?<=,)\s+"),
    re.compile(r"\s+(?=(?:and|but|or|which)\b)"),
    re.compile(r"\s+"),
)


def _hard_split(word: str, max_chars: int) -> list[str]:
    """Cut a single over-long word into max_chars pieces: nothing better exists."""
    return [word[start : start + max_chars] for start in range(0, len(word), max_chars)]


def _split_at_level(text: str, max_chars: int, level: int) -> list[str]:
    """Split at this level's boundaries, packing neighbours greedily, recursing into big parts."""
    if len(text) <= max_chars:
        return [text]
    if level == len(_BOUNDARIES):
        return _hard_split(text, max_chars)
    parts = [part for part in _BOUNDARIES[level].split(text) if part]
    if len(parts) == 1:
        return _split_at_level(text, max_chars, level + 1)
    pieces: list[str] = []
    current: list[str] = []
    current_len = 0  # length of " ".join(current), tracked so packing stays linear

    def flush() -> None:
        nonlocal current, current_len
        if current:
            pieces.append(" ".join(current))
        current, current_len = [], 0

    for part in parts:
        if len(part) > max_chars:
            flush()
            pieces.extend(_split_at_level(part, max_chars, level + 1))
            continue
        added = len(part) + (1 if current else 0)
        if current_len + added > max_chars:
            flush()
            added = len(part)
        current.append(part)
        current_len += added
    flush()
    return pieces


def split_long(sentence: str, max_chars: int) -> list[str]:
    """Split an over-long sentence at clause boundaries so each piece fits an engine call."""
    if max_chars < 1:
        raise ValueError(f"max_chars must be at least 1, got {max_chars}")
    text = " ".join(sentence.split())
    if not text:
        return []
    return _split_at_level(text, max_chars, 0)
