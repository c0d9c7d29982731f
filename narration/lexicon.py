"""Pronunciation lexicons: W3C PLS 1.0 files or a plain two-column list, applied to what is spoken.

An entry maps a grapheme (a word or phrase as written) to an alias (a respelling every engine can
say) and/or IPA phonemes (for engines that take phonemes; Piper and Kokoro do). Applying a lexicon
to an utterance changes only its spoken form and adds phoneme overrides; `Utterance.text` (the
transcript) keeps the original wording.

Matching is whole-word. A grapheme with a capital letter is a name and matches case-sensitively
(also in capitals: "CALEB"); an all-lowercase grapheme matches in any case ("read" and "Read").
A possessive ("Nathan's", "Nathan’s") matches too, keeping its ending.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass, replace
from typing import Iterable

from narration.errors import NarrationError

PLS_NAMESPACE = "http://www.w3.org/2005/01/pronunciation-lexicon"
MAX_ENTRIES = 10_000
"""More entries than any hand-made lexicon has; a bound keeps matching fast and uploads small."""
MAX_GRAPHEME_CHARS = 100

# IPA as Piper and Kokoro read it (espeak-ng's IPA output): letters, combining marks, stress,
# length, tie bars and syllable breaks. Anything else (ASCII punctuation, digits, X-SAMPA's "@",
# "{", "3") means the entry was not written in IPA.
_IPA_EXTRA = set("ˈˌːˑ.‿͡ ʲʷʰˠˤ̃ᵻɚɝ")


class LexiconError(NarrationError):
    """A lexicon file is malformed; the message names the entry (line or lexeme) and what is wrong."""

    code = "invalid_lexicon"


@dataclass(frozen=True)
class Entry:
    """One pronunciation: `grapheme` said as `alias` and/or as the IPA `phonemes`."""

    grapheme: str
    alias: str = ""
    phonemes: str = ""
    """IPA without slashes; empty when the entry has only an alias."""

    @property
    def is_name(self) -> bool:
        """Written with a capital: matched case-sensitively, so "Will" leaves "will" alone."""
        return any(char.isupper() for char in self.grapheme)

    @property
    def key(self) -> str:
        """Entries with the same key replace each other when lexicons are merged."""
        return self.grapheme if self.is_name else self.grapheme.lower()


@dataclass(frozen=True)
class Applied:
    """An utterance's spoken text with aliases applied, and the IPA for words engines can take."""

    spoken: str
    phonemes: tuple[tuple[str, str], ...] = ()
    """(text as it stands in `spoken`, IPA) pairs; engines without phoneme input ignore them."""
    matched: tuple[str, ...] = ()
    """Graphemes of the entries that matched, in order of first match."""


class Lexicon:
    """A set of entries, ready to apply; build with `parse_lexicon` or `merge_lexicons`."""

    def __init__(self, entries: Iterable[Entry] = ()):
        by_key: dict[str, Entry] = {}
        for entry in entries:
            by_key.pop(entry.key, None)  # a later entry wins and moves to the end
            by_key[entry.key] = entry
        self.entries: tuple[Entry, ...] = tuple(by_key.values())
        self._by_fold: dict[str, list[Entry]] = {}
        for entry in self.entries:
            self._by_fold.setdefault(entry.grapheme.lower(), []).append(entry)
        self._pattern = _pattern(self.entries) if self.entries else None

    def __len__(self) -> int:
        return len(self.entries)

    def __bool__(self) -> bool:
        return bool(self.entries)

    @property
    def digest(self) -> str:
        """A short hash of the entries, for caches keyed by a whole lexicon (previews)."""
        data = json.dumps([[e.grapheme, e.alias, e.phonemes] for e in self.entries])
        return hashlib.sha256(data.encode()).hexdigest()[:16]

    def lookup(self, word: str) -> Entry | None:
        """The entry that applies to `word` (without a possessive ending), or None: a name as
        written or in capitals, else a lowercase entry in any case."""
        candidates = self._by_fold.get(word.lower(), ())
        for entry in candidates:
            if entry.is_name and word in (entry.grapheme, entry.grapheme.upper()):
                return entry
        return next((entry for entry in candidates if not entry.is_name), None)

    def apply(self, spoken: str) -> Applied:
        """Replace every matching word of `spoken`; IPA entries also give a phoneme override."""
        if self._pattern is None:
            return Applied(spoken)
        overrides: dict[str, str] = {}
        matched: dict[str, None] = {}

        def substitute(match: re.Match) -> str:
            word, possessive = match.group("word"), match.group("possessive") or ""
            entry = self.lookup(" ".join(word.split()))
            if entry is None:
                return match.group(0)
            matched[entry.grapheme] = None
            alias = entry.alias
            if alias and word[0].isupper() and alias[0].islower():  # "Read it" → "Reed it"
                alias = alias[0].upper() + alias[1:]
            said = (alias or word) + possessive
            if entry.phonemes:
                overrides[said] = entry.phonemes + possessive_ipa(entry.phonemes, possessive)
            return said

        text = self._pattern.sub(substitute, spoken)
        return Applied(text, tuple(overrides.items()), tuple(matched))


def possessive_ipa(phonemes: str, possessive: str) -> str:
    """The sound of "'s" after these phonemes: /ɪz/ after a sibilant, /s/ after a voiceless sound."""
    if not possessive:
        return ""
    if possessive in ("'", "’"):  # "the Joneses'": nothing more is said
        return ""
    last = phonemes.rstrip("ˈˌː ")[-1:]
    if last in ("s", "z", "ʃ", "ʒ") or phonemes.endswith(("tʃ", "dʒ")):
        return "ɪz"
    return "s" if last in ("p", "t", "k", "f", "θ") else "z"


def _pattern(entries: tuple[Entry, ...]) -> re.Pattern:
    """One regex for all graphemes, longest first so "Domhnall Gleeson" beats "Domhnall".

    Matched case-insensitively; `Lexicon.lookup` then enforces case for names. Whitespace inside
    a phrase matches any run of whitespace.
    """
    graphemes = sorted({e.grapheme for e in entries}, key=len, reverse=True)
    alternatives = "|".join(r"\s+".join(map(re.escape, g.split())) for g in graphemes)
    return re.compile(rf"(?<![\w'’-])(?P<word>{alternatives})(?P<possessive>['’]s\b|['’](?!\w))?"
                      rf"(?![\w-])", re.IGNORECASE)


def merge_lexicons(lexicons: Iterable[Lexicon]) -> Lexicon:
    """One lexicon from several; for the same grapheme, the later lexicon's entry wins."""
    return Lexicon(entry for lexicon in lexicons for entry in lexicon.entries)


def apply_to_utterance(utterance, lexicon: Lexicon | None):
    """The utterance with the lexicon applied to its spoken form (its text is left as written)."""
    if not lexicon:
        return utterance
    applied = lexicon.apply(utterance.spoken)
    if applied.spoken == utterance.spoken and not applied.phonemes:
        return utterance
    return replace(utterance, spoken=applied.spoken, phonemes=applied.phonemes)


def apply_to_scripts(scripts, lexicon: Lexicon | None):
    """Every chapter script with the lexicon applied (what a plan stores and chapters render)."""
    if not lexicon:
        return scripts
    return tuple(replace(script, utterances=tuple(apply_to_utterance(u, lexicon)
                                                  for u in script.utterances))
                 for script in scripts)


# ---------------------------------------------------------------------------------------------
# Parsing


FORMATS = ("pls", "text")


def lexicon_format(data: str) -> str:
    """"pls" for an XML document (it starts with "<"), else "text" (two columns)."""
    return "pls" if data.lstrip().startswith("<") else "text"


def parse_lexicon(data: bytes | str, name: str = "lexicon", format: str | None = None) -> Lexicon:
    """A PLS document or a two-column list (`format` "pls" or "text"; None: by its first
    character); LexiconError names the entry that is wrong and what is wrong with it."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise LexiconError(f"{name}: not UTF-8 (byte {error.start}); save it as UTF-8.") from None
    if not data.strip():
        raise LexiconError(f"{name}: the lexicon is empty; give at least one entry.")
    format = format or lexicon_format(data)
    entries = _parse_pls(data, name) if format == "pls" else _parse_columns(data, name)
    if not entries:
        raise LexiconError(f"{name}: the lexicon has no entries.")
    if len(entries) > MAX_ENTRIES:
        raise LexiconError(f"{name}: {len(entries)} entries; the limit is {MAX_ENTRIES}.")
    return Lexicon(entries)


def _parse_columns(text: str, name: str) -> list[Entry]:
    """Lines of `word<TAB>respelling` or `word<TAB>/ipa/` (a comma or, for one word, a space
    also separates); a third column may give the other form. `#` starts a comment line."""
    entries = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        where = f"{name}, line {number}"
        if "\t" in line:
            columns = [c.strip() for c in line.split("\t") if c.strip()]
        elif "," in line:
            columns = [c.strip() for c in line.split(",")]
        else:
            columns = line.split(None, 1)
        if len(columns) < 2 or not all(columns):
            raise LexiconError(f"{where}: {line!r} needs two columns: the word, then a tab and "
                               "its respelling or /IPA/.")
        if len(columns) > 3:
            raise LexiconError(f"{where}: {len(columns)} columns; write the word, then a "
                               "respelling and/or /IPA/.")
        alias = phonemes = ""
        for column in columns[1:]:
            if column.startswith("/"):
                if not column.endswith("/") or len(column) < 3:
                    raise LexiconError(f"{where}: IPA {column!r} must be written between "
                                       "slashes, like /ˈkeɪləb/.")
                phonemes = _checked_ipa(column[1:-1].strip(), where)
            else:
                alias = _checked_alias(column, where)
        entries.append(Entry(_checked_grapheme(columns[0], where), alias, phonemes))
    return entries


def _parse_pls(text: str, name: str) -> list[Entry]:
    """PLS 1.0: <lexicon alphabet="ipa"> of <lexeme>s with <grapheme>s and <phoneme>/<alias>."""
    import defusedxml.ElementTree as ElementTree  # refuses entity bombs and external entities
    from defusedxml import DefusedXmlException
    from xml.etree.ElementTree import ParseError

    try:
        root = ElementTree.fromstring(text)
    except ParseError as error:
        line, column = error.position
        raise LexiconError(f"{name}: not well-formed XML at line {line}, column {column + 1} "
                           f"({str(error).split(':')[0]}).") from None
    except DefusedXmlException:
        raise LexiconError(f"{name}: entities and DTDs are not allowed in a lexicon.") from None
    if root.tag not in (f"{{{PLS_NAMESPACE}}}lexicon", "lexicon"):
        raise LexiconError(f"{name}: the root element must be <lexicon> in the namespace "
                           f"{PLS_NAMESPACE}, not <{_local(root.tag)}>.")
    alphabet = root.get("alphabet", "ipa")
    entries = []
    lexemes = [child for child in root if _local(child.tag) == "lexeme"]
    for number, lexeme in enumerate(lexemes, start=1):
        graphemes = [_text(g) for g in lexeme if _local(g.tag) == "grapheme"]
        label = f"{name}, lexeme {number}" + (f" ({graphemes[0]!r})" if graphemes else "")
        if not graphemes or not all(graphemes):
            raise LexiconError(f"{label}: every <lexeme> needs a non-empty <grapheme>.")
        aliases = [_text(a) for a in lexeme if _local(a.tag) == "alias"]
        phonemes = [p for p in lexeme if _local(p.tag) == "phoneme"]
        if not aliases and not phonemes:
            raise LexiconError(f"{label}: give a <phoneme> or an <alias>.")
        ipa = ""
        if phonemes:
            wanted = phonemes[0].get("alphabet", alphabet)
            if wanted.lower() != "ipa":
                raise LexiconError(f"{label}: phoneme alphabet {wanted!r} is not supported; "
                                   'write IPA (alphabet="ipa") or use an <alias>.')
            ipa = _checked_ipa(_text(phonemes[0]), label)
        alias = _checked_alias(aliases[0], label) if aliases else ""
        for grapheme in graphemes:
            entries.append(Entry(_checked_grapheme(grapheme, label), alias, ipa))
    return entries


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _text(element) -> str:
    return " ".join("".join(element.itertext()).split())


def _checked_grapheme(grapheme: str, where: str) -> str:
    grapheme = " ".join(unicodedata.normalize("NFC", grapheme).split())
    if len(grapheme) > MAX_GRAPHEME_CHARS:
        raise LexiconError(f"{where}: the word is {len(grapheme)} characters long; the limit "
                           f"is {MAX_GRAPHEME_CHARS}.")
    if not any(char.isalnum() for char in grapheme):
        raise LexiconError(f"{where}: {grapheme!r} has no letters; a lexicon entry is a word.")
    return grapheme


def _checked_alias(alias: str, where: str) -> str:
    alias = " ".join(alias.split())
    if not alias or not any(char.isalnum() for char in alias):
        raise LexiconError(f"{where}: the alias {alias!r} has no letters; write how the word "
                           "sounds, e.g. KAY-leb.")
    return alias


def _checked_ipa(ipa: str, where: str) -> str:
    ipa = unicodedata.normalize("NFC", " ".join(ipa.split()))
    if not ipa:
        raise LexiconError(f"{where}: the IPA is empty.")
    for char in ipa:
        if not (char.isalpha() or char in _IPA_EXTRA or unicodedata.combining(char)):
            raise LexiconError(f"{where}: {ipa!r} is not IPA: {char!r} is not an IPA symbol "
                               "(X-SAMPA is not supported; write e.g. ˈkeɪləb).")
        if char.isascii() and char.isupper():
            raise LexiconError(f"{where}: {ipa!r} is not IPA: capital {char!r} is not an IPA "
                               "symbol (X-SAMPA is not supported; write e.g. ˈkeɪləb).")
    return ipa


def read_lexicon_files(paths: Iterable) -> Lexicon:
    """Several lexicon files merged in order (later wins); an unreadable file is a LexiconError."""
    from pathlib import Path

    lexicons = []
    for path in paths:
        path = Path(path)
        try:
            data = path.read_bytes()
        except OSError as error:
            raise LexiconError(f"cannot read lexicon {path}: {error.strerror}.") from None
        lexicons.append(parse_lexicon(data, str(path)))
    return merge_lexicons(lexicons)


def service_lexicon(settings=None) -> Lexicon:
    """The service-wide lexicon (NARRATOR_LEXICON_FILE), empty when unset; re-read when the file
    changes, so an edit applies to the next narration without a restart."""
    import os

    if settings is None:
        from narration.settings import load_settings

        settings = load_settings()
    path = settings.lexicon_file
    if not path:
        return Lexicon()
    path = os.path.expanduser(path)
    try:
        stamp = os.stat(path).st_mtime_ns
    except OSError as error:
        raise LexiconError(f"NARRATOR_LEXICON_FILE={path}: {error.strerror}; fix the path or "
                           "unset it.") from None
    return _read_service_lexicon(path, stamp)


@functools.lru_cache(maxsize=4)
def _read_service_lexicon(path: str, _stamp: int) -> Lexicon:
    return read_lexicon_files([path])
