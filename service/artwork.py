"""Feed artwork: check an upload against what podcast apps accept, or draw a cover.

Apple asks for a square RGB JPEG or PNG of 1400–3000 px. An upload that is square and in range is
stored as sent when it already is RGB JPEG/PNG, else re-encoded as RGB PNG (a palette or alpha
channel is what most often gets artwork refused). Feeds without an upload get a cover drawn from
their title, cached in the media store under a name that changes with the title.
"""

from __future__ import annotations

import hashlib
import io

from PIL import Image, UnidentifiedImageError

from narration.cover import render_cover
from narration.errors import NarrationError
from state.media import MediaStore, feed_key
from state.models import Feed

MIN_SIDE, MAX_SIDE = 1400, 3000
MAX_UPLOAD_BYTES = 8 << 20
COVER_SIDE = 1400
TYPES = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png")}
EXTENSIONS = {content_type: extension for content_type, extension in TYPES.values()}
COVER_VERSION = "1"
"""Bump when render_cover changes look, so cached covers are drawn again."""


class InvalidArtworkError(NarrationError):
    code = "invalid_artwork"


class ArtworkTooLargeError(NarrationError):
    code = "artwork_too_large"
    status = 413


def checked_artwork(data: bytes) -> tuple[bytes, str]:
    """(image bytes to store, MIME type) for an upload, or a 413/422 that says what to change.

    Pillow's `open` reads only the header: the format and the dimensions are checked there, so
    a small file that declares a huge image (a decompression bomb) is refused before a pixel is
    decoded, and only the JPEG and PNG decoders ever run on an upload. Decoders fill exactly
    the size the header declares, so the check bounds the decoded pixels to MAX_SIDE².
    """
    try:
        with Image.open(io.BytesIO(data), formats=tuple(TYPES)) as image:
            width, height = image.size
            if width > MAX_SIDE or height > MAX_SIDE:
                raise ArtworkTooLargeError(
                    f"Artwork may be at most {MAX_SIDE}×{MAX_SIDE} px; this one is "
                    f"{width}×{height}.", field="body")
            if width != height or not MIN_SIDE <= width:
                raise InvalidArtworkError(
                    f"Artwork must be square, {MIN_SIDE}–{MAX_SIDE} px on a side; this one is "
                    f"{width}×{height}.", field="body")
            kind = image.format
            image.load()  # decodes at most MAX_SIDE² pixels; a truncated file fails here
            if image.mode == "RGB":
                return data, TYPES[kind][0]
            buffer = io.BytesIO()
            image.convert("RGB").save(buffer, "PNG", optimize=True)
            return buffer.getvalue(), "image/png"
    except UnidentifiedImageError:
        raise InvalidArtworkError(
            f"Artwork must be a JPEG or PNG image ({describe(data)}).", field="body") from None
    except (OSError, Image.DecompressionBombError, SyntaxError, ValueError) as error:
        raise InvalidArtworkError(f"The body is not a readable JPEG or PNG image ({error}).",
                                  field="body") from None


def describe(data: bytes) -> str:
    """What an unreadable upload looks like, by its magic bytes, for the error message."""
    for magic, name in ((b"GIF8", "a GIF"), (b"RIFF", "a WebP or another RIFF file"),
                        (b"BM", "a BMP"), (b"II*\0", "a TIFF"), (b"MM\0*", "a TIFF")):
        if data.startswith(magic):
            return f"this is {name}"
    return "this is not a readable JPEG or PNG"


def artwork_key(feed: Feed) -> str:
    """Where the feed's current artwork lives (uploaded, or the drawn cover)."""
    if feed.artwork_type:
        return feed_key(feed.id, f"artwork.{EXTENSIONS[feed.artwork_type]}")
    seed = f"{COVER_VERSION}\n{feed.title}\n{feed.author}".encode("utf-8")
    return feed_key(feed.id, f"cover-{hashlib.blake2b(seed, digest_size=8).hexdigest()}.png")


def artwork_extension(feed: Feed) -> str:
    """The file extension of the feed's artwork URL (podcast apps like a telling one)."""
    return EXTENSIONS[feed.artwork_type] if feed.artwork_type else "png"


def ensure_artwork(media: MediaStore, feed: Feed) -> tuple[str, str]:
    """(media key, MIME type) of the feed's artwork, drawing the cover first when it is missing."""
    key = artwork_key(feed)
    if feed.artwork_type:
        return key, feed.artwork_type
    if media.stat(key) is None:
        media.put_bytes(key, render_cover(feed.title, feed.author, size=COVER_SIDE), "image/png")
    return key, "image/png"


def store_artwork(media: MediaStore, feed: Feed, data: bytes, content_type: str) -> None:
    """Put an uploaded image where `artwork_key` will find it once the feed records its type."""
    media.put_bytes(feed_key(feed.id, f"artwork.{EXTENSIONS[content_type]}"), data, content_type)
