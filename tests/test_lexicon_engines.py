"""Lexicons through the real voices: IPA reaches the phonemes Piper and Kokoro speak, aliases
reach every engine, and the CLI takes --lexicon files (and says which entry of a bad one is wrong)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

import voices
from narration.engine import synthesize_utterance
from narration.lexicon import parse_lexicon
from narration.script import Utterance
from tests.fakes import ToneEngine

ROOT = Path(__file__).resolve().parents[1]
LEXICON = "Caleb\t/ˈkeɪləb/\nVikander\t/vɪˈkɑːndɚ/\nNathan\tJonathan\n"


@pytest.fixture(scope="module", params=["male", "female"])
def engine(request):
    return voices.load_engine(voices.load_catalogue().find(request.param))


def test_ipa_entries_reach_the_phonemes_the_voice_speaks(engine):
    applied = parse_lexicon(LEXICON).apply("Caleb's friend Nathan met Vikander, then left.")
    plain = engine.phonemize(applied.spoken)
    spliced = engine.phonemize(applied.spoken, applied.phonemes)
    # espeak-ng's own guesses for the two names, and ours in their place
    assert "kˈælɛbz" in plain and "vˈɪkændɚ" in plain
    # in espeak-ng's style: the stress mark just before the stressed vowel
    assert "kˈeɪləbz" in spliced and "vɪkˈɑːndɚ," in spliced
    assert "kˈælɛb" not in spliced and "vˈɪkændɚ" not in spliced
    # the alias went to the phonemizer as text, the rest is untouched
    assert "dʒˈɑːnəθən" in spliced and spliced.endswith("lˈɛft.")


def test_an_utterance_with_overrides_is_spoken_through_the_phonemes(engine):
    # An IPA entry far longer than the name, so the sound proves the phonemes were spoken
    # (both voices sample noise, so lengths of similar words vary by more than they differ).
    applied = parse_lexicon("Caleb\t/mɪsɪsˈɪpi ɹˈɪvɚ bˈæŋk/\n").apply("Caleb waits.")
    utterance = Utterance("Caleb waits.", applied.spoken, phonemes=applied.phonemes)
    with_ipa = synthesize_utterance(engine, utterance)
    without = synthesize_utterance(engine, Utterance("Caleb waits.", "Caleb waits."))
    assert 0.5 < with_ipa.seconds < 6.0
    assert with_ipa.seconds > without.seconds + 0.4  # three words said where one was written


def test_typed_ipa_is_written_the_way_espeak_ng_writes_it():
    from voices.engines.espeak import espeak_stress

    assert espeak_stress("ˈkeɪləb") == "kˈeɪləb"
    assert espeak_stress("ˌɛdʒiˈoʊfɔːr") == "ˌɛdʒiˈoʊfɔːɹ"
    assert espeak_stress("ˈgliːsən") == "ɡlˈiːsən"


def test_engines_without_phoneme_input_say_the_alias():
    engine = ToneEngine()
    utterance = Utterance("Caleb", "Kay leb", phonemes=(("Kay leb", "ˈkeɪləb"),))
    synthesize_utterance(engine, utterance)
    assert engine.spoken == ["Kay leb"]


def narrator(*args, cwd):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NARRATOR_DATA_DIR": str(cwd / "data")}
    return subprocess.run([sys.executable, "-m", "cli", *args], cwd=cwd, capture_output=True,
                          text=True, env=env, timeout=600)


def test_cli_applies_lexicons_and_the_transcript_keeps_the_original(tmp_path):
    (tmp_path / "review.txt").write_text("Then Nathan hires Caleb. Caleb meets Ava.\n")
    (tmp_path / "names.txt").write_text("Nathan\tJonathan\n")
    (tmp_path / "more.pls").write_text(
        '<lexicon xmlns="http://www.w3.org/2005/01/pronunciation-lexicon" version="1.0" '
        'alphabet="ipa"><lexeme><grapheme>Caleb</grapheme><phoneme>ˈkeɪləb</phoneme>'
        '</lexeme></lexicon>')
    result = narrator("narrate", "review.txt", "--voice", "male", "--lexicon", "names.txt",
                      "--lexicon", "more.pls", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    vtt = (tmp_path / "review.vtt").read_text()
    assert "Then Nathan hires Caleb." in vtt and "Jonathan" not in vtt
    lines = result.stdout.splitlines()
    assert lines[1].startswith("3 names; 1 not in your lexicon")
    assert lines[2] == "not in your lexicon: Ava"


def test_cli_refuses_a_bad_lexicon_in_one_line_naming_the_entry(tmp_path):
    (tmp_path / "review.txt").write_text("Nathan hires Caleb.\n")
    (tmp_path / "names.txt").write_text("Nathan\tJonathan\nCaleb\t/k@leb/\n")
    result = narrator("narrate", "review.txt", "--voice", "male", "--lexicon", "names.txt",
                      cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "narrator: names.txt, line 2: 'k@leb' is not IPA: '@' is not an IPA symbol (X-SAMPA is "
        "not supported; write e.g. ˈkeɪləb)."]
    assert not (tmp_path / "review.mp3").exists()


class Counting:
    """A real voice that records what it is asked to say (same identity, so the same cache)."""

    def __init__(self, engine):
        self.engine, self.said = engine, []
        self.identity, self.sample_rate, self.max_chars = (engine.identity, engine.sample_rate,
                                                           engine.max_chars)

    def synthesize(self, text, speed=1.0):
        self.said.append(text)
        return self.engine.synthesize(text, speed)

    def synthesize_phonemes(self, text, phonemes, speed=1.0):
        self.said.append(text)
        return self.engine.synthesize_phonemes(text, phonemes, speed)


def test_editing_a_lexicon_re_renders_only_the_sentences_it_touches(tmp_path, engine):
    from narration.cache import SentenceCache
    from narration.pipeline import narrate
    from narration.reading import read_plain

    document = read_plain("Caleb arrives at the house. The door is open. Nathan is waiting.\n")
    cache = SentenceCache(tmp_path / "cache", 1 << 28)
    voice = Counting(engine)
    narrate(document, voice, tmp_path / "a.mp3", cache=cache,
            lexicon=parse_lexicon("Caleb\t/ˈkeɪləb/\n"))
    assert len(voice.said) == 3
    voice.said.clear()
    narrate(document, voice, tmp_path / "b.mp3", cache=cache,
            lexicon=parse_lexicon("Caleb\t/ˈkeɪləb/\nNathan\t/ˈneɪθən/\n"))
    assert voice.said == ["Nathan is waiting."]
    assert "Nathan is waiting." in (tmp_path / "b.vtt").read_text()
