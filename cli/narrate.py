"""`narrator narrate FILE`: read, pick the voice, narrate with a progress bar, report."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import voices
from cli.progress import ProgressBar
from narration.cache import SentenceCache
from narration.errors import InvalidTextError
from narration.pipeline import check_speed, narrate
from narration.reading import read_source
from narration.settings import load_settings

MARKDOWN_SUFFIXES = {".md", ".markdown", ".mdown"}
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
_HTML_START = re.compile(rb"\s*(<!--.*?-->\s*)*<(!doctype\s+html|html[\s>]|head[\s>]|body[\s>])", re.IGNORECASE | re.DOTALL)


def run(args) -> int:
    settings = load_settings()
    check_speed(args.speed)
    document = _read(args)
    output = args.output or _default_output(args.input)
    cover = _read_cover(args.cover) if args.cover else None
    voice = voices.load_catalogue().find(args.voice)
    engine = voices.load_engine(voice)
    cache = None
    if not args.no_cache and settings.cache_size > 0:
        cache = SentenceCache(settings.sentence_cache_dir, settings.cache_size)
    with ProgressBar(enabled=sys.stderr.isatty()) as bar:
        files = narrate(document, engine, output, speed=args.speed, cache=cache, cover=cover,
                        bitrate=settings.bitrate, on_progress=bar.update)
    print(f"wrote {files.mp3} ({files.duration:.0f} s), {files.chapters_json.name}, "
          f"{files.vtt.name}")
    return 0


def _read(args):
    """Read the input as plain text, Markdown or an HTML page (by --format, else suffix, else content)."""
    if args.input == "-":
        data, name = sys.stdin.buffer.read(), "stdin"
    else:
        path = Path(args.input)
        try:
            data, name = path.read_bytes(), path.name
        except OSError as error:
            raise InvalidTextError(
                f"cannot read {args.input}: {error.strerror}; check the path and permissions."
            ) from None
    kind = _kind(args.format, Path(name).suffix.lower(), data)
    return read_source(kind, data, title=args.title, author=args.author)


def _kind(format_option: str, suffix: str, data: bytes) -> str:
    """The reader for the input: the --format given, else the file's suffix, else a look at its start."""
    if format_option in ("markdown", "html"):
        return format_option
    if format_option == "plain":
        return "text"
    if suffix in MARKDOWN_SUFFIXES:
        return "markdown"
    if suffix in HTML_SUFFIXES or _HTML_START.match(data[:1024]):
        return "html"
    return "text"


def _default_output(input_name: str) -> Path:
    if input_name == "-":
        return Path("narration.mp3")
    return Path(input_name).with_suffix(".mp3")


def _read_cover(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise InvalidTextError(f"cannot read cover {path}: {error.strerror}.") from None
