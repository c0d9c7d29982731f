"""Web addresses and e-mail addresses → what a person would say ("example dot com")."""

from __future__ import annotations

import re

# Top-level domains recognised without "http://" or "www."; a longer list would turn typos
# like "end.Then" into addresses.
_BARE_TLDS = "com|org|net|edu|gov|io|co|uk|de|fr|se|no|info|tv|dev|app|ly|me"
_URL = re.compile(
    rf"\b(?:https?://|www\.)[^\s<>\"'“”]+|\b(?:[a-z0-9-]+\.)+(?:{_BARE_TLDS})\b(?:/[^\s<>\"'“”]*)?",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"\b[\w.+-]+@(?:[\w-]+\.)+[A-Za-z]{2,}\b")
_TRAILING_PUNCTUATION = ".,;:!?)]}'\""
# Two-letter country domains are said letter by letter ("dot U K"); these read as words.
_SAID_AS_WORDS = {"co", "me"}


def _speak_host(host: str) -> str:
    """"www.Example.co.uk" → "Example dot co dot U K"."""
    labels = [label for label in host.split(".") if label]
    if labels and labels[0].lower() == "www":
        labels = labels[1:]
    if labels and len(labels[-1]) == 2 and labels[-1].lower() not in _SAID_AS_WORDS:
        labels[-1] = " ".join(labels[-1].upper())
    return " dot ".join(labels)


def _speak_url(match: re.Match) -> str:
    """Say only the site's name: paths and queries are noise when heard."""
    url = match.group(0)
    trailing = url[len(url.rstrip(_TRAILING_PUNCTUATION)):]
    url = url[: len(url) - len(trailing)]
    host = re.sub(r"^[a-z]+://", "", url, flags=re.IGNORECASE)
    host = re.split(r"[/?#:]", host, maxsplit=1)[0]
    return _speak_host(host) + trailing


def _speak_email(match: re.Match) -> str:
    """"jane.doe@example.com" → "jane dot doe at example dot com"."""
    local, _, host = match.group(0).partition("@")
    local = local.replace(".", " dot ").replace("_", " underscore ").replace("+", " plus ")
    return f"{local} at {_speak_host(host)}"


def speak_web_addresses(text: str) -> str:
    """Replace e-mail addresses and URLs before other rules take their dots and slashes apart."""
    text = _EMAIL.sub(_speak_email, text)
    return _URL.sub(_speak_url, text)
