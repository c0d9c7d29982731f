"""The OpenAPI 3.1 document (service/openapi.yaml), served as JSON at /api/v1/openapi.json."""

from __future__ import annotations

import functools
from pathlib import Path

import yaml
from flask import Blueprint, jsonify

from service.api import JSON, produces

bp = Blueprint("openapi", __name__, url_prefix="/api/v1")

DOCUMENT = Path(__file__).resolve().parent.parent / "openapi.yaml"


@functools.cache
def openapi_document() -> dict:
    """The document, parsed once per process (it ships with the code and never changes)."""
    return yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))


@bp.get("/openapi.json")
@produces(JSON)
def get_openapi():
    """The API description; tools such as schemathesis and Swagger UI read it."""
    response = jsonify(openapi_document())
    response.headers["Access-Control-Allow-Origin"] = "*"  # public, so doc viewers elsewhere work
    return response
