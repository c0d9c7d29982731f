"""Cover art for an episode when the user brings none: the title in large type on a gradient."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFont

TOP_COLOUR = (28, 36, 64)
BOTTOM_COLOUR = (94, 52, 74)
TEXT_COLOUR = (250, 246, 238)
MUTED_COLOUR = (214, 198, 190)
ACCENT_COLOUR = (232, 168, 124)
MAX_TITLE_LINES = 5
MAX_SUBTITLE_LINES = 3
BRAND = "narrator"


def render_cover(title: str, subtitle: str = "", size: int = 1400) -> bytes:
    """A square RGB PNG (Apple wants 1400–3000 px) with the title wrapped to fit.

    Uses Pillow's bundled font so it looks the same on every machine without system fonts.
    Characters the font lacks (emoji, some scripts) come out as boxes rather than failing.
    """
    image = _gradient(size)
    draw = ImageDraw.Draw(image)
    margin = size // 10
    width = size - 2 * margin

    title_font, title_lines = _fit(draw, title.strip() or BRAND, width, size // 9, size // 22,
                                   MAX_TITLE_LINES)
    subtitle_font = ImageFont.load_default(size=max(12, size // 26))
    subtitle_lines = _wrap(draw, subtitle.strip(), subtitle_font, width)[:MAX_SUBTITLE_LINES]

    y = margin + size // 8
    draw.rectangle([margin, y - size // 22, margin + size // 9, y - size // 22 + size // 140],
                   fill=ACCENT_COLOUR)
    for line in title_lines:
        draw.text((margin, y), line, font=title_font, fill=TEXT_COLOUR)
        y += round(title_font.size * 1.18)
    y += size // 40
    for line in subtitle_lines:
        draw.text((margin, y), line, font=subtitle_font, fill=MUTED_COLOUR)
        y += round(subtitle_font.size * 1.3)

    brand_font = ImageFont.load_default(size=max(10, size // 36))
    draw.text((margin, size - margin), BRAND, font=brand_font, fill=ACCENT_COLOUR, anchor="ls")

    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _gradient(size: int) -> Image.Image:
    """A vertical two-colour gradient, calm enough for white type at thumbnail size."""
    t = np.linspace(0.0, 1.0, size)[:, None, None]
    rows = (1 - t) * np.array(TOP_COLOUR) + t * np.array(BOTTOM_COLOUR)
    pixels = np.broadcast_to(rows, (size, size, 3)).round().astype(np.uint8)
    return Image.fromarray(np.ascontiguousarray(pixels), mode="RGB")


def _fit(draw: ImageDraw.ImageDraw, text: str, width: int, largest: int, smallest: int,
         max_lines: int) -> tuple[ImageFont.FreeTypeFont, list[str]]:
    """The largest font size at which `text` wraps into `max_lines`; cut with … if none does."""
    size = largest
    while True:
        font = ImageFont.load_default(size=size)
        lines = _wrap(draw, text, font, width)
        if len(lines) <= max_lines or size <= smallest:
            break
        size = max(smallest, int(size * 0.88))
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = _shorten(draw, lines[-1], font, width)
    return font, lines


def _wrap(draw: ImageDraw.ImageDraw, text: str, font, width: int) -> list[str]:
    """Greedy word wrap by measured width; words wider than a line are broken by character.

    Written by hand because textwrap counts characters, not pixels.
    """
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if draw.textlength(candidate, font=font) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        line = ""
        for char in word:
            if line and draw.textlength(line + char, font=font) > width:
                lines.append(line)
                line = ""
            line += char
    if line:
        lines.append(line)
    return lines


def _shorten(draw: ImageDraw.ImageDraw, line: str, font, width: int) -> str:
    """The line with an ellipsis, trimmed until it fits."""
    while line and draw.textlength(line + "…", font=font) > width:
        line = line[:-1]
    return line.rstrip() + "…"
