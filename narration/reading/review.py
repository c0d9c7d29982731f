"""The body of a review as people paste it, tidied by the shape of its lines (every reader uses this).

- furniture (votes, link bars, tags, notices) is dropped wherever it sits;
- fact lines anywhere (a rating, "Posted by … on 10/02/2015", "6 min read", "2015 R 108 Minutes")
  become metadata, so they are never read raw; a rating split over lines ("Overall Rating / 8 /
  / 10") is put back together;
- a short label ending in a colon that opens a paragraph ("WHAT I LIKED:", "The Good:", "Cons:")
  starts a chapter titled in sentence case; the rest of the paragraph is its text;
- a spoiler banner is kept as one short sentence, once; the title repeated in the body is dropped.
"""

from __future__ import annotations

import re

from narration.reading.chrome import SPOILER_BANNER, is_chrome, is_spoiler_banner
from narration.reading.fields import parse_meta_line
from narration.reading.paragraphs import Unit
from narration.reading.ratings import parse_rating
from narration.reading.titleblock import split_title

# Facts a line anywhere in the body may state; other labelled fields ("Cast: …") could be prose.
BODY_FACTS = {"rating", "author", "published", "updated", "reading_time", "posted_ago", "runtime",
              "certificate", "year", "genre"}
LABEL_MAX_WORDS = 6
LABEL_MAX_CHARS = 48
NOT_SECTION_LABELS = {"note", "notes", "edit", "update", "ps", "p.s", "nb", "n.b", "warning", "disclaimer", "source",
                      "sources", "via", "credit", "credits", "caption", "tl;dr", "tldr", "q", "a", "answer",
                      "question", "quote", "example", "also", "but", "so", "and", "yes", "no", "oh", "well",
                      "ok", "okay", "hint", "tip", "fun fact", "spoiler", "spoilers", "spoiler alert"}
"""Labels that open a remark inside a chapter rather than a new one ("Note: …", "Edit: …")."""
_LABEL = re.compile(r"(?P<label>[^\W\d_][\w'’&/ -]{0,47}?)\s*:\s*(?P<rest>.*)", re.DOTALL)
_SMALL_WORDS = {"a", "an", "the", "and", "or", "but", "of", "in", "on", "to", "for", "i", "at", "by", "with", "vs"}
_MAYBE_FACT = re.compile(
    r"[\d|•·‧:/★⭐✪✭☆✩*½]|\b(by|posted|published|reviewed|watched|updated|genres?|rated|read|verdict|grade|"
    r"rating|score|stars?|ago|today|yesterday|spoilers?|spoiler-free|min|minutes?|hours?|" + "|".join(
        ("action|adventure|animation|biography|comedy|crime|documentary|drama|family|fantasy|history|horror|"
         "music|musical|mystery|romance|sci-fi|science|sport|thriller|war|western|unrated|pg|nr|g|r").split("|"))
    + r"|zero|one|two|three|four|five|six|seven|eight|nine|ten)\b", re.IGNORECASE)
"""A cheap first look: a line with none of these cannot state a fact, so the costly parsers skip it."""
_CARD_LABEL = re.compile(
    r"(?:(?:my|our|the|overall|final|user|critic'?s?|average|total)\s+)*(?:rating|score|grade|verdict)s?\s*:?",
    re.IGNORECASE)


def take_facts(texts: list[str], fields: list[tuple[str, str]], *, facts: bool = True,
               chrome: bool = True) -> tuple[set[int], bool]:
    """Which texts (lines, or paragraphs) are furniture, facts or a spoiler banner, to be dropped.

    Facts go into `fields` (with facts=False only furniture and banners are looked for; with
    chrome=False furniture is taken as already gone). Returns the indexes to drop and whether a spoiler banner was seen
    (the caller says it once, at the start). Blank texts are kept and skipped over.
    """
    drop: set[int] = set()
    spoilers = False
    for index, raw in enumerate(texts):
        text = raw.strip()
        if not text or index in drop:
            continue
        if chrome and is_chrome(text):
            drop.add(index)
        elif len(text) > 200 or not _MAYBE_FACT.search(text):
            continue
        elif not facts:
            if is_spoiler_banner(text):
                spoilers = True
                drop.add(index)
        elif _CARD_LABEL.fullmatch(text) and (card := _rating_card(texts, index, fields)):
            drop.update(card)
        elif (pairs := parse_meta_line(text)) and all(name in BODY_FACTS for name, _ in pairs):
            fields.extend(pairs)
            drop.add(index)
        elif (card := _card_with_verdict(text)) is not None:
            fields.extend(card)
            drop.add(index)
        elif is_spoiler_banner(text):
            spoilers = True
            drop.add(index)
    return drop, spoilers


def tidy_units(units: list[Unit], fields: list[tuple[str, str]], *, titles: tuple[str, ...] = (),
               facts: bool = True) -> list[Unit]:
    """The review rules for a body's units: facts into `fields`, furniture out, labels to headings.

    `facts=False` when the caller already ran take_facts over the lines (the plain reader).
    """
    drop, spoilers = set(), False
    if facts:
        drop, spoilers = take_facts([unit.text if not unit.list_item else "" for unit in units], fields)
        drop.update(index for index, unit in enumerate(units) if unit.list_item and is_chrome(unit.text))
    repeated = {title.casefold() for title in titles if title}
    speakers = _repeated_labels(units)
    tidy: list[Unit] = [Unit(SPOILER_BANNER)] if spoilers else []
    for index, unit in enumerate(units):
        if index in drop or not unit.text.strip():
            continue
        if unit.text.strip().casefold() in repeated and len(tidy) < 3:
            continue
        tidy.extend(split_label(unit, not_labels=speakers))
    return tidy


def _repeated_labels(units: list[Unit]) -> set[str]:
    """Labels that open more than one paragraph ("Theodore: …", "Theodore: …"): a dialogue's
    speakers or a Q&A's prompts, not the sections of a review, which each appear once."""
    seen: set[str] = set()
    repeated: set[str] = set()
    for unit in units:
        match = _LABEL.match(unit.text) if not unit.heading and ":" in unit.text[:LABEL_MAX_CHARS + 1] else None
        if match:
            label = match["label"].strip().casefold()
            (repeated if label in seen else seen).add(label)
    return repeated


def _rating_card(texts: list[str], index: int, fields: list[tuple[str, str]]) -> set[int]:
    """A rating label alone followed by its value over up to three short lines ("8", "/ 10"):
    the indexes of the lines it took, or an empty set."""
    parts, taken = [texts[index].strip()], {index}
    for later in range(index + 1, min(len(texts), index + 8)):
        text = texts[later].strip()
        if not text:
            continue
        if len(text) > 24 or len(taken) > 3:
            break
        parts.append(text)
        taken.add(later)
        rating = parse_rating(" ".join(parts), labelled=True)
        if rating and rating.value is not None:
            fields.append(("rating", rating.written()))
            return taken
    return set()


_VERDICT_TAIL = re.compile(r"(?P<rating>.+?)\s+(?:verdict|grade)\s*:?\s*(?P<verdict>[A-Za-z][\w' +-]{0,30})",
                           re.IGNORECASE)


def _card_with_verdict(text: str) -> list[tuple[str, str]] | None:
    """ "Overall Rating 8 / 10 Verdict: Good" (a rating card pasted as one line): its facts, or None."""
    match = _VERDICT_TAIL.fullmatch(text)
    rating = parse_rating(match["rating"]) if match else None
    if rating is None:
        return None
    return [("rating", rating.written()), ("verdict", match["verdict"].strip())]


def split_label(unit: Unit, *, not_labels: set[str] = frozenset()) -> list[Unit]:
    """ "WHAT I LIKED: The score…" → a heading "What I liked" and the paragraph "The score…"."""
    if unit.heading or unit.list_item or ":" not in unit.text[:LABEL_MAX_CHARS + 1]:
        return [unit]
    match = _LABEL.match(unit.text)
    if not match or not is_section_label(match["label"]) or match["label"].strip().casefold() in not_labels:
        return [unit]
    heading = Unit(sentence_case(match["label"]), single_line=True, heading=True)
    rest = match["rest"].strip()
    return [heading, Unit(rest, single_line=unit.single_line, quote=unit.quote)] if rest else [heading]


def is_section_label(label: str) -> bool:
    """A short all-caps or title-case label ("WHAT I DIDN'T LIKE", "The Good", "Cons")."""
    label = label.strip()
    words = label.split()
    if not words or len(words) > LABEL_MAX_WORDS or len(label) > LABEL_MAX_CHARS:
        return False
    if label.lower().strip(".") in NOT_SECTION_LABELS:
        return False
    letters = [c for c in label if c.isalpha()]
    if len(letters) >= 2 and all(c.isupper() for c in letters):
        return True
    return all(word[0].isupper() or word.lower() in _SMALL_WORDS for word in words) and words[0][0].isupper()


def sentence_case(title: str) -> str:
    """ "WHAT I DIDN'T LIKE" / "The Good" → "What I didn't like" / "The good"; "I" stays upper case."""
    words = title.lower().split()
    words = [re.sub(r"^i(?=$|['’])", "I", word) for word in words]
    text = " ".join(words)
    return text[:1].upper() + text[1:]


def sentence_case_heading(unit: Unit) -> Unit:
    """Headings written in capitals, or made from a label, are titled in sentence case
    (an engine may spell out a word in capitals letter by letter)."""
    if not unit.heading:
        return unit
    letters = [c for c in unit.text if c.isalpha()]
    shouting = len(letters) >= 2 and all(c.isupper() for c in letters)
    if shouting and not re.fullmatch(r"[A-Z]{2,3}", unit.text):  # "FAQ", "USA" stay
        return Unit(sentence_case(unit.text), single_line=True, heading=True)
    return unit


def drop_repeated_head_lines(lines: list[str], window: int = 20) -> list[str]:
    """A title line repeated at the top (pages print it twice, or once with its year) counts once."""
    seen: set[str] = set()
    kept: list[str] = []
    nonblank = 0
    for line in lines:
        if line.strip() and nonblank < window:
            nonblank += 1
            key = split_title(line)[0].casefold()
            if key in seen and len(key) <= 120:
                continue
            seen.add(key)
        kept.append(line)
    return kept
