"""The voice catalogue: which voices exist, which are installed here, and their aliases."""

from __future__ import annotations

from flask import Blueprint, jsonify

from service.api import JSON, narrator, produces

bp = Blueprint("voices", __name__, url_prefix="/api/v1")


@bp.get("/voices")
@produces(JSON)
def list_voices():
    """Every catalogue voice with `installed` and the aliases that name it, plus the alias table."""
    catalogue = narrator().catalogue
    voices = []
    for voice in catalogue.voices:
        entry = voice.to_dict()
        entry["aliases"] = sorted(alias for alias, target in catalogue.aliases.items()
                                  if target == voice.id)
        voices.append(entry)
    return jsonify(voices=voices, aliases=dict(catalogue.aliases))
