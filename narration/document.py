"""What a text is made of once read: metadata and chapters of paragraphs."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Metadata:
    """Facts about the work and the review, used for tags, the spoken introduction and feeds."""

    title: str = ""
    """Title of the episode (for a review: the work under review, e.g. "Her")."""
    headline: str = ""
    """The review's own headline, e.g. "Falling in love with AI"."""
    author: str = ""
    """Who wrote the text; the MP3's artist."""
    published: str = ""
    """Publication date, ISO 8601 (YYYY-MM-DD) when known."""
    updated: str = ""
    """Last update date, ISO 8601 when known."""
    tagline: str = ""
    """A one-line summary of the work."""
    genre: str = ""
    year: str = ""
    """Year of the work under review (not of the review)."""
    director: str = ""
    cast: tuple[str, ...] = ()
    language: str = "en"
    rating: str = ""
    """The reviewer's rating in a short written form: "3.5/4 stars", "8/10", "B+", "Good".
    Said in the introduction (narration.reading.ratings.say_rating); for the feed and ID3 comment."""
    runtime: str = ""
    """Length of the work under review, e.g. "108 minutes"."""
    certificate: str = ""
    """Age rating of the work, e.g. "PG-13"."""
    site: str = ""
    """Name of the site the text comes from, e.g. "The Film Desk"."""
    url: str = ""
    """Address the text was fetched from, for the feed item's link."""


@dataclass(frozen=True)
class Chapter:
    """A titled run of paragraphs. The opening chapter of a review may have no title."""

    title: str
    paragraphs: tuple[str, ...]
    quotes: frozenset[int] = frozenset()
    """Indexes of the paragraphs that are block quotes in the source (Markdown `>`, HTML
    `<blockquote>`): read by the quote voice when the narration has one."""


@dataclass(frozen=True)
class Document:
    """A text ready to be scripted: its metadata and its chapters in reading order."""

    metadata: Metadata
    chapters: tuple[Chapter, ...]
    introduction: str = ""
    """A short spoken introduction made from the metadata ("Her, 2013. Directed by …")."""
    extras: dict = field(default_factory=dict)


def document_to_dict(document: Document) -> dict:
    """A JSON-ready form, so a queued job can store exactly what was read."""
    return {
        "metadata": {**vars(document.metadata), "cast": list(document.metadata.cast)},
        "chapters": [{"title": c.title, "paragraphs": list(c.paragraphs),
                      **({"quotes": sorted(c.quotes)} if c.quotes else {})}
                     for c in document.chapters],
        "introduction": document.introduction,
        "extras": document.extras,
    }


def document_from_dict(data: dict) -> Document:
    """The inverse of `document_to_dict`."""
    known = {name for name in Metadata.__dataclass_fields__}
    meta = {name: value for name, value in data["metadata"].items() if name in known}
    meta["cast"] = tuple(meta.get("cast", ()))
    return Document(
        metadata=Metadata(**meta),
        chapters=tuple(Chapter(c["title"], tuple(c["paragraphs"]), frozenset(c.get("quotes", ())))
                       for c in data["chapters"]),
        introduction=data.get("introduction", ""),
        extras=data.get("extras", {}),
    )


def opening(document: Document, limit: int = 600) -> str:
    """The text's first paragraphs up to about `limit` characters, cut after a sentence when
    one ends in the second half: an episode description that reads like the review's start."""
    text = ""
    for chapter in document.chapters:
        for paragraph in chapter.paragraphs:
            text = f"{text}\n\n{paragraph}" if text else paragraph
            if len(text) >= limit:
                break
        if len(text) >= limit or text:
            break
    if len(text) <= limit:
        return text
    cut = text[:limit]
    sentence_end = max(cut.rfind(mark) for mark in (". ", "! ", "? ", ".\n", "…"))
    if sentence_end >= limit // 2:
        return cut[:sentence_end + 1]
    return cut[:cut.rfind(" ")].rstrip(",;:") + "…" if " " in cut else cut + "…"
