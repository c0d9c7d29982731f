"""Paragraphs → sentences, and over-long sentences → pieces an engine can say in one call."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pysbd
import pytest

from narration import sentences
from narration.sentences import split_long, split_sentences

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "samples" / "her-review.txt"


def _squeeze(text: str) -> str:
    """Text without any whitespace, to compare wording modulo spacing."""
    return re.sub(r"\s+", "", text)


def _sample_paragraphs() -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", SAMPLE.read_text(encoding="utf-8")) if p.strip()]


@pytest.mark.parametrize(
    "paragraph, expected",
    [
        ("I met Mr. Smith and Dr. Jones today. They were nice.",
         ["I met Mr. Smith and Dr. Jones today.", "They were nice."]),
        ("Some fruit, e.g. apples, are good. Others are not.",
         ["Some fruit, e.g. apples, are good.", "Others are not."]),
        ("It was Rocky vs. Apollo, etc. and more. Then it ended.",
         ["It was Rocky vs. Apollo, etc. and more.", "Then it ended."]),
        ("This is it, i.e. the end. Done.", ["This is it, i.e. the end.", "Done."]),
        ("It costs approx. $5 today. Cheap.", ["It costs approx. $5 today.", "Cheap."]),
        ("Cf. chapter 3. Done.", ["Cf. chapter 3.", "Done."]),
        ("He wore No. 5 perfume. Then left.", ["He wore No. 5 perfume.", "Then left."]),
        ("I said No. Then I left.", ["I said No.", "Then I left."]),
        ("If such a thing was to develop real, human feelings…would it surpass us? Would it?",
         ["If such a thing was to develop real, human feelings…would it surpass us?", "Would it?"]),
        ("They could not hurt him….right? Alan came.", ["They could not hurt him….right?", "Alan came."]),
        ("Isabella does the…uhm…everything else. It is weird.",
         ["Isabella does the…uhm…everything else.", "It is weird."]),
        ("He sings… Then she sings.", ["He sings…", "Then she sings."]),
        ("He sings... Then she sings.", ["He sings...", "Then she sings."]),
        ("Visit https://www.example.com/path?x=1. Then go.",
         ["Visit https://www.example.com/path?x=1.", "Then go."]),
        ("Her A.I. becomes advanced. Next.", ["Her A.I. becomes advanced.", "Next."]),
        ("“We are all leaving” she says.” We who?” asks Theodore”. All of them leave.",
         ["“We are all leaving” she says.”", "We who?” asks Theodore”.", "All of them leave."]),
        ("  One.   Two.  ", ["One.", "Two."]),
        ("It was a decade. ’90s kids know it.", ["It was a decade.", "’90s kids know it."]),
        ("", []),
        ("   \n ", []),
    ],
)
def test_split_sentences(paragraph, expected):
    assert split_sentences(paragraph) == expected


@pytest.mark.parametrize("paragraph", _sample_paragraphs())
def test_sample_paragraphs_split_into_sentences_that_start_properly(paragraph):
    found = split_sentences(paragraph)
    assert found
    for sentence in found:
        assert sentence == sentence.strip()
        # A sentence starting lowercase would be a fragment cut after "Mr.", "e.g.", "…".
        assert re.match(r"[\"“‘'(»]?[A-Z0-9]", sentence), sentence
    assert _squeeze("".join(found)) == _squeeze(paragraph)


def test_sample_yields_many_sentences():
    count = sum(len(split_sentences(p)) for p in _sample_paragraphs())
    assert 150 < count < 300


@pytest.mark.parametrize("language", ["en", "en-US", "EN_gb", "xx", ""])
def test_language_codes_and_unknown_languages_still_split(language):
    assert split_sentences("One day. Another day.", language) == ["One day.", "Another day."]


def test_other_languages_use_their_own_rules():
    assert split_sentences("Das ist gut. Wir gehen heim.", "de") == ["Das ist gut.", "Wir gehen heim."]


def test_segmenter_is_built_once_per_language(monkeypatch):
    built = []

    class CountingSegmenter(pysbd.Segmenter):
        def __init__(self, **kwargs):
            built.append(kwargs["language"])
            super().__init__(**kwargs)

    monkeypatch.setattr(sentences.pysbd, "Segmenter", CountingSegmenter)
    sentences._segmenter.cache_clear()
    try:
        for _ in range(3):
            split_sentences("One. Two.", "en")
            split_sentences("Eins. Zwei.", "de")
    finally:
        sentences._segmenter.cache_clear()
    assert sorted(built) == ["de", "en"]


LONG_SENTENCES = [
    "Although Theodore is filled with dread and despair he can also sense a good kind of pain, "
    "because he is finally able to tell her “I have never loved anyone the way I love you”.",
    "Theodore is beginning to panic; fumbling with the software in the elevator takes him "
    "nowhere but into desperation-land: when he exits the building he is deteriorating — fast, "
    "and he runs down the alley, tripping over a man, which hurts, or so it seems.",
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty twenty-one twenty-two twenty-three",
]


@pytest.mark.parametrize("max_chars", [12, 25, 40, 80, 150, 1000])
@pytest.mark.parametrize("sentence", LONG_SENTENCES)
def test_split_long_pieces_fit_and_reassemble(sentence, max_chars):
    pieces = split_long(sentence, max_chars)
    assert all(0 < len(piece) <= max_chars for piece in pieces)
    assert _squeeze("".join(pieces)) == _squeeze(sentence)
    if max(len(word) for word in sentence.split()) <= max_chars:  # no word had to be cut
        assert " ".join(pieces) == " ".join(sentence.split())


def test_split_long_prefers_semicolons_over_commas_over_conjunctions():
    sentence = "first part, with a comma and more; second part, with a comma and more"
    assert split_long(sentence, 40) == [
        "first part, with a comma and more;",
        "second part, with a comma and more",
    ]
    assert split_long(sentence, 30)[:2] == ["first part,", "with a comma and more;"]
    assert split_long("it was good and it was long and it was over", 25) == [
        "it was good",
        "and it was long",
        "and it was over",
    ]


def test_split_long_keeps_times_and_thousands_together():
    pieces = split_long("We met at 9:30 and paid 1,200 dollars for the tickets, sadly", 30)
    assert any("9:30" in piece for piece in pieces)
    assert any("1,200" in piece for piece in pieces)


def test_split_long_leaves_short_sentences_alone():
    assert split_long("  Short   sentence. ", 100) == ["Short sentence."]
    assert split_long("   ", 10) == []


@pytest.mark.parametrize("max_chars", [1, 7, 50])
def test_split_long_hard_splits_a_word_longer_than_the_limit(max_chars):
    word = "Supercalifragilisticexpialidocious" * 3
    pieces = split_long(f"a {word} b", max_chars)
    assert all(len(piece) <= max_chars for piece in pieces)
    assert _squeeze("".join(pieces)) == _squeeze(f"a {word} b")


@pytest.mark.parametrize("text", ["lorem " * 16_667, "x" * 100_000, "a, " * 33_334])
def test_split_long_handles_100k_characters_quickly(text):
    started = time.perf_counter()
    pieces = split_long(text, 300)
    assert time.perf_counter() - started < 1.0
    assert all(len(piece) <= 300 for piece in pieces)
    assert _squeeze("".join(pieces)) == _squeeze(text)


def test_split_long_rejects_a_non_positive_limit():
    with pytest.raises(ValueError):
        split_long("anything", 0)
