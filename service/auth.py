"""Who is calling: an API key in `Authorization: Bearer …`, or the page's session cookie.

The web page cannot put headers on `<audio>`, `<track>` or EventSource requests, so it trades
the key once for an HttpOnly, SameSite=Strict cookie (`POST /api/v1/session`). The cookie holds
a random session id, not the key: the database keeps its SHA-256, tied to the key it was opened
with (revoking the key ends the session), and it ends after 30 days unused (state.users).
Requests that change something and are authenticated by the cookie must come from this site's
own pages (their Origin header is checked), so another site cannot ride on it.
"""

from __future__ import annotations

from typing import Callable

from flask import Blueprint, Response, g, jsonify, request

from narration.errors import NarrationError
from service.api import JSON, base_url, narrator, produces
from state import users
from state.models import User

COOKIE = "narrator_session"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}

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
    credential, by_cookie = presented_key()
    if credential is None:
        raise UnauthorizedError("Send your API key as `Authorization: Bearer KEY` (create one "
                                "with `narrator users create NAME`).")
    user_id, stale = user_of(credential, by_cookie)
    if user_id is None and by_cookie:
        raise UnauthorizedError("Your session has ended (signed out, expired, or its key was "
                                "revoked); sign in again with your API key.")
    if user_id is None:
        raise UnauthorizedError("This API key is not valid (mistyped, or revoked); ask for a "
                                "new one with `narrator users new-key NAME`.")
    if by_cookie and request.method not in SAFE_METHODS and not same_origin():
        raise CrossOriginError("Changes made with the page's session cookie must come from the "
                               "page itself; send the API key in the Authorization header.")
    if stale:  # a write once a day per session, not one per request
        with narrator().db.session() as session:
            if users.extend_page_session(session, credential):
                g.renew_cookie = credential
    g.user_id = user_id


def user_of(credential: str, by_cookie: bool) -> tuple[str | None, bool]:
    """(the user a key or a page session id belongs to while it is live, else None; whether the
    session's end is due to move)."""
    with narrator().db.session(readonly=True) as session:
        if not by_cookie:
            return users.authenticate(session, credential), False
        found = users.page_session(session, credential)
        if found is None:
            return None, False
        return found.api_key.user_id, users.session_is_stale(found)


def still_signed_in() -> Callable[[], bool]:
    """For a long response (an event stream): a check, runnable later outside the request,
    that the caller's key or session is still live and still the same user's."""
    credential, by_cookie = presented_key()
    user_id, db = g.user_id, narrator().db

    def check() -> bool:
        with db.session(readonly=True) as session:
            if not by_cookie:
                return users.authenticate(session, credential) == user_id
            found = users.page_session(session, credential)
            return found is not None and found.api_key.user_id == user_id

    return check


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
    """Trade the API key in the Authorization header for the page's HttpOnly session cookie."""
    key, by_cookie = presented_key()
    if key is None or by_cookie:
        raise UnauthorizedError("Send the API key as `Authorization: Bearer KEY` to open a session.")
    require_user()
    with narrator().db.session() as session:
        session_id = users.open_page_session(session, users.live_key(session, key))
    return set_session_cookie(Response(status=204), session_id)


@bp.get("")
@produces(JSON)
def who_is_signed_in():
    """Whose key or session this is: the page shows the name, and asks before a sign-in link
    switches a signed-in tab to another user."""
    require_user()
    with narrator().db.session(readonly=True) as session:
        user = session.get(User, current_user())
        return jsonify(user={"id": user.id, "name": user.name})


@bp.delete("")
def close_session():
    """Sign this browser out: the session ends on the server and the cookie is cleared."""
    credential, by_cookie = presented_key()
    if credential is not None and by_cookie:
        with narrator().db.session() as session:
            users.close_page_session(session, credential)
    response = Response(status=204)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="Strict")
    return response


@bp.after_app_request
def renew_cookie(response: Response) -> Response:
    """Send the cookie again when its session's end moved, so the browser keeps it as long."""
    session_id = g.pop("renew_cookie", None)
    return set_session_cookie(response, session_id) if session_id else response


def set_session_cookie(response: Response, session_id: str) -> Response:
    """The HttpOnly, SameSite=Strict cookie with the session id, as long-lived as the session."""
    response.set_cookie(COOKIE, session_id, max_age=int(users.SESSION_LIFETIME.total_seconds()),
                        httponly=True, samesite="Strict", secure=request.is_secure, path="/")
    return response
