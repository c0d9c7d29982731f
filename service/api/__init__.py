"""The JSON API under /api/v1 and the OpenAI-compatible /v1/audio/speech, one blueprint per resource.

Shared helpers for the views live here: the injected dependencies, the base URL for links and
content negotiation.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from flask import Flask, current_app, request

from service.errors import NotAcceptableError

if TYPE_CHECKING:
    from service import Narrator

JSON = "application/json"


def register_api(app: Flask) -> None:
    """Attach every API blueprint to the app."""
    from service import auth, podcast
    from service.api import (batch, feeds, lexicons, narrations, openapi, opml, outputs, speech,
                             voices)

    for module in (auth, narrations, batch, outputs, feeds, opml, voices, openapi, speech, podcast,
                   lexicons):
        app.register_blueprint(module.bp)


def narrator() -> Narrator:
    """The database, media store, catalogue and queue callables of the running app."""
    return current_app.extensions["narrator"]


def base_url() -> str:
    """Absolute URL prefix for links: NARRATOR_BASE_URL when set, else what the client called."""
    return (current_app.config.get("BASE_URL") or request.host_url).rstrip("/")


def produces(*mimetypes: str):
    """Answer 406 when the client's Accept header allows none of the types this view returns.

    No Accept header means anything goes (RFC 9110 §12.5.1). Checked before the view runs, so
    a refused request does no work.
    """

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            accept = request.accept_mimetypes
            if accept and not accept.best_match(mimetypes):
                raise NotAcceptableError(
                    f"This URL answers with {' or '.join(mimetypes)}, which the Accept header "
                    f"({request.headers.get('Accept')}) does not allow.", field="Accept")
            return view(*args, **kwargs)

        return wrapper

    return decorate
