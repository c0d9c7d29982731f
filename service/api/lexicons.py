"""A user's pronunciation lexicons: list, upload or replace (PUT), read, delete; and a preview
that says a short text in a chosen voice with the user's lexicons applied.

Lexicons are named by the user (`/api/v1/lexicons/<name>`), so uploading again under the same
name replaces one, and a narration can name the lexicons it wants.
"""

from __future__ import annotations

import hashlib
import json

from flask import Blueprint, Response, jsonify, request

from narration.errors import NarrationError
from narration.lexicon import LexiconError
from service.api import JSON, base_url, narrator, produces
from service.api.speech import spoken_bytes
from service.auth import current_user, require_user
from service.errors import (InvalidRequestError, MissingFieldError, NotFoundError,
                            UnsupportedMediaTypeError)
from service.requests import check_words, json_object, parse_speed, resolve_voice
from state import lexicons
from state.media import check_key
from state.models import UserLexicon
from state.views import iso_time

bp = Blueprint("lexicons", __name__, url_prefix="/api/v1/lexicons")
bp.before_request(require_user)

FORMATS = {
    "application/pls+xml": "pls", "application/xml": "pls", "text/xml": "pls",
    "text/plain": "text", "text/tab-separated-values": "text", "text/csv": "text",
}
"""Upload Content-Types and the lexicon format each means."""
PREVIEW_MAX_CHARS = 200
"""A word or a phrase in a sentence: enough to hear a name, short enough to answer at once."""
PREVIEW_FIELDS = {"text", "voice", "speed", "lexicons"}


@bp.get("")
@produces(JSON)
def list_lexicons():
    """The caller's lexicons, oldest first (the order default lexicons are merged in)."""
    with narrator().db.session(readonly=True) as session:
        return jsonify(lexicons=[lexicon_view(row)
                                 for row in lexicons.list_lexicons(session, current_user())])


@bp.get("/<name>")
@produces(JSON)
def get_lexicon(name: str):
    """One lexicon with its entries as parsed."""
    with narrator().db.session(readonly=True) as session:
        row = _owned(session, name)
        view = lexicon_view(row)
        view["words"] = [{"grapheme": e.grapheme, "alias": e.alias or None,
                          "phonemes": e.phonemes or None}
                         for e in lexicons.parsed(row).entries]
    return jsonify(view)


@bp.put("/<name>")
@produces(JSON)
def put_lexicon(name: str):
    """Upload a PLS document or a two-column list under `name`: 201 new, 200 replaced.

    `?default=false` keeps it out of narrations that name no lexicons.
    """
    format = FORMATS.get(request.mimetype)
    if format is None:
        raise UnsupportedMediaTypeError(
            f"Content-Type {request.mimetype or '(none)'} is not a lexicon: send a PLS document "
            "as application/pls+xml or a two-column list as text/plain.", field="Content-Type")
    try:
        source = request.get_data().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise LexiconError(f"{name}: not UTF-8 (byte {error.start}); save it as UTF-8.",
                           field="body") from None
    is_default = _flag(request.args.get("default", "true"), "default")
    with narrator().db.session() as session:
        row, created = lexicons.put_lexicon(session, current_user(), name, source,
                                            format=format, is_default=is_default)
        view = lexicon_view(row)
    response = jsonify(view)
    response.status_code = 201 if created else 200
    if created:
        response.headers["Location"] = view["links"]["self"]
    return response


@bp.delete("/<name>")
def delete_lexicon(name: str):
    """Delete a lexicon; narrations already made keep how they sound."""
    with narrator().db.session() as session:
        if not lexicons.delete_lexicon(session, current_user(), name):
            raise _not_found(name)
    return Response(status=204)


@bp.post("/preview")
@produces("audio/mpeg")
def preview():
    """Say a short text in a voice with the user's lexicons applied: a short MP3, cached."""
    fields = json_object(request, PREVIEW_FIELDS)
    text = _preview_text(fields.get("text"))
    voice = resolve_voice(fields.get("voice"), narrator().catalogue)
    speed = parse_speed(fields.get("speed"))
    names = _names(fields.get("lexicons"))
    with narrator().db.session(readonly=True) as session:
        lexicon = lexicons.resolve_lexicon(session, current_user(), names)
    digest = hashlib.sha256(json.dumps(
        [voice.id, f"{speed:.3f}", text, lexicon.digest]).encode()).hexdigest()
    key = check_key(f"previews/{current_user()}/{digest}.mp3")
    media = narrator().media
    cached = media.stat(key) is not None
    if cached:
        data = media.get_bytes(key)
    else:
        check_words(text, "text")
        try:  # spoken on the workers, like /v1/audio/speech
            data = spoken_bytes(text, voice.id, speed, "mp3", names)
        except NarrationError as error:
            error.field = "text" if error.field == "input" else error.field
            raise
        media.put_bytes(key, data, "audio/mpeg")
    return Response(data, mimetype="audio/mpeg",
                    headers={"Content-Disposition": 'inline; filename="preview.mp3"',
                             "X-Preview-Cache": "hit" if cached else "miss"})


def lexicon_view(row: UserLexicon) -> dict:
    """The JSON resource of a lexicon (its entries only on GET of the lexicon itself)."""
    return {"name": row.name, "format": row.format, "entries": row.entries,
            "default": row.is_default, "created_at": iso_time(row.created_at),
            "updated_at": iso_time(row.updated_at),
            "links": {"self": f"{base_url()}/api/v1/lexicons/{row.name}"}}


def _owned(session, name: str) -> UserLexicon:
    row = lexicons.get_lexicon(session, current_user(), name)
    if row is None:
        raise _not_found(name)
    return row


def _not_found(name: str) -> NotFoundError:
    return NotFoundError(f"You have no lexicon named {name[:80]!r}; see GET /api/v1/lexicons.",
                         field="name")


def _flag(value: str, field: str) -> bool:
    if value.lower() in ("true", "1", "yes"):
        return True
    if value.lower() in ("false", "0", "no"):
        return False
    raise InvalidRequestError(f"{field} must be true or false.", field=field)


def _preview_text(value: object) -> str:
    if value is None or value == "":
        raise MissingFieldError("text is missing: give the word or phrase to hear.", field="text")
    if not isinstance(value, str):
        raise InvalidRequestError("text must be a string.", field="text")
    if len(value) > PREVIEW_MAX_CHARS:
        raise InvalidRequestError(f"text is {len(value)} characters long; a preview says at most "
                                  f"{PREVIEW_MAX_CHARS}.", field="text")
    return value


def _names(value: object) -> list[str] | None:
    """The lexicons a request names: a list of names, or absent/null for the defaults."""
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise InvalidRequestError('lexicons must be a list of lexicon names, e.g. ["films"].',
                                  field="lexicons")
    return value
