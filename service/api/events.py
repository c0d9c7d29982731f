"""The Server-Sent Events stream of one job: `progress` on every change, then `end`.

The stream polls the database instead of subscribing to Redis: progress already lands in the
database once per sentence, and polling keeps the web process free of broker connections.

A stream holds one of the web process's threads for as long as it is open, so streams are
admitted like a bounded pool inside the thread pool (service/streams.py): at most
EVENTS_PER_USER per user (429 beyond) and EVENTS_MAX_STREAMS in all (503 beyond). Each stream
re-checks its key (or page session) every EVENTS_RECHECK_SECONDS, so a revoked key's stream ends.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Callable, Iterator

from flask import Response, current_app

from service.streams import stream_slots
from state import jobs
from state.views import job_view

log = logging.getLogger(__name__)


def open_stream(db, job_id: str, base_url: str, *, user_id: str,
                still_allowed: Callable[[], bool], **timings) -> Response:
    """The SSE response for a job, once a slot is free for it (429/503 otherwise, as JSON)."""
    config = current_app.config
    slots = stream_slots("event streams", "poll the narration")
    release = slots.acquire(user_id, per_user=int(config["EVENTS_PER_USER"]),
                            total=int(config["EVENTS_MAX_STREAMS"]))
    stream = event_stream(db, job_id, base_url, still_allowed=still_allowed,
                          recheck=float(config["EVENTS_RECHECK_SECONDS"]), **timings)
    response = Response(stream, mimetype="text/event-stream",
                        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    # The server closes every response, also one never iterated and one whose client left,
    # so the slot always comes back (a generator's `finally` would not run if never started).
    response.call_on_close(release)
    return response

TERMINAL = ("done", "failed", "canceled")
RECONNECT_MS = 3000
"""How long EventSource clients wait before reconnecting after the stream closes."""


def event_stream(db, job_id: str, base_url: str, *, poll: float, heartbeat: float,
                 max_seconds: float, still_allowed: Callable[[], bool] | None = None,
                 recheck: float = 5.0) -> Iterator[str]:
    """Yield SSE text: an event per change of the job, heartbeats while idle, `end` when terminal.

    After `max_seconds` the stream just closes (no `end`), so a client reconnects and a
    long job never pins a server thread forever. It also closes once `still_allowed()` (asked
    every `recheck` seconds) says the caller's key was revoked; the reconnect then gets 401.
    """
    started = last_write = last_check = time.monotonic()
    last_change = None
    yield f"retry: {RECONNECT_MS}\n\n"
    while True:
        view = read_view(db, job_id, base_url)
        if view is None:  # removed while streaming: nothing more will happen
            yield format_event("end", {"id": job_id})
            return
        change = fingerprint(view)
        if change != last_change:
            last_change, last_write = change, time.monotonic()
            yield format_event("progress", view)
        if view.get("status") in TERMINAL:
            yield format_event("end", view)
            return
        now = time.monotonic()
        if still_allowed is not None and now - last_check >= recheck:
            last_check = now
            if not still_allowed():
                log.info("event stream for %s closed: the key or session is no longer valid",
                         job_id)
                return
        if now - started >= max_seconds:
            log.debug("event stream for %s reached its %.0f s limit", job_id, max_seconds)
            return
        if now - last_write >= heartbeat:
            last_write = now
            yield ": heartbeat\n\n"  # a comment: keeps proxies from closing an idle connection
        time.sleep(poll)


def read_view(db, job_id: str, base_url: str) -> dict | None:
    """The job resource now, from a fresh session so each poll sees the latest commit."""
    with db.session(readonly=True) as session:
        job = jobs.get_job(session, job_id)
        return job_view(job, base_url) if job is not None else None


def fingerprint(view: dict) -> str:
    """The resource without the ETA, which drifts every second even when nothing was spoken."""
    progress = {k: v for k, v in view.get("progress", {}).items() if k != "eta_seconds"}
    return json.dumps({**view, "progress": progress}, sort_keys=True, default=str)


def format_event(name: str, data: dict) -> str:
    """One SSE event; JSON has no raw newlines, so one `data:` line suffices."""
    return f"event: {name}\ndata: {json.dumps(data, default=str)}\n\n"
