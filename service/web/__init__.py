"""The web page at `/`: one HTML page and its static script and styles, all talking to /api/v1.

The page holds no inline script or style, so it is served with a strict Content-Security-Policy
(`default-src 'self'`): an injected script could otherwise read the private feed address or act
with the session cookie.
"""

from __future__ import annotations

from flask import Blueprint, make_response, render_template

# Static files under /assets so they never collide with an app-level /static folder.
web = Blueprint(
    "web",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/assets",
)
bp = web  # the name service.register_web_page looks for, like every other blueprint here

# Everything the page loads (script, style, API calls, audio, transcript tracks) is same-origin.
CONTENT_SECURITY_POLICY = ("default-src 'self'; img-src 'self'; media-src 'self'; object-src 'none'; "
                           "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


@web.get("/")
def index():
    """The page where a person submits a text, follows its narration and listens to it."""
    response = make_response(render_template("index.html"))
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
