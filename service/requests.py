"""Turn a POST /api/v1/narrations request into a checked `NarrationRequest`, or a clear 4xx.

Two request forms:
- JSON `{title?, author?, text | markdown | chapters | html | url, voice, quote_voice?, speed?,
  feed?, lexicons?, check?}` (a `url` is fetched by the plan task on a worker, never here);
- a raw `text/plain`, `text/markdown` or `text/html` body with `title`, `author`, `voice`,
  `quote_voice`, `speed`, `feed` as query parameters.

`quote_voice` (a voice id or alias, checked like `voice`) has quotations read by that voice
(narration.quotes); it is kept in the stored request as the voice's id.

`feed` is a feed id, "default" (also what leaving it out means), or JSON null / "none" for no
feed at all.

The request only checks what is cheap (sizes, types, voice, speed, feed, that the text holds a
word) and stores the text unread: reading, normalizing and splitting it is the workers' plan
step, so a request takes the same time whatever the text, and no text can stall the web process.

Decisions: malformed JSON is 400 (the body cannot be parsed at all). A raw body that is not
valid UTF-8 is 422 `invalid_text` (the request arrived fine; the text in it cannot be read),
while a raw body that declares a charset other than UTF-8 is 415 (that media type is refused
before reading). Unknown JSON fields and query parameters are 422, so a typo never silently
falls back to a default. The voice must be installed on this server (else 503
`voice_unavailable`), so a job is never queued only to fail in the worker.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import uuid
from dataclasses import dataclass, replace

from werkzeug.wrappers import Request

from narration.errors import (EmptyTextError, NarrationError, NothingSpeakableError,
                              VoiceNotFoundError, VoiceUnavailableError)
from narration.fetch import check_url
from narration.normalize import is_speakable, normalize
from narration.pipeline import check_speed
from narration.reading import clean_text, decode_text
from narration.reading.structured import checked_chapters
from service.errors import (InvalidRequestError, MalformedJSONError, MissingFieldError,
                            NotRetryableError, UnsupportedMediaTypeError)
from voices import Catalogue, Voice, recognizer

SOURCES = ("text", "markdown", "chapters", "html", "url")
JSON_FIELDS = {"title", "author", "voice", "quote_voice", "speed", "feed", "lexicons", "check",
               *SOURCES}
QUERY_FIELDS = {"title", "author", "voice", "quote_voice", "speed", "feed"}
NO_FEED = ("none",)
RAW_SOURCES = {"text/plain": "text", "text/markdown": "markdown", "text/html": "html"}
UTF8_CHARSETS = {"utf-8", "utf8", "us-ascii"}
MAX_LABEL = 300
"""Longest title or author accepted, in characters."""
MAX_IDEMPOTENCY_KEY = 255
MAX_VOICE_NAME = 100
"""Longer voice names are refused without being echoed: no voice id comes close."""
MAX_SYMBOLS = 500
_WORD = re.compile(r"[^\W_]")
"""A letter or digit: a text without one has nothing any engine can say."""


@dataclass(frozen=True)
class NarrationRequest:
    """A checked request that can become a job: what was sent, unread, and how to narrate it."""

    request: dict
    """{"source", "input", "title", "author"}: what the plan task reads."""
    source: str
    input_chars: int
    """Characters of text sent (for the daily quota)."""
    title: str
    author: str
    voice: Voice
    speed: float
    request_hash: str
    """Identifies what was asked for, so a reused Idempotency-Key with other content is caught."""
    feed: str | None = "default"
    """A feed id, "default", or None for no feed."""


def parse_narration_request(request: Request, catalogue: Catalogue) -> NarrationRequest:
    """Read the body and parameters, resolve the voice, check speed and plan the chapters."""
    if request.mimetype in RAW_SOURCES:
        fields = raw_fields(request, RAW_SOURCES[request.mimetype])
    else:
        fields = json_object(request, JSON_FIELDS, raw_types=", text/plain, text/markdown or text/html")
    return build_request(fields, catalogue)


def json_object(request: Request, allowed: set[str] | None, *, raw_types: str = "") -> dict:
    """The body's JSON object; `allowed` None means unknown fields are ignored, not refused."""
    mimetype = request.mimetype
    if not (mimetype == "application/json" or mimetype.endswith("+json")):
        raise UnsupportedMediaTypeError(
            f"Content-Type {mimetype or '(none)'} is not accepted here: send application/json"
            f"{raw_types}.", field="Content-Type")
    try:
        fields = json.loads(request.get_data())
    except (ValueError, UnicodeDecodeError) as error:
        raise MalformedJSONError(f"The body is not valid JSON ({error}); check quotes and commas.") from None
    except RecursionError:  # thousands of nested brackets: not a request anyone means
        raise MalformedJSONError("The body nests JSON too deeply to read.") from None
    if not isinstance(fields, dict):
        raise InvalidRequestError("The body must be a JSON object, e.g. {\"voice\": \"female\", …}.")
    unknown = sorted(set(fields) - allowed) if allowed is not None else []
    if unknown:
        raise InvalidRequestError(
            f"Unknown field {unknown[0]!r}; the fields are {', '.join(sorted(allowed))}.",
            field=unknown[0])
    return fields


def raw_fields(request: Request, source: str) -> dict:
    """Fields of a raw text body: the decoded text plus the query parameters."""
    charset = request.mimetype_params.get("charset", "utf-8").lower()
    if charset not in UTF8_CHARSETS:
        raise UnsupportedMediaTypeError(
            f"charset={charset} is not accepted: send the text as UTF-8.", field="Content-Type")
    unknown = sorted(set(request.args) - QUERY_FIELDS)
    if unknown:
        raise InvalidRequestError(
            f"Unknown query parameter {unknown[0]!r}; use {', '.join(sorted(QUERY_FIELDS))}.",
            field=unknown[0])
    fields: dict = {key: request.args[key] for key in QUERY_FIELDS if key in request.args}
    if "speed" in fields:
        fields["speed"] = _number(fields["speed"], "speed")
    try:
        fields[source] = decode_text(request.get_data())
    except NarrationError as error:
        error.field = error.field or source
        raise
    return fields


def build_request(fields: dict, catalogue: Catalogue) -> NarrationRequest:
    """Validate the fields cheaply; the text is stored as sent (cleaned of control characters)."""
    title = _label(fields, "title")
    author = _label(fields, "author")
    speed = parse_speed(fields.get("speed"))
    voice = resolve_voice(fields.get("voice"), catalogue)
    source = _source(fields)
    value, chars = checked_input(source, fields[source])
    feed = parse_feed(fields)
    request = {"source": source, "input": value, "title": title, "author": author}
    if fields.get("quote_voice") not in (None, ""):
        # Quotes in a second voice (narration.quotes): the plan and part tasks read it here.
        request["quote_voice"] = resolve_voice(fields["quote_voice"], catalogue,
                                               field="quote_voice").id
    if fields.get("lexicons") is not None:
        request["lexicons"] = lexicon_names(fields["lexicons"])
    if parse_check(fields.get("check")):
        request["check"] = True
    return NarrationRequest(request, source, chars, title, author, voice, speed,
                            request_hash(request, voice, speed, feed), feed)


def again_request(job, catalogue: Catalogue) -> NarrationRequest:
    """A stored narration's request, to narrate it again as a new job: the same text, voice,
    quote voice, speed, check and lexicon names, with the title and author the narration has
    now (one changed since with PATCH is kept). Checked again as a submission is: a voice may
    have been removed since, or the recognizer. Its hash names the narration it repeats, so an
    Idempotency-Key used to repeat one narration is refused for another (or for a POST)."""
    stored = job.request
    if not stored:
        raise NotRetryableError("This narration was made before the service kept what was sent; "
                                "send its text again.", field="id")
    fields = {name: stored.get(name) for name in ("quote_voice", "lexicons", "check")}
    wanted = build_request({**fields, stored["source"]: stored["input"], "voice": job.voice,
                            "speed": job.speed}, catalogue)
    again = {**wanted.request, "title": job.title, "author": job.author}
    return replace(wanted, request=again, title=job.title, author=job.author, feed=None,
                   request_hash=request_hash({**again, "again": job.id}, wanted.voice,
                                             wanted.speed, None))


def lexicon_names(value: object) -> list[str]:
    """`lexicons`: the names of the caller's lexicons to apply (absent or null: their defaults)."""
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise InvalidRequestError('lexicons must be a list of your lexicon names, e.g. ["films"].',
                                  field="lexicons")
    return value


def parse_check(value: object) -> bool:
    """`check`: whether to run the recognition check (off unless true). Asked for where the
    recognizer is not installed, it is refused now (503) rather than failing on a worker."""
    if value is None or value is False:
        return False
    if value is not True:
        raise InvalidRequestError("check must be true or false.", field="check")
    problem = recognizer.missing()
    if problem:
        raise recognizer.RecognizerUnavailableError(
            f"The recognition check is not installed on this server ({problem}); narrate "
            "without \"check\" or ask the operator to install it.", field="check")
    return True


def checked_input(source: str, value: object) -> tuple[object, int]:
    """The text (or chapters) cleaned, with its length; refused when it cannot hold a word.

    Linear in the text: one pass of cleaning and one search for a letter or digit.
    """
    if source == "url":  # fetched by the plan task; here only its shape is checked, no lookup
        check_url(value)
        return value.strip(), 0
    if source == "chapters":
        chapters = checked_chapters(value)
        check_words(" ".join(chapter["text"] for chapter in chapters), source)
        return chapters, sum(len(c["title"]) + len(c["text"]) for c in chapters)
    if not isinstance(value, str):
        raise InvalidRequestError(f"{source} must be a string.", field=source)
    text = clean_text(value)
    check_words(text, source)
    return text, len(text)


def check_words(text: str, field: str) -> None:
    """Empty, or nothing sayable anywhere: nothing to narrate, said at once (422).

    A letter or digit settles it. Otherwise only symbols are left, and what matters is whether
    any of them is spoken ("&" is "and"); the distinct characters say that, in time that does not
    grow with the text. Many distinct characters: the plan step decides.
    """
    if not text.strip():
        raise EmptyTextError(f"{field} is empty: give the text to narrate.", field=field)
    if _WORD.search(text):
        return
    distinct = set(text)
    if len(distinct) <= MAX_SYMBOLS and not is_speakable(normalize(" ".join(sorted(distinct)))):
        raise NothingSpeakableError(
            "The text has nothing an engine can say (no words or numbers); check what was sent.",
            field=field)


def parse_feed(fields: dict) -> str | None:
    """Which feed the narration goes to: "default" unless a feed id or no feed is asked for."""
    if "feed" not in fields:
        return "default"
    value = fields["feed"]
    if value is None or value in NO_FEED:
        return None
    if value == "default":
        return value
    try:
        return str(uuid.UUID(value)) if isinstance(value, str) else _bad_feed()
    except ValueError:
        return _bad_feed()


def _bad_feed():
    raise InvalidRequestError('feed must be a feed id, "default", or null for no feed.',
                              field="feed")


def parse_narration_update(request: Request) -> dict:
    """A PATCH body: `{title}` (the only thing that can change once a narration is made)."""
    fields = json_object(request, {"title"})
    if "title" not in fields:
        raise MissingFieldError("Send the new title: {\"title\": \"…\"}.", field="title")
    title = _label(fields, "title")
    if not title:
        raise InvalidRequestError("title cannot be empty.", field="title")
    return {"title": title}


def parse_speed(value: object) -> float:
    """A JSON speed: absent means 1.0; otherwise a number in the engines' range."""
    if value is None:
        return 1.0
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidRequestError("speed must be a number, e.g. 1.0.", field="speed")
    try:
        speed = float(value)
    except OverflowError:  # an integer with hundreds of digits
        speed = math.inf
    return check_speed(speed)


def resolve_voice(name: object, catalogue: Catalogue, *, field: str = "voice") -> Voice:
    """The catalogue voice for an id or alias; it must be installed here to be worth queueing.
    `field` names the request field in errors ("voice", or "quote_voice")."""
    if name is None or name == "":
        raise MissingFieldError(f"{field} is missing: give a voice id or alias such as "
                                "\"female\" (see GET /api/v1/voices).", field=field)
    if not isinstance(name, str):
        raise InvalidRequestError(f"{field} must be a string such as \"male\".", field=field)
    if len(name) > MAX_VOICE_NAME:
        # The catalogue's error quotes the name; a 100,000-character name came back whole.
        raise VoiceNotFoundError(
            f"Unknown voice (a {len(name)}-character name); voice ids are short, e.g. \"female\" "
            "(see GET /api/v1/voices).", field=field)
    voice = catalogue.find(name, field=field)
    if not voice.installed:
        raise VoiceUnavailableError(
            f"Voice {voice.id!r} is not installed on this server; pick an installed one "
            "(see GET /api/v1/voices).", field=field)
    return voice


def request_hash(request: dict, voice: Voice, speed: float, feed: str | None = "default") -> str:
    """A digest of what was asked for: the same text sent as JSON with other key order matches."""
    canonical = json.dumps({**request, "voice": voice.id, "speed": speed, "feed": feed},
                           sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def idempotency_key(request: Request) -> str | None:
    """The Idempotency-Key header, checked: 1–255 visible ASCII characters."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_IDEMPOTENCY_KEY or not all(33 <= ord(c) < 127 for c in key):
        raise InvalidRequestError(
            f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters, "
            "e.g. a UUID.", field="Idempotency-Key")
    return key


def _source(fields: dict) -> str:
    """Which one of text, markdown, chapters, html or url carries the text."""
    given = [name for name in SOURCES if fields.get(name) is not None]
    if not given:
        raise MissingFieldError("Give the text to narrate in one of text, markdown, chapters, "
                                "html or url.", field="text")
    if len(given) > 1:
        raise InvalidRequestError(
            f"Send only one of text, markdown, chapters, html or url, not "
            f"{' and '.join(given)}.", field=given[1])
    return given[0]


def _label(fields: dict, name: str) -> str:
    """An optional short string field (title, author)."""
    value = fields.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidRequestError(f"{name} must be a string.", field=name)
    value = " ".join(clean_text(value).split())  # no control characters in tags or file names
    if len(value) > MAX_LABEL:
        raise InvalidRequestError(f"{name} is {len(value)} characters long; keep it under {MAX_LABEL}.",
                                  field=name)
    return value


def _number(text: str, name: str) -> float:
    """A query parameter as a finite number."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise InvalidRequestError(f"{name} must be a number, e.g. 1.0; got {text!r}.", field=name)
    return value
