"""What the engine is asked to say: written text → spoken words, one table per kind of text."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from narration.normalize import NORMALIZER_VERSION, is_speakable, normalize
from narration.sentences import split_sentences

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "samples" / "her-review.txt"
# What may reach an engine: letters, digits, spaces and basic punctuation.
ALLOWED_OUTPUT = re.compile(r"(?:[^\W_]|[ .,!?;:'\"()-])*")

NUMBERS = [
    ("500 emails", "five hundred emails"),
    ("1,200 people", "one thousand two hundred people"),
    ("It weighs 3.5 tons.", "It weighs three point five tons."),
    ("It was -7 outside.", "It was minus seven outside."),
    ("(-3.5)", "(minus three point five)"),
    ("1,000,000 copies", "one million copies"),
    ("2,500,000", "two million five hundred thousand"),
    ("105", "one hundred five"),
    ("0", "zero"),
    ("Agent 007", "Agent zero zero seven"),
    ("in 2013", "in twenty thirteen"),
    ("1999", "nineteen ninety-nine"),
    ("2005", "two thousand five"),
    ("Her (2013)", "Her (twenty thirteen)"),
    ("Production year 2013", "Production year twenty thirteen"),
    ("2000 people", "two thousand people"),
    ("1500 meters", "one thousand five hundred meters"),
    ("1,999", "one thousand nine hundred ninety-nine"),
    ("COVID-19 lockdown", "Covid-nineteen lockdown"),
    ("1,000,000,000,000,000,000", "one quintillion"),
    ("code 12345678901234567", "code one two three four five six seven eight nine zero "
     "one two three four five six seven"),
]
DECADES_RANGES_ORDINALS = [
    ("the 1970's", "the nineteen seventies"),
    ("the 1970s", "the nineteen seventies"),
    ("the '90s", "the nineties"),
    ("the 90s", "the nineties"),
    ("the 1900s", "the nineteen hundreds"),
    ("20-30 years from now", "twenty to thirty years from now"),
    ("1990–1995", "nineteen ninety to nineteen ninety-five"),
    ("1990-95", "nineteen ninety to ninety-five"),
    ("pages 10-12", "pages ten to twelve"),
    ("20 - 30 minutes", "twenty to thirty minutes"),
    ("1st", "first"),
    ("22nd", "twenty-second"),
    ("3rd", "third"),
    ("4th", "fourth"),
    ("the 21st century", "the twenty-first century"),
]
MONEY_PERCENT_UNITS = [
    ("$500", "five hundred dollars"),
    ("$1", "one dollar"),
    ("$1.50", "one dollar and fifty cents"),
    ("$0.05", "five cents"),
    ("$5 million", "five million dollars"),
    ("$2.5bn", "two point five billion dollars"),
    ("$20-30", "twenty to thirty dollars"),
    ("€20", "twenty euros"),
    ("£3", "three pounds"),
    ("¥100", "one hundred yen"),
    ("$1,000", "one thousand dollars"),
    ("45%", "forty-five percent"),
    ("3.5%", "three point five percent"),
    ("20-30%", "twenty to thirty percent"),
    ("5km", "five kilometers"),
    ("1 km", "one kilometer"),
    ("10x better", "ten times better"),
    ("30°C", "thirty degrees Celsius"),
    ("86°F", "eighty-six degrees Fahrenheit"),
]
TIMES_DATES = [
    ("9:30", "nine thirty"),
    ("9:30 pm", "nine thirty p m"),
    ("at 9:05 p.m.", "at nine oh five p m."),
    ("10am", "ten a m"),
    ("10 a.m. sharp", "ten a m sharp"),
    ("14:00", "fourteen hundred"),
    ("9:00", "nine o'clock"),
    ("Aug 8, 2014", "August eighth, twenty fourteen"),
    ("8 August 2014", "August eighth, twenty fourteen"),
    ("2014-08-08", "August eighth, twenty fourteen"),
    ("Sep 11, 2023", "September eleventh, twenty twenty-three"),
    ("Sept. 3rd", "September third"),
    ("Oct. 2021", "October twenty twenty-one"),
    ("on 8/31/2014", "on August thirty-first, twenty fourteen"),
    (
        "Published: Aug 8, 2014 |Updated: Sep 11, 2023",
        "Published: August eighth, twenty fourteen, Updated: September eleventh, twenty twenty-three",
    ),
]
FRACTIONS_RATINGS = [
    ("I'd give it 4/5.", "I'd give it four out of five."),
    ("4/5", "four out of five"),
    ("8/10", "eight out of ten"),
    ("Rating: 8.5/10", "Rating: eight point five out of ten"),
    ("3/4 stars", "three out of four stars"),
    ("3½ stars", "three and a half stars"),
    ("★★★★", "four stars"),
    ("★★★½", "three and a half stars"),
    ("★★★★☆", "four out of five stars"),
    ("★", "one star"),
    ("1/2", "one half"),
    ("3/4 cup", "three quarters cup"),
    ("1/5 of the cast", "one fifth of the cast"),
    ("1 1/2 cups", "one and a half cups"),
    ("½ cup", "one half cup"),
    ("after 9/11", "after nine eleven"),
    ("a 50/50 chance", "a fifty-fifty chance"),
    ("open 24/7", "open twenty-four seven"),
]
ABBREVIATIONS = [
    ("Mr. Smith", "Mister Smith"),
    ("Mrs. Brown", "Missus Brown"),
    ("Dr. Jones", "Doctor Jones"),
    ("I drove down Mulholland Dr. at night.", "I drove down Mulholland Drive at night."),
    ("St. Louis", "Saint Louis"),
    ("on Main St. in Boston", "on Main Street in Boston"),
    ("fruit, e.g. apples", "fruit, for example apples"),
    ("the end, i.e. death", "the end, that is death"),
    ("Rocky vs. Apollo", "Rocky versus Apollo"),
    ("apples, pears, etc.", "apples, pears, et cetera."),
    ("apples, etc. and more", "apples, et cetera and more"),
    ("approx. 20", "approximately twenty"),
    ("No. 5", "number five"),
    ("Martin Luther King Jr. spoke", "Martin Luther King Junior spoke"),
    ("Prof. Xavier", "Professor Xavier"),
    ("I said No.", "I said No."),
]
ACRONYMS_ROMAN = [
    ("OS 1", "O S one"),
    ("OS1", "O S one"),
    ("MP3", "M P three"),
    ("R2-D2", "R two-D two"),
    ("Falling in love with AI", "Falling in love with A I"),
    ("on TV in the USA", "on T V in the U S A"),
    ("her A.I. grows", "her A I grows"),
    ("NASA and NATO", "Nasa and Nato"),
    ("UNESCO", "Unesco"),
    ("their OS’es", "their O S's"),
    ("she develops REAL emotions", "she develops real emotions"),
    ("THIS IS THE BEST MOVIE EVER!!!", "this is the best movie ever!"),
    ("Rocky IV", "Rocky four"),
    ("World War II", "World War two"),
    ("Henry VIII", "Henry the eighth"),
    ("Part V", "Part five"),
    ("Malcolm X", "Malcolm X"),
    ("I'm sure I am", "I'm sure I am"),
    ("an IV drip", "an I V drip"),
    ("Pope John Paul II", "Pope John Paul the second"),
    ("OK, fine.", "okay, fine."),
    ("DON'T GO", "don't go"),
]
SYMBOLS_WEB = [
    ("feelings…would it", "feelings, would it"),
    ("feelings...would it", "feelings, would it"),
    ("pain….right?", "pain, right?"),
    ("I wonder…", "I wonder."),
    ("It was — I think — fine", "It was, I think, fine"),
    ("a self-aware guy", "a self-aware guy"),
    ("“Her” isn’t bad", "\"Her\" isn't bad"),
    ("Tom & Jerry", "Tom and Jerry"),
    ("2 + 2 = 4", "two plus two equals four"),
    ("#1 hit", "number one hit"),
    ("Visit https://www.example.com/reviews/her?id=5.", "Visit example dot com."),
    ("see example.com for more", "see example dot com for more"),
    ("mail jane.doe@example.com", "mail jane dot doe at example dot com"),
    ("the bbc.co.uk site", "the bbc dot co dot U K site"),
    ("I love it 😀😀 so much", "I love it so much"),
    ("Brand™ and Co®", "Brand and Co"),
    ("Genre • Drama", "Genre, Drama"),
    ("  too   many\n spaces ", "too many spaces"),
]
ALL_CASES = (
    NUMBERS + DECADES_RANGES_ORDINALS + MONEY_PERCENT_UNITS + TIMES_DATES + FRACTIONS_RATINGS
    + ABBREVIATIONS + ACRONYMS_ROMAN + SYMBOLS_WEB
)


@pytest.mark.parametrize("written, spoken", ALL_CASES)
def test_normalize_says_it_as_a_person_would(written, spoken):
    assert normalize(written) == spoken


@pytest.mark.parametrize("written", [written for written, _ in ALL_CASES])
def test_normalize_is_idempotent(written):
    once = normalize(written)
    assert normalize(once) == once


@pytest.mark.parametrize("written", [written for written, _ in ALL_CASES])
def test_output_has_only_words_and_basic_punctuation(written):
    spoken = normalize(written)
    assert ALLOWED_OUTPUT.fullmatch(spoken), spoken
    assert not re.search(r"\d", spoken), "every number should be spoken as words"


def _sample_sentences() -> list[str]:
    """Every sentence of the sample review, as the script will meet them."""
    paragraphs = re.split(r"\n\s*\n", SAMPLE.read_text(encoding="utf-8"))
    return [sentence for paragraph in paragraphs for sentence in split_sentences(paragraph)]


def test_every_sample_sentence_becomes_clean_speakable_words():
    sentences = _sample_sentences()
    assert len(sentences) > 100
    for sentence in sentences:
        spoken = normalize(sentence)
        assert is_speakable(spoken), sentence
        assert ALLOWED_OUTPUT.fullmatch(spoken) and not re.search(r"\d", spoken), spoken
        assert normalize(spoken) == spoken


@pytest.mark.parametrize(
    "written, speakable",
    [("★★★", True), ("!!! ???", False), ("😀😀", False), ("", False), ("…", False),
     ("42", True), ("OK.", True), ("— • —", False)],
)
def test_is_speakable_after_normalizing(written, speakable):
    assert is_speakable(normalize(written)) is speakable


def test_is_speakable_on_spoken_forms():
    assert is_speakable("three stars")
    assert not is_speakable(" , . ! ")


def test_version_is_a_nonempty_string():
    assert isinstance(NORMALIZER_VERSION, str) and NORMALIZER_VERSION


@pytest.mark.parametrize(
    "pathological",
    ["1" * 100_000, "1," * 50_000, "a1" * 50_000, "word " * 20_000, "." * 100_000, " " * 100_000],
)
def test_huge_inputs_normalize_quickly(pathological):
    started = time.perf_counter()
    normalize(pathological)
    assert time.perf_counter() - started < 5
