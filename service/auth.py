"""Who is calling: an API key in `Authorization: Bearer …`, or the page's session cookie.

The web page cannot put headers on `<audio>`, `<track>` or EventSource requests, so it trades
the key once for an HttpOnly, SameSite=Strict cookie holding the same key (`POST
/api/v1/session`). Requests that change something and are authenticated by the cookie must come
from this site's own pages (their Origin header is checked), so another site cannot ride on it.
"""

from __future__ import annotations

from flask import Blueprint, Response, g, request

from narration.errors import NarrationError
from service.api import base_url, narrator
from state import users

COOKIE = "narrator_key"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
COOKIE_DAYS = 365

bp = Blueprint("session", __name__, url_prefix="/api/v1/session")


class UnauthorizedError(NarrationError):
    code = "unauthorized"
    status = 401

    def __init__(self, message: str):
        super().__init__(message, field="Authorization")
        self.headers = {"WWW-Authenticate": 'Bearer realm="narrator"'}


class CrossOriginError(NarrationError):
    code = "cross_origin"
    status = 403


def require_user() -> None:
    """`before_request` of every blueprint that serves a user's own things: sets `g.user_id`."""
    key, by_cookie = presented_key()
    if key is None:
        raise UnauthorizedError("Send your API key as `Authorization: Bearer KEY` (create one "
                                "with `narrator users create NAME`).")
    with narrator().db.session(readonly=True) as session:
        user_id = users.authenticate(session, key)
    if user_id is None:
        raise UnauthorizedError("This API key is not valid (mistyped, or revoked); ask for a "
                                "new one with `narrator users new-key NAME`.")
    if by_cookie and request.method not in SAFE_METHODS and not same_origin():
        raise CrossOriginError("Changes made with the page's session cookie must come from the "
                               "page itself; send the API key in the Authorization header.")
    g.user_id = user_id


def current_user() -> str:
    """The authenticated user's id (views behind `require_user` only)."""
    return g.user_id


def presented_key() -> tuple[str | None, bool]:
    """(the key the client sent, whether it came in the cookie); the header wins."""
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    if header:
        if scheme.lower() != "bearer" or not credentials.strip():
            raise UnauthorizedError("The Authorization header must be `Bearer KEY`.")
        return credentials.strip(), False
    cookie = request.cookies.get(COOKIE)
    return (cookie, True) if cookie else (None, False)


def same_origin() -> bool:
    """Whether the request's Origin is this service (browsers send it on every POST/DELETE)."""
    origin = request.headers.get("Origin")
    return origin is not None and origin.rstrip("/") in {request.host_url.rstrip("/"), base_url()}


@bp.post("")
def open_session():
    """Trade the API key in the Authorization header for the page's HttpOnly cookie."""
    key, by_cookie = presented_key()
    if key is None or by_cookie:
        raise UnauthorizedError("Send the API key as `Authorization: Bearer KEY` to open a session.")
    require_user()
    response = Response(status=204)
    response.set_cookie(COOKIE, key, max_age=COOKIE_DAYS * 86400, httponly=True,
                        samesite="Strict", secure=request.is_secure, path="/")
    return response


@bp.delete("")
def close_session():
    """Forget the page's cookie (signing out of this browser)."""
    response = Response(status=204)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="Strict")
    return response
