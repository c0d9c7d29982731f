"""The web page at `/`: one HTML page and its static script and styles, all talking to /api/v1.

The page holds no inline script or style, so a strict Content-Security-Policy
(`default-src 'self'`) can be applied to it unchanged.
"""

from __future__ import annotations

from flask import Blueprint, render_template

# Static files under /assets so they never collide with an app-level /static folder.
web = Blueprint(
    "web",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/assets",
)
bp = web  # the name service.register_web_page looks for, like every other blueprint here


@web.get("/")
def index():
    """The page where a person submits a text, follows its narration and listens to it."""
    return render_template("index.html")
