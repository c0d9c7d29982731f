"""Pronunciation lexicons: both formats parse, mistakes name their entry, matching is whole-word,
case-aware and possessive-aware, and the sentence cache re-renders only what a lexicon touches."""


import pytest

from narration.cache import SentenceCache
from narration.engine import spoken_key
from narration.lexicon import (Entry, Lexicon, LexiconError, apply_to_scripts, merge_lexicons,
                               parse_lexicon, read_lexicon_files, service_lexicon)
from narration.pipeline import make_speaker
from narration.reading import read_plain
from narration.script import Utterance, build_script
from narration.settings import load_settings
from tests.fakes import ToneEngine

PLS = """<?xml version="1.0" encoding="UTF-8"?>
<lexicon version="1.0" xmlns="http://www.w3.org/2005/01/pronunciation-lexicon"
         alphabet="ipa" xml:lang="en-US">
  <lexeme><grapheme>Caleb</grapheme><phoneme>ˈkeɪləb</phoneme></lexeme>
  <lexeme><grapheme>Domhnall Gleeson</grapheme><alias>Donal Gleeson</alias></lexeme>
  <lexeme><grapheme>Ava</grapheme><grapheme>AVA</grapheme><alias>Ay-va</alias>
          <phoneme alphabet="ipa">ˈeɪvə</phoneme></lexeme>
  <lexeme><grapheme>gif</grapheme><alias>jif</alias></lexeme>
</lexicon>
"""


def test_pls_entries_parse_with_aliases_phonemes_and_several_graphemes():
    lexicon = parse_lexicon(PLS.encode(), "her.pls")
    assert [(e.grapheme, e.alias, e.phonemes) for e in lexicon.entries] == [
        ("Caleb", "", "ˈkeɪləb"), ("Domhnall Gleeson", "Donal Gleeson", ""),
        ("Ava", "Ay-va", "ˈeɪvə"), ("AVA", "Ay-va", "ˈeɪvə"), ("gif", "jif", "")]


def test_two_column_lines_take_tabs_commas_or_a_space_and_slashes_mean_ipa():
    lexicon = parse_lexicon("# names in Her\nCaleb\t/ˈkeɪləb/\nNathan, NAY-thun\n"
                            "Vikander vih-KAN-der\nAva\tAy-va\t/ˈeɪvə/\n")
    assert [(e.grapheme, e.alias, e.phonemes) for e in lexicon.entries] == [
        ("Caleb", "", "ˈkeɪləb"), ("Nathan", "NAY-thun", ""), ("Vikander", "vih-KAN-der", ""),
        ("Ava", "Ay-va", "ˈeɪvə")]


@pytest.mark.parametrize("text, message", [
    ("Caleb\t/ˈkeɪləb/\nNathan\n", "line 2: 'Nathan' needs two columns"),
    ("Caleb\t/k@leb/\n", "line 1: 'k@leb' is not IPA: '@' is not an IPA symbol"),
    ("Caleb\t/ˈkeɪləb\n", "line 1: IPA '/ˈkeɪləb' must be written between slashes"),
    ("\n\n# only comments\n", "the lexicon has no entries"),
    ("...\tdot\n", "line 1: '...' has no letters"),
    ('<lexicon xmlns="http://www.w3.org/2005/01/pronunciation-lexicon"><lexeme>'
     '<grapheme>Caleb</grapheme><phoneme>ˈkeɪləb</phoneme></lexeme><lexeme>'
     '<grapheme>Nathan</grapheme></lexeme></lexicon>',
     "lexeme 2 ('Nathan'): give a <phoneme> or an <alias>"),
    ('<lexicon xmlns="http://www.w3.org/2005/01/pronunciation-lexicon"><lexeme>'
     '<phoneme>ˈkeɪləb</phoneme></lexeme></lexicon>', "lexeme 1: every <lexeme> needs"),
    ('<lexicon xmlns="http://www.w3.org/2005/01/pronunciation-lexicon" alphabet="x-sampa">'
     '<lexeme><grapheme>Caleb</grapheme><phoneme>"keIl@b</phoneme></lexeme></lexicon>',
     "lexeme 1 ('Caleb'): phoneme alphabet 'x-sampa' is not supported"),
    ('<lexicon xmlns="http://www.w3.org/2005/01/pronunciation-lexicon">\n<lexeme>\n'
     '<grapheme>Caleb</grapheme>\n</lexicon>', "not well-formed XML at line 4"),
    ('<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa">]><lexicon>&a;</lexicon>',
     "entities and DTDs are not allowed"),
    ("<html><body>Caleb</body></html>", "the root element must be <lexicon>"),
])
def test_a_bad_lexicon_says_which_entry_is_wrong_and_why(text, message):
    with pytest.raises(LexiconError) as error:
        parse_lexicon(text, "names.txt")
    assert error.value.code == "invalid_lexicon"
    assert error.value.message.startswith("names.txt")
    assert message in error.value.message


def test_not_utf8_is_refused_with_the_byte():
    with pytest.raises(LexiconError, match="not UTF-8"):
        parse_lexicon("Caf\xe9\tkafay\n".encode("latin-1"))


def test_matching_is_whole_word_case_aware_for_names_and_keeps_possessives():
    lexicon = parse_lexicon("Will\tWilliam\nCal\tKal\nread\treed\nNathan\t/ˈneɪθən/\n")
    applied = lexicon.apply("Will will read Calvin's note. Read it, Nathan's friend; NATHAN!")
    assert applied.spoken == "William will reed Calvin's note. Reed it, Nathan's friend; NATHAN!"
    assert applied.phonemes == (("Nathan's", "ˈneɪθənz"), ("NATHAN", "ˈneɪθən"))
    assert applied.matched == ("Will", "read", "Nathan")


@pytest.mark.parametrize("ipa, spoken", [("ˈneɪθən", "ˈneɪθənz"), ("ɡlɪts", "ɡlɪtsɪz"),
                                         ("bɒb", "bɒbz"), ("kʊk", "kʊks")])
def test_a_possessive_ipa_gets_the_ending_english_gives_it(ipa, spoken):
    assert Lexicon([Entry("Zed", phonemes=ipa)]).apply("Zed's").phonemes == (("Zed's", spoken),)


def test_phrases_match_across_line_breaks_and_beat_their_first_word():
    lexicon = parse_lexicon(PLS)
    applied = lexicon.apply("Domhnall\nGleeson and Domhnall alone; AVA and Ava.")
    assert applied.spoken == "Donal Gleeson and Domhnall alone; Ay-va and Ay-va."
    assert applied.phonemes == (("Ay-va", "ˈeɪvə"),)


def test_later_lexicons_win_and_an_empty_one_changes_nothing():
    first = parse_lexicon("Caleb\tKaleb\nNathan\tNate\n")
    second = parse_lexicon("Caleb\t/ˈkeɪləb/\n")
    merged = merge_lexicons([first, second])
    assert merged.apply("Caleb and Nathan").spoken == "Caleb and Nate"
    assert merged.apply("Caleb and Nathan").phonemes == (("Caleb", "ˈkeɪləb"),)
    assert not merge_lexicons([Lexicon(), Lexicon()])
    assert Lexicon().apply("Caleb").spoken == "Caleb"
    assert first.digest != merged.digest


def test_the_transcript_keeps_the_original_wording():
    scripts = build_script(read_plain("Caleb meets Nathan.\n\nNathan waits."), max_chars=400)
    lexicon = parse_lexicon("Nathan\tJonathan\nCaleb\t/ˈkeɪləb/\n")
    changed = apply_to_scripts(scripts, lexicon)
    utterances = [u for s in changed for u in s.utterances]
    assert [u.text for u in utterances] == ["Caleb meets Nathan.", "Nathan waits."]
    assert [u.spoken for u in utterances] == ["Caleb meets Jonathan.", "Jonathan waits."]
    assert utterances[0].phonemes == (("Caleb", "ˈkeɪləb"),)


def test_editing_a_lexicon_re_renders_only_the_sentences_it_touches(tmp_path):
    text = "Caleb arrives. The house is quiet. Nathan drinks. Ava watches."
    scripts = build_script(read_plain(text), max_chars=400)
    engine = ToneEngine()
    cache = SentenceCache(tmp_path / "cache", 1 << 26)
    speak = make_speaker(engine, 1.0, cache)

    def render(lexicon):
        engine.spoken.clear()
        for script in apply_to_scripts(scripts, lexicon):
            for utterance in script.utterances:
                speak(utterance)
        return list(engine.spoken)

    assert len(render(parse_lexicon("Caleb\tKaleb\n"))) == 4
    assert render(parse_lexicon("Caleb\tKaleb\n")) == []
    # A new IPA entry for Nathan: only Nathan's sentence is synthesized again.
    assert render(parse_lexicon("Caleb\tKaleb\nNathan\t/ˈneɪθən/\n")) == ["Nathan drinks."]
    # Changing Caleb's alias: only Caleb's sentence.
    assert render(parse_lexicon("Caleb\tKayleb\nNathan\t/ˈneɪθən/\n")) == ["Kayleb arrives."]


def test_the_cache_key_of_a_sentence_without_overrides_is_its_spoken_text():
    assert spoken_key(Utterance("a", "b")) == "b"
    assert spoken_key(Utterance("a", "b", phonemes=(("b", "biː"),))) != "b"


def test_lexicon_files_merge_in_order_and_a_missing_one_is_named(tmp_path):
    (tmp_path / "a.txt").write_text("Caleb\tKaleb\n")
    (tmp_path / "b.pls").write_text(PLS)
    merged = read_lexicon_files([tmp_path / "a.txt", tmp_path / "b.pls"])
    assert merged.lookup("Caleb").phonemes == "ˈkeɪləb"
    with pytest.raises(LexiconError, match="cannot read lexicon .*nope.txt"):
        read_lexicon_files([tmp_path / "nope.txt"])


def test_the_service_wide_lexicon_comes_from_its_setting_and_follows_edits(tmp_path):
    path = tmp_path / "service.txt"
    path.write_text("Caleb\tKaleb\n")
    settings = load_settings({"NARRATOR_LEXICON_FILE": str(path)})
    assert service_lexicon(settings).apply("Caleb").spoken == "Kaleb"
    path.write_text("Caleb\tKayleb\n")
    import os
    os.utime(path, ns=(1, 10**18))
    assert service_lexicon(settings).apply("Caleb").spoken == "Kayleb"
    assert not service_lexicon(load_settings({}))
    with pytest.raises(LexiconError, match="NARRATOR_LEXICON_FILE"):
        service_lexicon(load_settings({"NARRATOR_LEXICON_FILE": str(tmp_path / "none")}))
