"""Capital letters: acronyms spelled out ("TV" → "T V"), shouted words, Roman numerals."""

from __future__ import annotations

import re

from narration.normalize.numbers import cardinal, ordinal
from narration.normalize.words import COMMON_SHORT_WORDS

# Acronyms people say as words; written title-case so no engine spells them out.
SAID_AS_WORDS = frozenset(
    """NASA NATO UNESCO UNICEF AIDS LASER RADAR SCUBA SONAR SWAT FIFA UEFA OPEC NAFTA COVID
    SARS IKEA LEGO GIF JPEG PIN SIM ZIP POTUS SCOTUS NIMBY YOLO FOMO WASP OLED RAM ROM CAPTCHA
    IMAX CERN DARPA NASCAR
    """.split()
)
# Capitalized words that read better as a different word.
_SPECIAL = {"OK": "okay", "WWI": "World War one", "WWII": "World War two", "WW2": "World War two"}
# In mixed-case text these are more often acronyms ("the US economy", "the IT desk") than
# shouted words; in a shouted sentence they are words again.
_AMBIGUOUS = frozenset({"us", "it", "id"})
_VOWELS = set("AEIOUY")
_MIN_SHOUTED_WORDS = 3


def _roman_values() -> dict[str, int]:
    """Roman numerals II–XXXIX (enough for sequels, wars and most regnal numbers)."""
    ones = ["", "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX"]
    tens = ["", "X", "XX", "XXX"]
    return {tens[value // 10] + ones[value % 10]: value for value in range(2, 40)}


_ROMAN = _roman_values()
# Names whose numerals are said "the eighth": monarchs and popes.
_REGNAL_NAMES = frozenset(
    """Henry Edward George William Richard James Charles Louis Elizabeth Mary Anne Victoria
    Philip Frederick Peter Catherine Ivan Gustav Ludwig Pius Benedict Gregory Leo Innocent
    Clement Boniface Urban Paul John Alexander Constantine Ferdinand Francis Alfonso""".split()
)
# Words after which even "V" and "X" are numerals ("Part V", "Chapter X").
_SEQUENCE_WORDS = frozenset("part chapter volume vol episode act book season phase level".split())
_ROMAN_AFTER_WORD = re.compile(r"\b(?P<word>[A-Z][a-z]+\.?)\s+(?P<roman>[IVX]{1,6})\b(?!['-]\w)")


def _speak_roman(match: re.Match) -> str:
    """"Rocky IV" → "Rocky four", "Henry VIII" → "Henry the eighth"; "Malcolm X" stays."""
    word, roman = match.group("word"), match.group("roman")
    value = _ROMAN.get(roman)
    if value is None:
        return match.group(0)
    if word in _REGNAL_NAMES:
        return f"{word} the {ordinal(value)}"
    if len(roman) == 1 and word.rstrip(".").lower() not in _SEQUENCE_WORDS:
        return match.group(0)  # "Malcolm X", "Generation X", "Plan V" are letters
    return f"{word} {cardinal(str(value))}"


def speak_roman_numerals(text: str) -> str:
    """Read Roman numerals after a capitalized word (titles, wars, monarchs); "I" is never one."""
    return _ROMAN_AFTER_WORD.sub(_speak_roman, text)


_MIXED_TOKEN = re.compile(r"\b(?=[A-Za-z]*\d)(?=\d*[A-Za-z])[A-Za-z\d]+\b")


def _split_mixed(match: re.Match) -> str:
    """"OS1" → "OS 1", "MP3" → "MP 3", "mp3" → "m p 3": letters and digits said separately."""
    token = match.group(0)
    if token.upper() in _SPECIAL:
        return token
    runs = re.findall(r"[A-Za-z]+|\d+", token)
    spoken = []
    for run in runs:
        if run.islower() and not set(run.upper()) & _VOWELS:
            run = " ".join(run)  # "mp" has no vowel: a word it cannot be
        spoken.append(run)
    return " ".join(spoken)


def split_letters_and_digits(text: str) -> str:
    """Separate letters from digits inside tokens so each part is read on its own."""
    return _MIXED_TOKEN.sub(_split_mixed, text)


# A capitalized token: a shouted contraction ("DON'T", "I'M") or two or more capitals (digits
# only inside tokens kept whole, like "WW2"), with an optional lowercase plural ("TVs", "OS'es").
_CAPS_WORD = re.compile(
    r"(?<![\w'])(?P<word>[A-Z]+'[A-Z]{1,2}|[A-Z][A-Z\d]*[A-Z\d])(?P<suffix>'s|'es|es|s)?(?![\w'])"
)
_ALPHA_WORD = re.compile(r"[^\W\d_]{2,}")


def _is_shouted(text: str) -> bool:
    """True when most words of the sentence are in capitals ("THIS IS THE BEST FILM")."""
    words = _ALPHA_WORD.findall(text)
    shouted = [word for word in words if word.isupper()]
    return len(shouted) >= _MIN_SHOUTED_WORDS and len(shouted) * 2 > len(words)


def _spell(word: str) -> str:
    """"USA" → "U S A"."""
    return " ".join(word)


def _speak_caps(match: re.Match, shouted: bool) -> str:
    """Decide how a capitalized token is said: as a word, lowercased, or letter by letter."""
    word, suffix = match.group("word"), match.group("suffix") or ""
    plural = "'s" if suffix else ""
    if "'" in word:  # a shouted contraction: "DON'T" → "don't", "I'M" → "I'm"
        lowered = word.lower()
        return ("I" + lowered[1:] if lowered.startswith("i'") else lowered) + suffix
    lowered = word.lower()
    if word in _SPECIAL:
        return _SPECIAL[word] + suffix
    if word in SAID_AS_WORDS:
        return word.capitalize() + suffix
    if suffix == "s" and word + "S" in SAID_AS_WORDS:
        return (word + "S").capitalize()
    if len(word) >= 5:
        # Long capitalized words are shouted words ("SPOILERS"), unless no vowel ("HTTPS").
        return lowered + suffix if set(word) & _VOWELS else _spell(word) + plural
    if lowered in COMMON_SHORT_WORDS and (shouted or lowered not in _AMBIGUOUS):
        return lowered + suffix
    return _spell(word) + plural


def speak_capitals(text: str) -> str:
    """Spell out acronyms, lowercase shouted words, keep acronyms said as words readable."""
    shouted = _is_shouted(text)
    return _CAPS_WORD.sub(lambda match: _speak_caps(match, shouted), text)
