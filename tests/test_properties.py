"""Property tests of reading, normalization, scripting and assembly on arbitrary text.

Hypothesis feeds every stage text no one would write on purpose (controls, right-to-left
marks, emoji, combining marks, 1,000-character tokens) and checks the promises the core makes:
only documented validation errors, only engine-safe characters, every sentence spoken exactly
once and within the engine's limit, and chapter and cue times that players can trust.
"""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from fakes import ToneEngine, fake_segment, make_speak
from narration.document import Chapter, Document, Metadata
from narration.errors import EmptyTextError, InvalidTextError, NothingSpeakableError
from narration.normalize import is_speakable, normalize
from narration.reading import decode_text, read_markdown, read_plain
from narration.join import place_segments
from narration.pipeline import plan_parts
from narration.render import Pauses, render_chapter
from narration.script import build_script

READER_ERRORS = (EmptyTextError, InvalidTextError, NothingSpeakableError)
"""What the readers may raise for text a user sent; anything else is a bug."""

# Fragments people paste (or attackers send) that plain random text rarely hits.
NASTY_FRAGMENTS = (
    "\x00", "\x07", "\x1b[31m", "\x7f", "\x85", "\r\n", "\r", "\u2028", "\u2029", "\ufeff",
    "\u200b", "\u200d", "\u00ad", "\u202e", "\u200f", "مرحبا بالعالم.", "שלום עולם!", "世界。",
    "😀", "👍🏽", "🇫🇷", "👨‍👩‍👧", "e\u0301", "\u0301\u0302", "Ｆｕｌｌｗｉｄｔｈ", "²³",
    "$1,250", "3½/5", "★★★☆☆", "Dr.", "e.g.", "...", "—", " - ", "#1", "&", "@", "<b>", "&amp;",
    "# Heading\n\n", "## Part\n\n", "- item\n", "1. item\n", "```\ncode\n```\n", "> quote\n",
    "| a | b |\n|---|---|\n| 1 | 2 |\n", "<script>x()</script>", "---\ntitle: T\n---\n",
    "\n\n", "\n", "  ", "\t", "x" * 1000, "Word " * 50,
)
any_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=200)
nasty_text = st.lists(st.one_of(any_text, st.sampled_from(NASTY_FRAGMENTS)), max_size=12).map("".join)

# Words that always have something to say, from several scripts, with attached punctuation.
LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZéüßжЖюαβγאבגعربي中文かな"
word = st.builds(
    lambda lead, core, tail: lead + core + tail,
    st.sampled_from(("", "\"", "(", "“", "¿")),
    st.text(st.sampled_from(LETTERS), min_size=1, max_size=14) | st.sampled_from(("x" * 300,)),
    st.sampled_from(("", ".", ",", ";", ":", "!", "?", "…", ")", "\"", ".”", "—")),
)
speakable_paragraph = st.lists(word, min_size=1, max_size=60).map(" ".join)
# Over 1,000 characters at times, so the chunking of long paragraphs before pysbd is exercised.
long_paragraph = st.lists(speakable_paragraph, min_size=1, max_size=12).map(" ".join)

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _document(chapters: list[tuple[str, list[str]]], introduction: str = "") -> Document:
    """A Document built directly, so scripting is tested without the readers' heuristics."""
    return Document(Metadata(), tuple(Chapter(title, tuple(paragraphs)) for title, paragraphs in chapters),
                    introduction=introduction)


def _said_in_order(document: Document) -> list[str]:
    """Everything a script must say, in order: introduction, then each title and its paragraphs."""
    said = [document.introduction]
    for chapter in document.chapters:
        said += [chapter.title, *chapter.paragraphs]
    return said


def _squeeze(text: str) -> str:
    """The text without any whitespace: splitting may cut inside a word or drop spaces."""
    return "".join(text.split())


def _letters(text: str) -> str:
    """Only the letters and digits of a text."""
    return "".join(char for char in text if char.isalnum())


# --- reading ------------------------------------------------------------------------------

@FAST
@given(nasty_text, st.sampled_from([read_plain, read_markdown]))
def test_readers_return_a_document_or_a_documented_error(text, reader):
    try:
        document = reader(text)
    except READER_ERRORS as error:
        assert error.message  # a user is always told what to do
        return
    assert document.chapters and all(chapter.paragraphs for chapter in document.chapters)
    stored = [document.introduction, *vars(document.metadata).values()]
    stored += [part for chapter in document.chapters for part in (chapter.title, *chapter.paragraphs)]
    for value in stored:
        if isinstance(value, str):
            assert not CONTROL.search(value), value  # never stored, tagged or spoken


@FAST
@given(st.binary(max_size=300) | nasty_text.map(lambda text: text.encode("utf-8")))
def test_decode_text_returns_clean_text_or_invalid_text(data):
    try:
        text = decode_text(data)
    except InvalidTextError as error:
        assert "UTF-8" in error.message
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")
        return
    assert not CONTROL.search(text) and "\r" not in text


# --- normalization ------------------------------------------------------------------------

def _engine_safe(char: str) -> bool:
    """What `normalize` promises engines: letters with their marks, digits, space, basic punctuation."""
    return char in ".,!?;:'\"()- " or unicodedata.category(char)[0] in "LM" or unicodedata.category(char) == "Nd"


@settings(max_examples=300, deadline=None)
@given(nasty_text)
def test_normalize_never_raises_is_deterministic_and_engine_safe(text):
    spoken = normalize(text)
    assert spoken == normalize(text)
    assert all(_engine_safe(char) for char in spoken), [c for c in spoken if not _engine_safe(c)]
    assert spoken == spoken.strip() and "  " not in spoken


# --- scripting ----------------------------------------------------------------------------

@pytest.mark.slow
@FAST
@given(st.lists(st.tuples(st.text(st.sampled_from(LETTERS + " "), max_size=30),
                          st.lists(long_paragraph, min_size=1, max_size=4)),
                min_size=1, max_size=4),
       st.integers(min_value=20, max_value=400))
def test_every_sentence_is_spoken_exactly_once_within_the_limit(chapters, max_chars):
    document = _document(chapters)
    scripts = build_script(document, max_chars=max_chars)
    utterances = [u for script in scripts for u in script.utterances]
    assert all(len(u.spoken) <= max_chars for u in utterances)
    # Every letter is said once, in order; only punctuation may fall away (a lone "." left
    # after cutting an over-long word has nothing to say).
    assert _letters("".join(u.text for u in utterances)) == _letters("".join(_said_in_order(document)))


@FAST
@given(st.lists(st.tuples(nasty_text, st.lists(nasty_text, min_size=1, max_size=3)),
                min_size=1, max_size=3),
       nasty_text, st.integers(min_value=20, max_value=400))
def test_only_unspeakable_pieces_are_dropped(chapters, introduction, max_chars):
    document = _document(chapters, introduction)
    try:
        scripts = build_script(document, max_chars=max_chars)
    except NothingSpeakableError:
        assert not any(is_speakable(normalize(part)) for part in _said_in_order(document))
        return
    utterances = [u for script in scripts for u in script.utterances]
    assert all(len(u.spoken) <= max_chars for u in utterances)
    assert all(is_speakable(u.spoken) for u in utterances)
    # Each utterance is the next stretch of the source; what lies between them had nothing to say.
    source, cursor = _squeeze("\n".join(_said_in_order(document))), 0
    for utterance in utterances:
        found = source.find(_squeeze(utterance.text), cursor)
        assert found >= 0, (utterance.text, source[cursor:cursor + 80])
        assert not is_speakable(normalize(source[cursor:found])), source[cursor:found]
        cursor = found + len(_squeeze(utterance.text))
    assert not is_speakable(normalize(source[cursor:])), source[cursor:]


# --- rendering and assembly ---------------------------------------------------------------

ENGINE = ToneEngine(sample_rate=8000, seconds_per_word=0.02)
QUICK = Pauses(sentence=0.05, paragraph=0.1, title=0.1, lead_in=0.2, chapter=0.15, fade=0.002)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.text(st.sampled_from(LETTERS + " "), max_size=20),
                          st.lists(speakable_paragraph | nasty_text, min_size=1, max_size=3)),
                min_size=1, max_size=5))
def test_chapter_marks_and_cues_are_increasing_and_inside_the_audio(chapters):
    document = _document(chapters)
    try:
        scripts = build_script(document, max_chars=ENGINE.max_chars)
    except NothingSpeakableError:
        assume(False)
    # Small parts, so long chapters come in several.
    segments = [fake_segment(render_chapter(part.script, make_speak(ENGINE), pauses=QUICK),
                             chapter=part.chapter, lead=part.lead)
                for part in plan_parts(scripts, pauses=QUICK, max_chars=60)]
    episode = place_segments(segments)
    duration = episode.duration
    marks = episode.chapters
    assert marks[0].start == 0 and marks[-1].end == pytest.approx(duration)
    assert all(a.start < b.start and a.end == b.start for a, b in zip(marks, marks[1:]))
    assert all(0 <= mark.start < mark.end <= duration for mark in marks)
    cues = iter(episode.cues)
    previous_end = 0.0
    for mark, script in zip(marks, scripts, strict=True):
        for _ in script.utterances:
            cue = next(cues)
            assert previous_end <= cue.start < cue.end, (previous_end, cue)
            assert mark.start <= cue.start and cue.end <= mark.end + 1e-9, (mark, cue)
            previous_end = cue.end
    assert next(cues, None) is None  # one cue per utterance, none left over
