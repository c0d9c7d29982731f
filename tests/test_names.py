"""The names check: proper names (not sentence-initial or title words), with their sentences,
whether the voice's phonemizer guesses them and whether a lexicon covers them."""

from narration.lexicon import parse_lexicon
from narration.names import find_names
from narration.reading import read_plain
from narration.script import build_script
from voices.engines import espeak

TEXT = """A Quiet House

Nathan's house is quiet. Caleb arrives by helicopter; Nathan greets him.
The test begins. In it Domhnall Gleeson plays Caleb, and Zoë Kravitz is not in it.
I'm sure it doesn't matter. Ava waits while Caleb and Ava talk.
"""


def words(report):
    return [name.word for name in report.names]


def test_names_are_capitalized_mid_sentence_and_title_words_are_not():
    report = find_names(build_script(read_plain(TEXT), max_chars=400))
    assert words(report) == ["Nathan", "Caleb", "Domhnall", "Gleeson", "Zoë", "Kravitz", "Ava"]
    caleb = report.names[1]
    assert caleb.count == 3
    assert [text for _chapter, text in caleb.sentences] == [
        "Caleb arrives by helicopter; Nathan greets him.",
        "In it Domhnall Gleeson plays Caleb, and Zoë Kravitz is not in it.",
        "Ava waits while Caleb and Ava talk."]
    assert report.names[0].count == 2  # "Nathan's" is Nathan
    assert all(name.guessed is None for name in report.names)  # no phonemizer asked


def test_the_lexicon_covers_names_also_inside_phrases_and_the_summary_counts_the_rest():
    lexicon = parse_lexicon("Domhnall Gleeson\tDonal Gleeson\nCaleb\t/ˈkeɪləb/\n")
    report = find_names(build_script(read_plain(TEXT), max_chars=400), lexicon=lexicon,
                        guessed=lambda ws: {"Kravitz", "Domhnall"})
    covered = {name.word for name in report.names if name.in_lexicon}
    assert covered == {"Caleb", "Domhnall", "Gleeson"}
    assert report.summary() == "7 names; 4 not in your lexicon (1 of them guessed from spelling by the voice)"
    assert report.to_dict()["words"][4] == {
        "word": "Zoë", "count": 1, "guessed": False, "in_lexicon": False,
        "sentences": [{"chapter": 0, "text": "In it Domhnall Gleeson plays Caleb, and Zoë Kravitz is not in it."}]}


def test_espeak_ng_tells_dictionary_words_from_guesses():
    guessed = espeak.guessed_words(["Domhnall", "Vikander", "Oscar", "the", "and", "Samantha"])
    assert guessed == {"Domhnall", "Vikander"}
    assert espeak.phonemize_word("Caleb") == "kˈælɛb"
