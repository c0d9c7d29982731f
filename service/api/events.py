"""The Server-Sent Events stream of one job: `progress` on every change, then `end`.

The stream polls the database instead of subscribing to Redis: progress already lands in the
database once per sentence, and polling keeps the web process free of broker connections.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Iterator

from state import jobs

log = logging.getLogger(__name__)

TERMINAL = ("done", "failed", "canceled")
RECONNECT_MS = 3000
"""How long EventSource clients wait before reconnecting after the stream closes."""


def event_stream(db, job_id: str, base_url: str, *, poll: float, heartbeat: float,
                 max_seconds: float) -> Iterator[str]:
    """Yield SSE text: an event per change of the job, heartbeats while idle, `end` when terminal.

    After `max_seconds` the stream just closes (no `end`), so a client reconnects and a
    long job never pins a server thread forever.
    """
    started = last_write = time.monotonic()
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
        return jobs.job_view(job, base_url) if job is not None else None


def fingerprint(view: dict) -> str:
    """The resource without the ETA, which drifts every second even when nothing was spoken."""
    progress = {k: v for k, v in view.get("progress", {}).items() if k != "eta_seconds"}
    return json.dumps({**view, "progress": progress}, sort_keys=True, default=str)


def format_event(name: str, data: dict) -> str:
    """One SSE event; JSON has no raw newlines, so one `data:` line suffices."""
    return f"event: {name}\ndata: {json.dumps(data, default=str)}\n\n"
