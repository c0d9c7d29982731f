"""Which words espeak-ng knows: its dictionary, as opposed to pronunciations it guesses by rule.

Piper and Kokoro both phonemize English with espeak-ng. espeak-ng's translation trace (what
`espeak-ng -X` prints) says, word by word, "Found: 'word'" when its dictionary has the word and
"Translate 'word'" when it builds the pronunciation from spelling rules. The espeak-ng library
that kokoro-onnx already ships (espeakng_loader) writes that trace through
espeak_SetPhonemeTrace; the C API has no other way to tell, so it is read through ctypes here.
phonemizer (Kokoro's phonemizer) loads its own copy of the library, so this one's global state
does not disturb synthesis.
"""

from __future__ import annotations

import ctypes
import functools
import os
import re
import tempfile
import threading

AUDIO_OUTPUT_SYNCHRONOUS = 0x02
PHONEMES_TRACE = 0x08
"""espeakPHONEMES_TRACE: write the translation trace to the stream."""
PHONEMES_IPA = 0x02

_lock = threading.Lock()  # espeak-ng keeps global state: one caller at a time
_FOUND = re.compile(r"^Found: '([^' ]+)")


def available() -> bool:
    """True when espeakng_loader (installed with kokoro-onnx) is importable."""
    import importlib.util

    return importlib.util.find_spec("espeakng_loader") is not None


class _Espeak:
    """The library, initialized once, with its trace going to a temporary file we read back."""

    def __init__(self):
        import espeakng_loader

        self.lib = ctypes.CDLL(espeakng_loader.get_library_path())
        self.libc = ctypes.CDLL(None)
        self.libc.fopen.restype = ctypes.c_void_p
        self.libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
        self.libc.fflush.argtypes = [ctypes.c_void_p]
        self.lib.espeak_SetPhonemeTrace.argtypes = [ctypes.c_int, ctypes.c_void_p]
        self.lib.espeak_TextToPhonemes.restype = ctypes.c_char_p
        self.lib.espeak_TextToPhonemes.argtypes = [ctypes.POINTER(ctypes.c_char_p), ctypes.c_int,
                                                   ctypes.c_int]
        data = espeakng_loader.get_data_path().encode()
        if self.lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, data, 0) <= 0:
            raise OSError("espeak-ng did not initialize")
        handle, self.trace_path = tempfile.mkstemp(prefix="narrator-espeak-", suffix=".trace")
        os.close(handle)
        self.stream = self.libc.fopen(self.trace_path.encode(), b"w")
        self.reader = open(self.trace_path, encoding="utf-8", errors="replace")
        self.lib.espeak_SetPhonemeTrace(PHONEMES_TRACE, self.stream)
        self.language = ""

    def trace(self, word: str, language: str) -> tuple[str, str]:
        """(IPA, trace text) for one word."""
        if language != self.language:
            if self.lib.espeak_SetVoiceByName(language.encode()) != 0:
                raise ValueError(f"espeak-ng has no voice {language!r}")
            self.language = language
        text = ctypes.c_char_p(word.encode())
        pointer = ctypes.pointer(text)
        ipa = []
        while text.value:
            out = self.lib.espeak_TextToPhonemes(pointer, 0, PHONEMES_IPA)
            ipa.append((out or b"").decode("utf-8", "replace"))
        self.libc.fflush(self.stream)
        return " ".join(ipa).strip(), self.reader.read()


@functools.lru_cache(maxsize=1)
def _espeak() -> _Espeak:
    return _Espeak()


@functools.lru_cache(maxsize=20_000)
def knows(word: str, language: str = "en-us") -> bool:
    """True when espeak-ng's dictionary has `word` (or the stem it reduced it to)."""
    with _lock:
        _ipa, trace = _espeak().trace(word, language)
    return any(_FOUND.match(line) for line in trace.splitlines())


def guessed_words(words, language: str = "en-us") -> set[str]:
    """The words espeak-ng pronounces by spelling rules alone, without a dictionary entry."""
    return {word for word in words if not knows(word, language)}


def phonemize_word(word: str, language: str = "en-us") -> str:
    """espeak-ng's IPA for one word (what a lexicon entry would replace)."""
    with _lock:
        ipa, _trace = _espeak().trace(word, language)
    return ipa


VOWELS = set("aeiouyæɑɒɐɔəɘɚɛɜɝɞɨɪʉʊʌʏøœɶɤɯᵻ")
STRESS = "ˈˌ"


SPELLINGS = str.maketrans({"g": "ɡ", "r": "ɹ"})
"""IPA letters people type that espeak-ng writes otherwise: Piper's phoneme table has no ASCII
"g" (the phoneme is dropped), and English espeak-ng writes the English r as "ɹ"."""


def espeak_stress(ipa: str) -> str:
    """IPA as espeak-ng writes it: each stress mark moved to just before its syllable's vowel
    ("ˈkeɪləb" → "kˈeɪləb"), and "g"/"r" as "ɡ"/"ɹ". Piper and Kokoro were trained on
    espeak-ng's phonemes; with the mark at the syllable's start, as dictionaries write IPA,
    the stress lands on the consonant and names were heard worse than without a lexicon
    (measured on Piper)."""
    ipa = ipa.translate(SPELLINGS)
    out: list[str] = []
    pending = ""
    for char in ipa:
        if char in STRESS:
            pending = char
        elif pending and (char in VOWELS or char.isspace()):
            out.append(pending)
            pending = ""
            out.append(char)
        else:
            out.append(char)
    return "".join(out) + pending
