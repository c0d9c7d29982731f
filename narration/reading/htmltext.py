"""Raw HTML found inside Markdown → plain paragraphs, with tags dropped and scripts skipped.

The stdlib html.parser is used on purpose: it never fetches entities or external resources
(an XML parser could), and it tolerates the broken HTML people paste.
"""

from __future__ import annotations

from html.parser import HTMLParser

from narration.reading.paragraphs import collapse_spaces

# Content never narrated: code, styling, embedded objects.
SKIPPED_TAGS = {"script", "style", "template", "noscript", "iframe", "object", "svg", "math", "pre", "head", "select"}
BLOCK_TAGS = {
    "p", "div", "br", "li", "blockquote", "tr", "section", "article", "header", "footer", "aside",
    "ul", "ol", "table", "hr", "dd", "dt", "dl", "figure", "figcaption", "main", "nav", "td", "th",
}
HEADING_TAGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}


class _TextCollector(HTMLParser):
    """Collects text runs, breaking at block tags and recording headings and image alt texts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.items: list[tuple[str, int, str]] = []
        self._current: list[str] = []
        self._skip_depth = 0
        self._heading_level = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Open a skipped region, break a paragraph, or note an image."""
        if tag in SKIPPED_TAGS:
            self._skip_depth += 1
        elif tag in HEADING_TAGS:
            self._flush()
            self._heading_level = HEADING_TAGS[tag]
        elif tag in BLOCK_TAGS:
            self._flush()
        elif tag == "img" and not self._skip_depth:
            alt = collapse_spaces(dict(attrs).get("alt") or "")
            if alt:
                self._flush()
                self.items.append(("image", 0, alt))

    def handle_endtag(self, tag: str) -> None:
        """Close a skipped region or end a paragraph or heading."""
        if tag in SKIPPED_TAGS:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in HEADING_TAGS or tag in BLOCK_TAGS:
            self._flush()

    def handle_data(self, data: str) -> None:
        """Keep visible text only."""
        if not self._skip_depth:
            self._current.append(data)

    def _flush(self) -> None:
        """End the current run of text as a paragraph (or heading)."""
        text = collapse_spaces("".join(self._current))
        if text:
            kind = "heading" if self._heading_level else "paragraph"
            self.items.append((kind, self._heading_level, text))
        self._current = []
        self._heading_level = 0


def html_items(html: str) -> list[tuple[str, int, str]]:
    """(kind, heading level, text) items of an HTML fragment; kind is paragraph, heading or image."""
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    collector._flush()
    return collector.items


def strip_tags(html: str) -> str:
    """The visible text of an inline HTML fragment."""
    return " ".join(text for _, _, text in html_items(html))
