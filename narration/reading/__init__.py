"""Reading texts (plain, Markdown, structured chapters) into a `narration.document.Document`."""

from narration.reading.decoding import clean_text, decode_text
from narration.reading.introduction import introduce
from narration.reading.markdown import read_markdown
from narration.reading.plain import read_plain
from narration.reading.structured import read_chapters

__all__ = ["clean_text", "decode_text", "introduce", "read_chapters", "read_markdown", "read_plain"]
