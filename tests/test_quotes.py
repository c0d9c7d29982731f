"""Quotes in a second voice: which words are quotations, how they travel from the reader to the
transcript, and that the second voice is as loud as the first in a real rendering."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import webvtt

from narration.audio import Audio
from narration.cache import SentenceCache
from narration.document import Chapter, document_from_dict, document_to_dict
from narration.engine import Cast
from narration.loudness import integrated_loudness
from narration.pipeline import (Part, make_speaker, narrate, part_from_dict, part_key,
                                part_to_dict, render_part)
from narration.quotes import MIN_WORDS, quoted_spans, split_quotes
from narration.reading import read_source
from narration.render import Pauses
from narration.script import ChapterScript, Pause, Role, Utterance, build_script
from narration.segment import segment_from_json
from narration.sidecars import webvtt as write_webvtt
from narration.timeline import Cue
from tests.fakes import ToneEngine

Q, N = True, False


@pytest.mark.parametrize("paragraph, runs", [
    # A line of dialogue inside a sentence: cut where the quotation starts and ends.
    ("As Samantha says, “The past is just a story we tell ourselves,” and it stings.",
     [("As Samantha says,", N), ("“The past is just a story we tell ourselves,”", Q),
      ("and it stings.", N)]),
    # Scare quotes and short titles stay with the narrator.
    ("Critics called it a “masterpiece” and moved on.",
     [("Critics called it a “masterpiece” and moved on.", N)]),
    ('The so-called "director\'s cut" runs long.', [('The so-called "director\'s cut" runs long.', N)]),
    # A short quotation that is a sentence of its own is a quotation.
    ("“Go.” He left the room.", [("“Go.”", Q), ("He left the room.", N)]),
    ("Theodore: “I know.”", [("Theodore:", N), ("“I know.”", Q)]),
    # …but a short one with a dialogue tag is not.
    ("“Go,” he said.", [("“Go,” he said.", N)]),
    # A whole paragraph in quotation marks, several sentences long.
    ("“I love you. I really do.”", [("“I love you. I really do.”", Q)]),
    # Straight quotes; an inch mark is no quotation mark.
    ('He wrote: "I have never seen anything like it in my life."',
     [("He wrote:", N), ('"I have never seen anything like it in my life."', Q)]),
    ('A 12" record, and "we will be fine here soon," she sang.',
     [('A 12" record, and', N), ('"we will be fine here soon,"', Q), ("she sang.", N)]),
    # Nested: the outermost marks make the quotation; inner ones belong to it.
    ("Le critique écrit : « Il a dit “non” et puis il est parti sans un mot. » Voilà.",
     [("Le critique écrit :", N), ("« Il a dit “non” et puis il est parti sans un mot. »", Q),
      ("Voilà.", N)]),
    ("She said “the line ‘we are only here briefly’ haunts the whole film” and left.",
     [("She said", N), ("“the line ‘we are only here briefly’ haunts the whole film”", Q),
      ("and left.", N)]),
    # German „…“ and Swedish ”…”.
    ("„Das ist ein sehr schöner Film“, sagte sie.",
     [("„Das ist ein sehr schöner Film“,", Q), ("sagte sie.", N)]),
    ("Hon sa ”det här är en mycket fin film” och gick.",
     [("Hon sa", N), ("”det här är en mycket fin film”", Q), ("och gick.", N)]),
    # Unbalanced: an opening mark that never closes opens nothing.
    ("She said “this never closes and goes on for a while",
     [("She said “this never closes and goes on for a while", N)]),
    # A quotation ends at the first mark that closes its kind (nesting uses another kind).
    ("Two openings “one and “two three four five six”.",
     [("Two openings", N), ("“one and “two three four five six”.", Q)]),
    ("A closing mark alone” changes nothing here at all.",
     [("A closing mark alone” changes nothing here at all.", N)]),
    # Apostrophes are never quotation marks.
    ("It's the film's 'rock and roll never dies here' moment.",
     [("It's the film's 'rock and roll never dies here' moment.", N)]),
])
def test_quotations_are_found_by_their_marks_and_length(paragraph, runs):
    assert split_quotes(paragraph) == runs
    # Nothing is lost or reordered: the runs hold the paragraph's words in order.
    assert " ".join(text for text, _ in runs).split() == paragraph.split()


@pytest.mark.parametrize("text", ["“a " * 200_000, '"a ' * 200_000, "”a " * 200_000,
                                  "«b " * 200_000 + "»", "a “b c d e” " * 50_000])
def test_finding_quotations_takes_linear_time_whatever_the_marks(text):
    import time

    started = time.perf_counter()
    runs = split_quotes(text)
    # 600,000 characters: well under a second here; a search per mark would take hours.
    assert time.perf_counter() - started < 15
    assert " ".join(run for run, _ in runs).split() == text.split()


def test_a_quotation_reaches_the_second_voice_at_min_words():
    short = "She called it " + "“" + " ".join(["word"] * (MIN_WORDS - 1)) + "” today."
    long = "She called it " + "“" + " ".join(["word"] * MIN_WORDS) + "” today."
    assert all(not quoted for _, quoted in split_quotes(short))
    assert [quoted for _, quoted in split_quotes(long)] == [N, Q, N]
    assert quoted_spans(short) and quoted_spans(long)  # both are quotations; one is long enough


MARKDOWN = """# Her

The film opens quietly.

> The past is just a story we tell ourselves.

She says “I have never loved anyone the way I loved you,” and he cries. A “masterpiece” indeed.
"""
HTML = ("<html><body><article><h1>Her</h1><p>The film opens quietly, and the city hums.</p>"
        "<blockquote><p>The past is just a story we tell ourselves.</p></blockquote>"
        "<p>Then the review goes on for a while longer.</p></article></body></html>")


@pytest.mark.parametrize("source, text", [("markdown", MARKDOWN), ("html", HTML)])
def test_block_quotes_are_marked_by_the_readers_and_read_as_quotes(source, text):
    document = read_source(source, text)
    (chapter,) = document.chapters
    assert [chapter.paragraphs[i] for i in sorted(chapter.quotes)] == [
        "The past is just a story we tell ourselves."]
    assert document_from_dict(json.loads(json.dumps(document_to_dict(document)))) == document
    quoted = [u.text for s in build_script(document, max_chars=300, quotes=True)
              for u in s.utterances if u.role == Role.QUOTE]
    assert quoted[0] == "The past is just a story we tell ourselves."


def test_without_a_quote_voice_the_script_is_as_before():
    document = read_source("markdown", MARKDOWN)
    plain = build_script(document, max_chars=300)
    assert all(u.role == Role.NARRATOR for s in plain for u in s.utterances)
    assert "She says “I have never loved anyone the way I loved you,” and he cries." in [
        u.text for s in plain for u in s.utterances]
    voiced = build_script(document, max_chars=300, quotes=True)
    roles = [(u.role.value, u.pause.value, u.text) for s in voiced for u in s.utterances]
    assert roles[-4:] == [
        ("narrator", "sentence", "She says"),
        ("quote", "sentence", "“I have never loved anyone the way I loved you,”"),
        ("narrator", "sentence", "and he cries."),
        ("narrator", "paragraph", "A “masterpiece” indeed.")]
    # Old plans (no role) and documents (no quotes) still load.
    assert Chapter("", ("x",)) == document_from_dict(
        {"metadata": {}, "chapters": [{"title": "", "paragraphs": ["x"]}]}).chapters[0]


def test_the_plan_keeps_roles_and_old_plans_read_as_narrator():
    quote = Utterance("“Hi there, my old friend.”", "Hi there, my old friend.", role=Role.QUOTE)
    part = Part(0, ChapterScript("T", (Utterance("She said", "She said"), quote)), 0.6)
    data = json.loads(json.dumps(part_to_dict(part)))
    assert part_from_dict(data) == part
    assert len(data["utterances"][0]) == 4  # a narrator's utterance is stored as before
    old = {"chapter": 0, "title": "T", "lead": 0.6, "utterances": [["a", "a", "sentence", []]]}
    assert part_from_dict(old).script.utterances[0].role == Role.NARRATOR


def two_voice_part() -> Part:
    script = ChapterScript("T", (
        Utterance("The film opens slowly here.", "The film opens slowly here."),
        Utterance("“The past is a story we tell.”", "The past is a story we tell.",
                  role=Role.QUOTE),
        Utterance("And then it ends.", "And then it ends.", Pause.PARAGRAPH)))
    return Part(0, script, 0.6)


def test_each_sentence_is_spoken_and_cached_by_its_roles_engine(tmp_path):
    narrator, quote = ToneEngine(22050), ToneEngine(24000, frequency=330.0)
    cast = Cast(narrator, quote)
    cache = SentenceCache(tmp_path, 10_000_000)
    part = two_voice_part()
    first = render_part(part.script, cast, 1.0, cache)
    assert narrator.spoken == ["The film opens slowly here.", "And then it ends."]
    assert quote.spoken == ["The past is a story we tell."]
    # Engines at 22050 and 24000 Hz land at one rate, each clip as long as its engine made it.
    assert first.audio.rate == 44100
    quote_cue = first.cues[1]
    assert quote_cue.end - quote_cue.start == pytest.approx(
        quote.samples_for("The past is a story we tell.") / 24000, abs=1 / 44100)
    # A second rendering comes from the cache, each sentence from its own voice's entry.
    hits = []
    again = render_part(part.script, Cast(ToneEngine(22050), ToneEngine(24000, frequency=330.0)),
                        1.0, cache, lambda u, hit: hits.append(hit))
    assert hits == [True, True, True]
    assert np.array_equal(again.audio.samples, first.audio.samples)
    # The same words read by the narrator are another entry; the quote's is not reused.
    solo_hits = []
    make_speaker(narrator, 1.0, cache, lambda u, hit: solo_hits.append(hit))(
        Utterance("x", "The past is a story we tell."))
    assert solo_hits == [False]
    # The segment key changes with the quote voice, and with a sentence's role.
    keys = {part_key(part, cast, 1.0, "64k", Pauses()),
            part_key(part, Cast(narrator, ToneEngine(24000, frequency=440.0)), 1.0, "64k",
                     Pauses()),
            part_key(part, narrator, 1.0, "64k", Pauses())}
    assert len(keys) == 3


def test_a_quiet_quote_voice_is_brought_to_the_narrators_loudness():
    narrator, quote = ToneEngine(22050, amplitude=0.3), ToneEngine(24000, amplitude=0.1)
    rendered = render_part(two_voice_part().script, Cast(narrator, quote), 1.0, None)
    loudness = {}
    for cue in rendered.cues:
        clip = rendered.audio.samples[round(cue.start * 44100):round(cue.end * 44100)]
        loudness.setdefault(cue.voice, []).append(clip)
    narrator_lufs, quote_lufs = (integrated_loudness(Audio(np.concatenate(loudness[v]), 44100))
                                 for v in ("Narrator", "Quote"))
    assert abs(narrator_lufs - quote_lufs) < 0.5  # they were 9.5 dB apart
    # One voice: nothing is matched and no cue names a voice.
    solo = render_part(two_voice_part().script, narrator, 1.0, None)
    assert {cue.voice for cue in solo.cues} == {""}


def test_the_transcript_tags_voices_only_for_two_voices(tmp_path):
    cues = [Cue(0.0, 1.0, "He said"), Cue(1.2, 2.5, "“a < b & c > d, always and forever”")]
    plain = write_webvtt(cues)
    assert "<v " not in plain and "&lt;" in plain
    voiced = write_webvtt([Cue(c.start, c.end, c.text, v) for c, v in zip(cues, ["Narrator", "Quote"])])
    path = tmp_path / "t.vtt"
    path.write_text(voiced, encoding="utf-8")
    read = webvtt.read(str(path))
    assert [c.voice for c in read] == ["Narrator", "Quote"]
    assert read[1].raw_text == "<v Quote>“a &lt; b &amp; c &gt; d, always and forever”</v>"
    # A voice name is one line without the characters that would end the span.
    assert "<v A b>" in write_webvtt([Cue(0, 1, "x", "A<\n>b")])


def test_a_segment_record_keeps_cue_voices_and_reads_old_records():
    from narration.segment import Segment, segment_to_json

    segment = Segment("T", 0, 44100, 100, 0, 0, 0, 1,
                      (Cue(0.0, 0.5, "a"), Cue(0.5, 1.0, "b", "Quote")))
    assert segment_from_json(segment_to_json(segment)) == segment
    record = json.loads(segment_to_json(segment))
    assert record["cues"][0] == [0.0, 0.5, "a"]  # a cue without a voice is stored as before


def narrated(tmp_path, engine, text: str, name: str):
    """(VTT cues read back with webvtt-py, decoded episode, chapters JSON) of a real narration."""
    from narration.encode import decode_mp3

    document = read_source("markdown", text)
    files = narrate(document, engine, tmp_path / f"{name}.mp3")
    return (webvtt.read(str(files.vtt)), decode_mp3(files.mp3),
            json.loads(files.chapters_json.read_text()), files)


def voice_loudness(cues, audio: Audio) -> dict[str, float]:
    """Integrated loudness of each voice's sentences, cut from the decoded episode by its cues."""
    clips: dict[str, list[np.ndarray]] = {}
    for cue in cues:
        start, end = (round(seconds * audio.rate) for seconds in (cue.start_in_seconds,
                                                                  cue.end_in_seconds))
        clips.setdefault(cue.voice, []).append(audio.samples[start:end])
    return {voice: integrated_loudness(Audio(np.concatenate(parts), audio.rate))
            for voice, parts in clips.items()}


SHORT_REVIEW = """# Her

The film opens quietly, and the city hums below him.

> The past is just a story we tell ourselves.

He answers, “I have never loved anyone the way I loved you,” and the screen goes dark.
"""


class Quieter:
    """A real engine made 10 dB quieter: a quote voice whose model speaks softly."""

    def __init__(self, engine):
        self.engine, self.sample_rate, self.max_chars = engine, engine.sample_rate, engine.max_chars
        self.identity = engine.identity + "|-10dB"

    def synthesize(self, text: str, speed: float = 1.0) -> Audio:
        audio = self.engine.synthesize(text, speed)
        return Audio(audio.samples * np.float32(10 ** (-10 / 20)), audio.rate)


@pytest.mark.slow
def test_real_voices_read_quotes_at_the_narrators_loudness(tmp_path):
    import voices

    catalogue = voices.load_catalogue()
    male = voices.load_engine(catalogue.find("male"))
    female = voices.load_engine(catalogue.find("female"))
    assert (male.sample_rate, female.sample_rate) == (22050, 24000)
    for name, quote in (("female", female), ("quiet", Quieter(female))):
        cues, audio, chapters, _ = narrated(tmp_path, Cast(male, quote), SHORT_REVIEW, name)
        assert {c.voice for c in cues} == {"Narrator", "Quote"}
        assert [c.text for c in cues if c.voice == "Quote"] == [
            "The past is just a story we tell ourselves.",
            "“I have never loved anyone the way I loved you,”"]
        loudness = voice_loudness(cues, audio)
        print(f"{name}: narrator {loudness['Narrator']:.2f} LUFS, "
              f"quote {loudness['Quote']:.2f} LUFS")
        assert all(math.isfinite(value) for value in loudness.values())
        assert abs(loudness["Narrator"] - loudness["Quote"]) <= 1.5
        assert integrated_loudness(audio) == pytest.approx(-16, abs=1.0)
    # The same text with one voice: no voice spans, the same chapters.
    solo_cues, _, solo_chapters, files = narrated(tmp_path, male, SHORT_REVIEW, "solo")
    assert "<v " not in files.vtt.read_text()
    assert {c.voice for c in solo_cues} == {None}
    assert [c["title"] for c in solo_chapters["chapters"]] == [
        c["title"] for c in chapters["chapters"]]
    assert solo_chapters.keys() == chapters.keys()


def test_the_check_retakes_a_quote_in_the_quote_voice_and_keeps_the_voices(tmp_path):
    from narration.check import EpisodeCheck, make_retake
    from narration.reading import read_plain

    narrator, quote = ToneEngine(22050), ToneEngine(24000, frequency=330.0)

    class Recognizer:
        """Hears what either engine was asked to say, except the deaf sentence."""

        def transcribe(self, audio) -> str:
            said = narrator.spoken + quote.spoken
            narrator.spoken.clear()
            quote.spoken.clear()
            return " ".join(text for text in said if "deaf" not in text)

    takes = []
    speak = quote.synthesize
    quote.synthesize = lambda text, speed=1.0: takes.append(text) or speak(text, speed)
    cast = Cast(narrator, quote)
    check = EpisodeCheck(Recognizer(), make_retake(cast, 1.0))
    text = "One two three four.\n\n“The deaf quotation is never heard at all.”\n"
    files = narrate(read_plain(text), cast, tmp_path / "x.mp3", after_part=check)
    [suspect] = check.report(cues=files.cues)["suspect"]
    assert len(takes) == 1 + suspect["retries"] and suspect["retries"] > 0
    assert "<v Quote>“The deaf quotation is never heard at all.”</v>" in files.vtt.read_text()
