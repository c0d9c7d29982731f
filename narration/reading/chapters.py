"""Paragraph units → chapters, and the metadata shared by every reader."""

from __future__ import annotations

from narration.document import Chapter, Document, Metadata
from narration.errors import EmptyTextError, TooManyChaptersError
from narration.reading.fields import split_names, year_of
from narration.reading.introduction import introduce
from narration.reading.paragraphs import Unit

# Facts with a slot in Metadata; everything else is kept in Document.extras["fields"].
METADATA_FIELDS = {"title", "headline", "author", "published", "updated", "tagline", "genre", "year", "rating",
                   "runtime", "certificate", "site", "url"}
MAX_CHAPTERS = 500
"""Most chapters one narration may have. Each chapter is a worker task, a row, an ID3 chapter
frame and a line in every progress response; 10,000 tiny chapters took seconds to accept and
would make a job nobody can navigate. Books rarely pass a hundred."""


def assemble_chapters(units: list[Unit]) -> tuple[Chapter, ...]:
    """Start a chapter at every heading unit; text before the first heading is an untitled opening."""
    chapters: list[Chapter] = []
    title, paragraphs, quotes = "", [], set()
    for unit in units:
        if unit.heading and paragraphs:
            chapters.append(Chapter(title, tuple(paragraphs), frozenset(quotes)))
            title, paragraphs, quotes = unit.text, [], set()
        elif unit.heading:
            # Headings with nothing between them ("Part One", "The Beginning") name one chapter.
            title = f"{title.rstrip(':')}: {unit.text}" if title else unit.text
        elif unit.text:
            if unit.quote:
                quotes.add(len(paragraphs))
            paragraphs.append(unit.text)
    if paragraphs or title:
        chapters.append(Chapter(title, tuple(paragraphs), frozenset(quotes)))
    return tuple(chapter for chapter in chapters if chapter.paragraphs)


def build_document(
    chapters: tuple[Chapter, ...], fields: list[tuple[str, str]], *, title: str, author: str, source: str
) -> Document:
    """A Document from chapters and (field, value) pairs; explicit title/author arguments win."""
    if not chapters:
        raise EmptyTextError(
            "The text has no paragraphs to narrate (only a title, labels or site links). "
            "Paste the full text of the review or article."
        )
    check_chapter_count(len(chapters))
    values: dict[str, str] = {}
    cast: list[str] = []
    directors: list[str] = []
    extras: dict[str, str] = {}
    for name, value in fields:
        if name == "cast":
            cast.extend(n for n in split_names(value) if n not in cast)
        elif name == "director":
            directors.extend(n for n in split_names(value) if n not in directors)
        elif name in METADATA_FIELDS:
            values.setdefault(name, value)
        else:
            extras.setdefault(name, value)
    if "year" in values:
        values["year"] = year_of(values["year"]) or values["year"]
    elif "released" in extras and year_of(extras["released"]):
        values["year"] = year_of(extras["released"])
    if title:
        values["title"] = title
    if author:
        values["author"] = author
    metadata = Metadata(
        **values,
        director=_join_names(directors),
        cast=tuple(cast),
    )
    return Document(
        metadata=metadata,
        chapters=chapters,
        introduction=introduce(metadata, extras),
        extras={"fields": extras, "source": source},
    )


def check_chapter_count(count: int, *, field: str | None = None) -> None:
    """Refuse a text with more than MAX_CHAPTERS chapters, saying what to do instead."""
    if count > MAX_CHAPTERS:
        raise TooManyChaptersError(
            f"The text has {count} chapters; at most {MAX_CHAPTERS} are allowed. Merge short "
            "chapters or split the text into several narrations.", field=field)


def _join_names(names: list[str]) -> str:
    """ "A", "A and B", "A, B and C": how names are said aloud."""
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]
