"""Turn uploaded bytes into clean text: UTF-8 only, one newline style, no invisible controls."""

from __future__ import annotations

import re

from narration.errors import InvalidTextError

UTF8_BOM = b"\xef\xbb\xbf"

# C0/C1 controls except tab and newline, plus invisible marks that only break words apart
# (zero-width space, soft hyphen, stray byte-order marks), plus lone surrogates (JSON "\ud800"
# escapes decode to them, and no UTF-8 text, database column or file can hold them).
# Typographic characters are kept.
_INVISIBLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u200b\ufeff\ud800-\udfff]")


def decode_text(data: bytes) -> str:
    """Decode an upload as UTF-8 so readers get clean text, or say exactly where it is broken."""
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM):]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        bad = data[error.start:error.start + 1].hex()
        raise InvalidTextError(
            f"The text is not valid UTF-8: byte 0x{bad} at offset {error.start} cannot be read. "
            "Save the file as UTF-8 and upload it again."
        ) from None
    return clean_text(text)


def clean_text(text: str) -> str:
    """Normalize newlines and drop control characters, so every reader sees the same shapes."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u2028", "\n").replace("\u2029", "\n\n")
    return _INVISIBLE.sub("", text)
