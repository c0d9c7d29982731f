"""The real app, plus one route whose answer fails after the view returned, for tests/test_hardening.py:
what gunicorn and the app log when a response under /feeds/<token>/ breaks."""

from __future__ import annotations

import logging

from flask import Response, current_app, request

from service import create_app


def create():
    """`gunicorn 'tests.hardening_app:create()'`: the service with /feeds/<token>/broken."""
    app = create_app()

    @app.get("/feeds/<token>/broken")
    def broken(token: str):
        current_app.logger.warning("serving %s to a key like nk_%s", request.path, "k" * 40)
        logging.getLogger("service.podcast").warning("a slow store for %s", request.path)

        def body():  # as a media stream that fails on its first read, after the view returned
            raise RuntimeError("the media store went away")
            yield b""  # pragma: no cover (makes this a generator)

        return Response(body(), mimetype="application/octet-stream")

    return app
