"""Chapters given by an API caller as data → Document, with errors that name the bad field."""

from __future__ import annotations

from narration.document import Chapter, Document
from narration.errors import EmptyTextError, InvalidTextError
from narration.reading.chapters import build_document, check_chapter_count
from narration.reading.decoding import clean_text
from narration.reading.paragraphs import collapse_spaces, join_lines, split_blocks

CHAPTER_KEYS = {"title", "text"}
MAX_CHAPTER_TITLE = 200


def read_chapters(chapters: list[dict], *, title: str = "", author: str = "") -> Document:
    """Read chapters given as [{"title": str, "text": str}, …]; paragraphs are split at blank lines."""
    read = tuple(Chapter(chapter["title"], tuple(join_lines(block) for block in
                                                 split_blocks(chapter["text"].split("\n"))))
                 for chapter in checked_chapters(chapters))
    return build_document(read, [], title=title, author=author, source="chapters")


def checked_chapters(chapters: object) -> list[dict]:
    """The chapters' structure checked and their text cleaned, without reading it: cheap enough
    for a web request, so a malformed list is refused at once."""
    if not isinstance(chapters, list):
        raise InvalidTextError(
            'chapters must be a list of {"title": …, "text": …} objects.', field="chapters"
        )
    if not chapters:
        raise EmptyTextError("chapters is empty. Send at least one chapter with text.", field="chapters")
    check_chapter_count(len(chapters), field="chapters")  # before reading each one, so refusal is cheap
    return [_checked_chapter(chapter, f"chapters[{index}]") for index, chapter in enumerate(chapters)]


def _checked_chapter(chapter: object, where: str) -> dict:
    """One validated chapter, cleaned; `where` names it in errors ("chapters[3]")."""
    if not isinstance(chapter, dict):
        raise InvalidTextError(f'{where} must be an object with "title" and "text".', field=where)
    unknown = sorted(str(key) for key in chapter if key not in CHAPTER_KEYS)
    if unknown:
        raise InvalidTextError(
            f'{where} has unknown field(s) {", ".join(unknown)}; only "title" and "text" are read.',
            field=f"{where}.{unknown[0]}",
        )
    title = chapter.get("title", "")
    if title is None:
        title = ""
    if not isinstance(title, str):
        raise InvalidTextError(f"{where}.title must be a string.", field=f"{where}.title")
    title = collapse_spaces(clean_text(title))
    if len(title) > MAX_CHAPTER_TITLE:
        raise InvalidTextError(
            f"{where}.title is {len(title)} characters long; keep it under {MAX_CHAPTER_TITLE}.",
            field=f"{where}.title",
        )
    if "text" not in chapter:
        raise InvalidTextError(f"{where}.text is missing; give the chapter's text.", field=f"{where}.text")
    text = chapter["text"]
    if not isinstance(text, str):
        raise InvalidTextError(f"{where}.text must be a string.", field=f"{where}.text")
    text = clean_text(text)
    if not text.strip():
        raise EmptyTextError(f"{where}.text is empty. Give the chapter some text or remove it.", field=f"{where}.text")
    return {"title": title, "text": text}
