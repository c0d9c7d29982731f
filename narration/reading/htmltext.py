"""Raw HTML found inside Markdown → plain paragraphs, with tags dropped and scripts skipped.

Parsed with lxml's HTML parser (libxml2), not the standard library's html.parser: html.parser
takes quadratic time on some malformed input ("<a <a <a …", unclosed "</"), which let one
request hold a process for minutes. libxml2 is linear, recovers from any breakage, never fetches
anything and does not expand entities declared in a DTD. The tree is walked without recursion,
so 50,000 nested tags cost no stack.
"""

from __future__ import annotations

from lxml import etree

from narration.reading.paragraphs import collapse_spaces

# Content never narrated: code, styling, embedded objects.
SKIPPED_TAGS = {"script", "style", "template", "noscript", "iframe", "object", "svg", "math", "pre", "head", "select"}
BLOCK_TAGS = {
    "p", "div", "br", "li", "blockquote", "tr", "section", "article", "header", "footer", "aside",
    "ul", "ol", "table", "hr", "dd", "dt", "dl", "figure", "figcaption", "main", "nav", "td", "th",
}
HEADING_TAGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}


class _TextCollector:
    """Collects text runs, breaking at block tags and recording headings and image alt texts."""

    def __init__(self) -> None:
        self.items: list[tuple[str, int, str]] = []
        self._current: list[str] = []
        self._skip_depth = 0
        self._heading_level = 0

    def start(self, element: etree._Element) -> None:
        """Open a skipped region, break a paragraph, or note an image; then keep the element's text."""
        tag = element.tag if isinstance(element.tag, str) else ""
        if tag in SKIPPED_TAGS:
            self._skip_depth += 1
        elif tag in HEADING_TAGS:
            self._flush()
            self._heading_level = HEADING_TAGS[tag]
        elif tag in BLOCK_TAGS:
            self._flush()
        elif tag == "img" and not self._skip_depth:
            alt = collapse_spaces(element.get("alt") or "")
            if alt:
                self._flush()
                self.items.append(("image", 0, alt))
        if tag and element.text and not self._skip_depth:
            self._current.append(element.text)

    def end(self, element: etree._Element) -> None:
        """Close a skipped region or end a paragraph or heading; then keep the text after the element."""
        tag = element.tag if isinstance(element.tag, str) else ""
        if tag in SKIPPED_TAGS:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in HEADING_TAGS or tag in BLOCK_TAGS:
            self._flush()
        if element.tail and not self._skip_depth:
            self._current.append(element.tail)

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
    if not html.strip():
        return []
    parser = etree.HTMLParser(recover=True, no_network=True, remove_comments=True, remove_pis=True)
    root = etree.fromstring(f"<body>{html}</body>", parser)
    if root is None:
        return []
    collector = _TextCollector()
    for event, element in etree.iterwalk(root, events=("start", "end")):
        (collector.start if event == "start" else collector.end)(element)
    collector._flush()
    return collector.items
