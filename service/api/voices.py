"""The voice catalogue: which voices exist, which are installed here, and their aliases; a spoken
sample of each; and the caller's own voices (blends of installed ones), private to them.

Listing and samples need no key (the catalogue is the same for everyone); with a key they also
show the caller's own voices. Making and deleting voices needs a key.
"""

from __future__ import annotations

import re

from flask import Blueprint, Response, g, jsonify, request, send_file

from narration.errors import NarrationError, VoiceNotFoundError, VoiceUnavailableError
from service.api import JSON, base_url, narrator, produces
from service.auth import current_user, presented_key, require_user
from service.errors import InvalidRequestError, MissingFieldError, NotFoundError
from service.requests import json_object
from state import voices as user_voices
from voices import Catalogue, Voice
from voices.catalogue import check_blend
from voices.samples import (PITCH_RANGES, cached_sample, ensure_sample, gender_fits,
                            gender_for_pitch)

bp = Blueprint("voices", __name__, url_prefix="/api/v1")

MP3 = "audio/mpeg"
VOICE_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{1,49}$")
BLEND_FIELDS = {"id", "name", "gender", "blend"}
MAX_NAME = 100


class GenderMismatchError(NarrationError):
    """A blend's gender label that its measured pitch contradicts."""

    code = "gender_mismatch"


@bp.get("/voices")
@produces(JSON)
def list_voices():
    """Every voice the caller can use, with `installed`, aliases and sample facts, plus aliases."""
    catalogue, own = caller_catalogue()
    voices = []
    for voice in catalogue.voices:
        entry = voice.to_dict()
        entry["aliases"] = sorted(alias for alias, target in catalogue.aliases.items()
                                  if target == voice.id)
        entry["private"] = voice.id in own
        entry["sample"] = sample_view(voice, own.get(voice.id))
        voices.append(entry)
    return jsonify(voices=voices, aliases=dict(catalogue.aliases))


@bp.get("/voices/<voice_id>/sample.mp3")
@produces(MP3)
def voice_sample(voice_id: str):
    """The voice reading the fixed sample text (rendered on first request, then kept)."""
    catalogue, _ = caller_catalogue()
    voice = catalogue.find(voice_id)
    if not voice.installed:
        raise VoiceUnavailableError(f"Voice {voice.id!r} is not installed on this server, so it "
                                    "has no sample.", field="voice")
    sample = ensure_sample(voice)
    response = send_file(sample.path, mimetype=MP3, conditional=True, etag=True,
                         download_name=f"{voice.id}-sample.mp3")
    response.headers["Cache-Control"] = "no-cache"  # revalidate: an edited voice gets a new sample
    return response


@bp.post("/voices")
@produces(JSON)
def create_voice():
    """A blend of installed voices, private to the caller: its sample is rendered and its pitch
    measured first, so a gender label its sound contradicts is refused (422 gender_mismatch)."""
    require_user()
    fields = json_object(request, BLEND_FIELDS)
    catalogue, _ = caller_catalogue()
    voice = blend_voice(fields, catalogue)
    gender = fields.get("gender")
    if gender is not None and (not isinstance(gender, str) or gender not in PITCH_RANGES):
        raise InvalidRequestError(f"gender must be one of {', '.join(PITCH_RANGES)}, or left out "
                                  "to be told by the measured pitch.", field="gender")
    with narrator().db.session(readonly=True) as session:
        if user_voices.voice_taken(session, current_user(), voice.id, narrator().catalogue):
            raise user_voices.VoiceExistsError(
                f"There is already a voice called {voice.id!r}; pick another id.", field="id")
    if not voice.installed:
        raise VoiceUnavailableError("The voices of this blend are not installed here.",
                                    field="blend")
    sample = ensure_sample(voice)
    voice = labelled(voice, gender, sample.median_pitch_hz)
    with narrator().db.session() as session:
        user_voices.add_voice(session, current_user(), voice, narrator().catalogue,
                              sample.median_pitch_hz)
    entry = {**voice.to_dict(), "aliases": [], "private": True,
             "sample": sample_view(voice, sample.median_pitch_hz)}
    response = jsonify(entry)
    response.status_code = 201
    response.headers["Location"] = f"{base_url()}/api/v1/voices/{voice.id}/sample.mp3"
    return response


@bp.delete("/voices/<voice_id>")
def delete_voice(voice_id: str):
    """Delete one of the caller's own voices (catalogue voices are the operator's)."""
    require_user()
    with narrator().db.session() as session:
        if not user_voices.delete_voice(session, current_user(), voice_id):
            raise NotFoundError(f"You have no voice of your own called {voice_id!r}.", field="id")
    return Response(status=204)


def caller_catalogue() -> tuple[Catalogue, dict[str, float | None]]:
    """The catalogue as the caller sees it, and their own voices' ids with measured pitches."""
    base = narrator().catalogue
    if presented_key()[0] is None:
        return base, {}
    if "user_id" not in g:
        require_user()
    with narrator().db.session(readonly=True) as session:
        catalogue = user_voices.voices_for_user(session, current_user(), base)
        own = user_voices.measured_pitches(session, current_user())
    return catalogue, own


def sample_view(voice: Voice, measured: float | None = None) -> dict:
    """Where the sample is, and its length and pitch once it has been rendered."""
    sample = cached_sample(voice)
    facts = sample.facts() if sample else {"seconds": None, "median_pitch_hz": measured}
    return {"url": f"{base_url()}/api/v1/voices/{voice.id}/sample.mp3",
            "rendered": sample is not None, **facts}


def blend_voice(fields: dict, catalogue: Catalogue) -> Voice:
    """The requested blend as a Voice: its parts are catalogue voices of one blendable model."""
    voice_id = fields.get("id")
    if not voice_id:
        raise MissingFieldError('Give the new voice an id, e.g. "my-narrator".', field="id")
    if not isinstance(voice_id, str) or not VOICE_ID.match(voice_id):
        raise InvalidRequestError("id must be 2 to 50 lowercase letters, digits, - or _, "
                                  "starting with a letter or digit.", field="id")
    name = fields.get("name", voice_id)
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise InvalidRequestError(f"name must be a string of 1 to {MAX_NAME} characters.",
                                  field="name")
    blend = fields.get("blend")
    if not isinstance(blend, dict) or len(blend) < 2:
        raise InvalidRequestError('blend must map two or more voice ids to weights, e.g. '
                                  '{"jf_gongitsune": 0.7, "jf_nezumi": 0.3}.', field="blend")
    try:
        parts = [(catalogue.find(str(part)), weight) for part, weight in blend.items()]
    except VoiceNotFoundError as error:
        error.field = "blend"
        raise
    first = parts[0][0]
    for part, _ in parts:
        if part.blend:
            raise InvalidRequestError(f"{part.id!r} is a blend itself; blend catalogue voices "
                                      "only.", field="blend")
        if (part.engine, part.model, part.language) != (first.engine, first.model, first.language):
            raise InvalidRequestError(f"{part.id!r} comes from another model than {first.id!r}; "
                                      "a blend mixes voices of one model.", field="blend")
    speakers: dict[str, float] = {}
    for part, weight in parts:
        if isinstance(weight, bool) or not isinstance(weight, (int, float)):
            raise InvalidRequestError(f"The weight of {part.id!r} must be a number.", field="blend")
        speakers[part.speaker] = speakers.get(part.speaker, 0) + weight
    try:
        mix = check_blend(speakers, first.engine)
    except ValueError as error:
        raise InvalidRequestError(f"blend: {error}", field="blend") from None
    if len(mix) < 2:
        raise InvalidRequestError("blend names one voice twice; mix two or more.", field="blend")
    return Voice(id=voice_id, name=name.strip(), gender=first.gender, engine=first.engine,
                 model=first.model, speaker=None, language=first.language,
                 sample_rate=first.sample_rate, license=first.license,
                 provenance="a blend made by its user", base_speed=first.base_speed, blend=mix,
                 source="database")


def labelled(voice: Voice, gender: str | None, pitch_hz: float | None) -> Voice:
    """The voice with the gender label its measured pitch supports (or the one asked for, when
    the pitch fits it)."""
    from dataclasses import replace

    if gender is None:
        found = gender_for_pitch(pitch_hz)
        if found is None:
            raise GenderMismatchError(
                f"The blend's median pitch ({pitch_hz} Hz) fits no gender label; give one.",
                field="gender")
        return replace(voice, gender=found)
    if not gender_fits(gender, pitch_hz):
        low, high = PITCH_RANGES[gender]
        raise GenderMismatchError(
            f"The blend's sample has a median pitch of {pitch_hz:.0f} Hz, outside the {low:.0f}–"
            f"{high:.0f} Hz of a {gender} voice; label it {gender_for_pitch(pitch_hz)} or change "
            "the weights.", field="gender")
    return replace(voice, gender=gender)
