"""The short spoken introduction made from a text's metadata ("Her, 2013. Directed by …")."""

from __future__ import annotations

from collections.abc import Mapping

from narration.document import Metadata
from narration.reading.ratings import parse_rating

# Genres that are nouns read well as "A drama."; others become "A horror story."
GENRE_NOUNS = {
    "drama", "comedy", "thriller", "romance", "western", "musical", "documentary", "mystery",
    "fantasy", "satire", "tragedy", "farce", "fable", "memoir", "novel", "biography", "biopic",
    "melodrama", "romcom", "adventure", "epic", "saga", "noir", "mockumentary", "parody",
}
# Genres that are uncountable: "A work of literary fiction."
GENRE_MASS_NOUNS = {"fiction", "nonfiction", "non-fiction", "poetry", "journalism", "history"}
MAX_CAST_SPOKEN = 3


def introduce(metadata: Metadata, details: Mapping[str, str] | None = None) -> str:
    """A natural spoken introduction with only the parts the metadata has; never field labels.

    `details` are extra facts from the title block (Document.extras["fields"]); the work's
    creator ("creator", e.g. a book's author) is used from them.
    """
    details = details or {}
    sentences = [
        _title_sentence(metadata.title, metadata.year),
        _credits_sentence(metadata.director, details.get("creator", ""), metadata.cast),
        _genre_sentence(metadata.genre),
        _as_sentence(metadata.tagline),
        _headline_sentence(metadata.headline, metadata.author, metadata.title),
        _rating_sentence(metadata.rating),
    ]
    return " ".join(sentence for sentence in sentences if sentence)


def _title_sentence(title: str, year: str) -> str:
    """ "Her, 2013." — or "Who Framed Roger Rabbit? From 1988." when the title ends a sentence."""
    if not title:
        return ""
    if not year:
        return _as_sentence(title)
    if title.rstrip("\"'”’").endswith(("?", "!", ".")):
        return f"{title} From {year}."
    return f"{title}, {year}."


def _credits_sentence(director: str, creator: str, cast: tuple[str, ...]) -> str:
    """ "Directed by A, with B and C." / "By A." / "With B." — whichever facts exist."""
    starring = _join(list(cast[:MAX_CAST_SPOKEN]))
    if director:
        lead = f"Directed by {director}"
    elif creator:
        lead = f"By {creator}"
    else:
        return f"With {starring}." if starring else ""
    return f"{lead}, with {starring}." if starring else f"{lead}."


def _genre_sentence(genre: str) -> str:
    """ "A drama." / "An action story." / "A work of literary fiction." / "A drama and romance."."""
    parts = [part.strip().lower() for part in genre.replace("/", ",").split(",") if part.strip()]
    if not parts:
        return ""
    phrase = _join(parts)
    if phrase.split()[-1] in GENRE_MASS_NOUNS:
        return f"A work of {phrase}."
    if phrase.split()[-1] not in GENRE_NOUNS:
        phrase += " story"
    article = "An" if phrase[0] in "aeiou" else "A"
    return f"{article} {phrase}."


def _headline_sentence(headline: str, author: str, title: str) -> str:
    """The review's headline, with its author when known: "Falling in love with AI, by Anna Berg." """
    if headline and headline.casefold() == title.casefold():
        headline = ""
    if headline and author:
        return _as_sentence(f"{headline.rstrip('.')}, by {author}")
    if author:
        return f"Written by {author}."
    return _as_sentence(headline)


def _rating_sentence(rating: str) -> str:
    """ "Rated three out of four stars." / "Graded B plus." / "Verdict: good." — said once, here."""
    parsed = (parse_rating(rating, labelled=True) or parse_rating(f"Verdict: {rating}")) if rating else None
    if parsed is None:
        return ""
    if parsed.grade:
        return f"Graded {parsed.spoken()}."
    if parsed.value is None:
        return f"Verdict: {parsed.spoken()}."
    return f"Rated {parsed.spoken()}."


def _as_sentence(text: str) -> str:
    """The text ending in sentence punctuation, so the engine gives it a sentence's cadence."""
    text = text.strip()
    return text if not text or text.rstrip("\"'”’)").endswith((".", "!", "?", "…")) else text + "."


def _join(items: list[str]) -> str:
    """ "A", "A and B", "A, B and C"."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]
