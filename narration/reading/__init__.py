"""Reading texts (plain, Markdown, structured chapters, HTML pages, links) into a `narration.document.Document`.

`read_source` is the one entry point for every kind of input a narration can start from; the
readers behind it are importable on their own too.
"""

from __future__ import annotations

import codecs
import dataclasses

from narration.document import Document
from narration.errors import InvalidTextError
from narration.fetch import Fetched, fetch_url
from narration.reading.decoding import clean_text, decode_text
from narration.reading.html import read_html
from narration.reading.introduction import introduce
from narration.reading.markdown import read_markdown
from narration.reading.plain import read_plain
from narration.reading.structured import read_chapters

KINDS = ("text", "markdown", "chapters", "html")


def read_source(kind: str, payload, *, title: str = "", author: str = "", url: str | None = None) -> Document:
    """Read one narration's input, whatever its kind.

    kind: "text" (plain text), "markdown", "chapters" (a list of {"title", "text"}) or "html".
    payload: str, or bytes (text and Markdown must then be UTF-8; HTML may name its own charset);
    a list for "chapters". title/author override what the text says; url is kept as
    Metadata.url (the page a fetched text came from). Raises NarrationError subclasses.
    """
    if kind == "chapters":
        document = read_chapters(payload, title=title, author=author)
    elif kind == "html":
        document = read_html(payload, url=url, title=title, author=author)
    elif kind in ("text", "markdown"):
        text = decode_text(payload) if isinstance(payload, (bytes, bytearray)) else payload
        if not isinstance(text, str):
            raise InvalidTextError(f"{kind} must be a string.", field=kind)
        reader = read_markdown if kind == "markdown" else read_plain
        document = reader(text, title=title, author=author)
    else:
        raise ValueError(f"unknown source kind {kind!r}; expected one of {', '.join(KINDS)}")
    if url and not document.metadata.url:
        document = dataclasses.replace(document, metadata=dataclasses.replace(document.metadata, url=url))
    return document


def read_fetched(fetched: Fetched, *, title: str = "", author: str = "") -> Document:
    """Read a fetched page with the reader for its content type, decoding by the charset it was sent with."""
    payload: str | bytes = fetched.body
    if fetched.charset and _known_charset(fetched.charset):
        payload = clean_text(fetched.body.decode(fetched.charset, errors="replace"))
    return read_source(fetched.kind, payload, title=title, author=author, url=fetched.url)


def read_url(url: str, *, allowed_networks=(), max_bytes: int, timeout: float = 20.0,
             title: str = "", author: str = "") -> Document:
    """Fetch a link safely (narration.fetch.fetch_url) and read it; the plan task's one call for links."""
    fetched = fetch_url(url, allowed_networks=allowed_networks, max_bytes=max_bytes, timeout=timeout)
    return read_fetched(fetched, title=title, author=author)


def _known_charset(name: str) -> bool:
    """Whether Python can decode this charset name (a server may send nonsense)."""
    try:
        codecs.lookup(name)
    except LookupError:
        return False
    return True


__all__ = ["KINDS", "clean_text", "decode_text", "introduce", "read_chapters", "read_fetched", "read_html",
           "read_markdown", "read_plain", "read_source", "read_url"]
