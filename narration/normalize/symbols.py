"""Typography and symbols: quotes, dashes, ellipses, stars, signs, emoji, and the final cleanup."""

from __future__ import annotations

import re
import unicodedata

from narration.normalize.context import ends_text, starts_text

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_SPACES = re.compile(r"[\u00a0\u2000-\u200a\u202f\u205f\u3000\t\r\n\f\v]")
_QUOTES = str.maketrans({
    "‘": "'", "’": "'", "‚": "'", "ʼ": "'", "′": "'", "`": "'", "‹": "'", "›": "'",
    "“": '"', "”": '"', "„": '"', "″": '"', "«": '"', "»": '"',
})

# Engines disagree on "…" (some pause, some say "dot dot dot", some ignore it); a comma makes
# every engine pause briefly, so a mid-sentence ellipsis becomes ", " and a final one ".".
_ELLIPSIS = re.compile(r"\s*(?:…|\.{2,})[.…]*\s*")

_STARS = re.compile(r"(?P<full>[★⭐]+)\s?(?P<half>½)?(?P<empty>☆*)")
_VULGAR_FRACTIONS = {"½": ("a half", "one half"), "¼": ("a quarter", "one quarter"),
                     "¾": ("three quarters", "three quarters"), "⅓": ("a third", "one third"),
                     "⅔": ("two thirds", "two thirds"), "⅛": ("an eighth", "one eighth")}

# Symbols said as words; anything else outside the allowed set is dropped at the end.
_SIGNS = (
    (re.compile(r"\s*&\s*"), " and "),
    (re.compile(r"#(?=\d)"), "number "),
    (re.compile(r"#(?=[^\W\d_])"), ""),  # hashtags: say the tag
    (re.compile(r"\s*\+\s*"), " plus "),
    (re.compile(r"\s*=\s*"), " equals "),
    (re.compile(r"\s*@\s*"), " at "),
    (re.compile(r"\s*[|•·▪◦‣]\s*"), ", "),  # separators in bylines and lists
    (re.compile(r"[™®©℠]"), ""),
)
_ALLOWED = set(".,!?;:'\"()- ")


def _speak_stars(match: re.Match) -> str:
    """"★★★½" → "3 and a half stars", "★★★★☆" → "4 out of 5 stars", "★" → "1 star"."""
    full = len(match.group("full"))
    half = " and a half" if match.group("half") else ""
    total = full + bool(match.group("half")) + len(match.group("empty"))
    out_of = f" out of {total}" if match.group("empty") else ""
    noun = "star" if full == 1 and not half and not out_of else "stars"
    return f" {full}{half}{out_of} {noun} "


def _speak_vulgar_fraction(match: re.Match) -> str:
    """"3½" → "3 and a half", "½" → "one half"; "3½/5" → "3.5/5" so ratings still read well."""
    whole, symbol, slash = match.group(1) or "", match.group(2), match.group(3)
    if whole and symbol == "½" and slash:
        return f"{whole}.5{slash}"
    after_number, alone = _VULGAR_FRACTIONS[symbol]
    return f"{whole} and {after_number}{slash}" if whole else f"{alone}{slash}"


def _replace_ellipsis(match: re.Match) -> str:
    """Mid-sentence ellipsis → ", "; at the end → "."; before "?"/"!" or at the start → nothing."""
    text = match.string
    if starts_text(text, match.start()):
        return ""
    if ends_text(text, match.end()):
        return "."
    if text[match.end() : match.end() + 1] in ("?", "!", ",", ";", ":"):
        return ""
    return ", "


def _replace_dashes(text: str) -> str:
    """Dashes between words → a comma pause; between numbers → "-" (a range); hyphens stay."""
    text = text.replace("−", "-")  # the minus sign
    text = re.sub(r"(?<=\d)\s*[–-]\s*(?=\d)", "-", text)
    text = re.sub(r"\s*(?:—|―|--+)\s*", ", ", text)
    text = re.sub(r"\s+[–-]\s+", ", ", text)
    return text.replace("–", "-")


def clean_typography(text: str) -> str:
    """First pass: one kind of space, straight quotes, spoken stars and fractions, no ellipses."""
    text = unicodedata.normalize("NFC", text).translate(_INVISIBLE)
    # One space between words from here on: it also keeps later patterns' "\s*" runs short.
    text = re.sub(r"\s+", " ", _SPACES.sub(" ", text)).translate(_QUOTES)
    text = _STARS.sub(_speak_stars, text)
    text = re.sub(r"(?:(?<!\d)(\d+) ?)?([½¼¾⅓⅔⅛])(/?)", _speak_vulgar_fraction, text)
    text = _ELLIPSIS.sub(_replace_ellipsis, text)
    text = _replace_dashes(text)
    for pattern, spoken in _SIGNS:
        text = pattern.sub(spoken, text)
    return text


def _allowed(char: str) -> bool:
    """Letters (any script, with their accents), digits, spaces and basic punctuation."""
    if char in _ALLOWED:
        return True
    category = unicodedata.category(char)
    return category[0] in "LM" or category == "Nd"


def tidy(text: str) -> str:
    """Last pass: drop what engines read badly (emoji, stray symbols) and tidy the punctuation."""
    text = text.replace("/", " ").replace("[", "(").replace("]", ")").replace("{", "(").replace("}", ")")
    text = "".join(char if _allowed(char) else " " for char in text)
    text = re.sub(r"(?<![^\W_])-|-(?![^\W_])", " ", text)  # a hyphen not joining two words
    text = re.sub(r"([!?])[!?]+", r"\1", text)  # "!!!" → "!", "?!" → "?"
    text = re.sub(r"\(\s*\)", " ", text)
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"\s+([.,!?;:)])", r"\1", text)
    text = re.sub(r"([(])\s+", r"\1", text)
    text = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text)  # ", ," → ","
    text = re.sub(r"[,;:]+\s*([.!?])", r"\1", text)  # ", ." → "."
    text = re.sub(r"^[\s.,;:!?)]+", "", text)  # nothing to pause after at the start
    text = re.sub(r"\s*,\s*$", "", text)
    return text.strip()
