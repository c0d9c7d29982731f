"""Generated cover art is what podcast directories accept, whatever the title."""

import io

import numpy as np
import pytest
from PIL import Image

from narration.cover import render_cover

TITLES = [
    ("Her", "Falling in love with AI"),
    ("A title long enough that it cannot possibly fit on one line of a square cover, nor on "
     "two, and keeps going well past five lines at any reasonable size of type whatsoever", ""),
    ("Supercalifragilisticexpialidociousandthensomemorewithoutanyspaces", "no spaces"),
    ("Amélie 🎬🍿", "émoji ✨ and accents"),
    ("سينما باراديسو", "عنوان من اليمين إلى اليسار"),
    ("千と千尋の神隠し", ""),
    ("", ""),
]


@pytest.mark.parametrize("title, subtitle", TITLES)
def test_cover_is_a_square_rgb_png_apple_accepts(title, subtitle):
    data = render_cover(title, subtitle)
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    assert image.mode == "RGB"
    assert image.size == (1400, 1400)


@pytest.mark.parametrize("title, subtitle", TITLES[:3])
def test_text_stays_inside_the_margins(title, subtitle):
    """Long titles wrap or shrink instead of running off the right edge: every row of the right
    margin is plain background (one colour across the row)."""
    size = 1400
    pixels = np.asarray(Image.open(io.BytesIO(render_cover(title, subtitle, size=size))))
    right_margin = pixels[:, size - size // 10 + 2:, :]
    assert (right_margin == right_margin[:, :1, :]).all()


def test_a_long_title_uses_several_lines():
    """Rows with text (other than background) span more of the height for a long title."""
    def text_rows(title):
        pixels = np.asarray(Image.open(io.BytesIO(render_cover(title))), dtype=int)
        return int((np.abs(pixels - pixels[:, -1:, :]).sum(axis=2) > 60).any(axis=1).sum())

    assert text_rows(TITLES[1][0]) > 2 * text_rows("Her")
