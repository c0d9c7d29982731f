"""`narrator narrate FILE`: read, pick the voice, narrate with a progress bar, report."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import voices
from cli.progress import ProgressBar
from narration.cache import SentenceCache
from narration.engine import engine_for
from narration.errors import InvalidTextError
from narration.lexicon import merge_lexicons, read_lexicon_files, service_lexicon
from narration.names import find_names
from narration.pipeline import check_speed, narrate
from narration.segment_cache import SegmentCache
from narration.reading import read_source
from narration.script import build_script
from narration.settings import load_settings

MARKDOWN_SUFFIXES = {".md", ".markdown", ".mdown"}
HTML_SUFFIXES = {".html", ".htm", ".xhtml"}
_HTML_START = re.compile(rb"\s*(<!--.*?-->\s*)*<(!doctype\s+html|html[\s>]|head[\s>]|body[\s>])", re.IGNORECASE | re.DOTALL)
NAMES_SHOWN = 20


def run(args) -> int:
    settings = load_settings()
    check_speed(args.speed)
    document = _read(args)
    output = args.output or _default_output(args.input)
    cover = _read_cover(args.cover) if args.cover else None
    lexicon = merge_lexicons([service_lexicon(settings), read_lexicon_files(args.lexicon)])
    catalogue = voices.load_catalogue()
    voice = catalogue.find(args.voice)
    quote_voice = catalogue.find(args.quote_voice, field="quote_voice") if args.quote_voice else None
    engine = voices.load_voices(voice, quote_voice)
    names = find_names(build_script(document, max_chars=engine.max_chars), lexicon=lexicon,
                       guessed=getattr(engine_for(engine, "narrator"), "guessed_words", None))
    cache = segments = None
    if not args.no_cache and settings.cache_size > 0:
        cache = SentenceCache(settings.sentence_cache_dir, settings.cache_size)
        # Segments are MP3 at about a quarter of the bytes of the 16-bit sentences they hold,
        # so a quarter of the bound keeps the segments of the narrations the sentences serve.
        segments = SegmentCache.beside(settings.sentence_cache_dir, settings.cache_size // 4)
    checker = _checker(engine, args.speed, names) if args.check else None
    with ProgressBar(enabled=sys.stderr.isatty()) as bar:
        files = narrate(document, engine, output, speed=args.speed, cache=cache, cover=cover,
                        bitrate=settings.bitrate, on_progress=bar.update, segments=segments,
                        lexicon=lexicon, after_part=checker)
    print(f"wrote {files.mp3} ({files.duration:.0f} s), {files.chapters_json.name}, "
          f"{files.vtt.name}")
    _print_names(names)
    if checker:
        _write_check(checker, names, files)
    return 0


def _checker(engine, speed: float, names):
    """The recognition check, loaded before narrating so a missing model fails at once."""
    from narration.check import EpisodeCheck, make_retake
    from voices.recognizer import load_recognizer

    return EpisodeCheck(load_recognizer(), make_retake(engine, speed),
                        names=[name.word for name in names.names])


def _write_check(checker, names, files) -> None:
    """NAME.check.json beside the MP3, and one line about it."""
    from narration.check import summary
    from narration.files import atomic_write_text
    from voices.recognizer import PROVENANCE

    report = checker.report(names=names.to_dict(), model=PROVENANCE, cues=files.cues)
    path = files.mp3.with_suffix(".check.json")
    atomic_write_text(path, json.dumps(report, ensure_ascii=False, indent=2))
    print(f"{summary(report)} ({path.name})")


def _print_names(report) -> None:
    """The names check in two lines: the count, then the names no lexicon covers."""
    print(report.summary())
    missing = [name.word for name in report.missing]
    if missing:
        shown = ", ".join(missing[:NAMES_SHOWN]) + (", …" if len(missing) > NAMES_SHOWN else "")
        print(f"not in your lexicon: {shown}")


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
