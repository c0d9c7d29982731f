"""The narration jobs: create, read, list, follow (Server-Sent Events), cancel, retry, and
narrate again (a new job from a stored one's request).

Choices a client can rely on (also in the OpenAPI document):
- POST answers 202 with the new job; a retry with the same Idempotency-Key and the same request
  answers 200 with the job first made (header `Idempotent-Replayed: true`), never a second job;
  the same key with a different request is 422 `idempotency_conflict`. POST …/{id}/again
  answers the same way (its key names the narration repeated).
- DELETE of a queued or running job answers 202 with the canceled job; of a canceled one 200
  (idempotent); of a done or failed one 409 `job_finished`.
"""

from __future__ import annotations

import logging
from uuid import UUID

from flask import Blueprint, current_app, jsonify, request, url_for

from service.api import JSON, base_url, narrator, produces
from service.api.events import open_stream
from service.auth import current_user, require_user, still_signed_in
from service.limits import check_quotas
from service.errors import (InvalidRequestError, JobFinishedError, NotFoundError,
                            NotRetryableError, ServiceUnavailableError)
from service.requests import (again_request, idempotency_key, parse_narration_request,
                              parse_narration_update)
from state import feeds, jobs
from state.lexicons import named_lexicons
from state.voices import voices_for_user
from state.models import utcnow
from state.views import job_view

log = logging.getLogger(__name__)

bp = Blueprint("narrations", __name__, url_prefix="/api/v1/narrations")
bp.before_request(require_user)

UNQUEUED_GRACE_SECONDS = 5.0
"""A replayed job still unqueued after this long was lost between storing and queueing."""
DEFAULT_PAGE = 20
MAX_PAGE = 100
FINISHED = ("done", "failed")


@bp.post("")
@produces(JSON)
def create_narration():
    """Check the request cheaply, store it unread, queue it, and point at it: the workers read
    and plan the text, so this takes the same time for any text."""
    services = narrator()
    key = idempotency_key(request)
    with services.db.session(readonly=True) as session:
        catalogue = voices_for_user(session, current_user(), services.catalogue)
    wanted = parse_narration_request(request, catalogue)
    return submitted(lambda session: store_narration(session, wanted, key))


@bp.post("/<uuid:job_id>/again")
@produces(JSON)
def narrate_again(job_id: UUID):
    """A new narration of one of the caller's narrations (any status), answered as a POST is:
    the lexicons are resolved again when it is planned, so entries added since apply, and the
    sentence cache makes only the sentences they change be synthesized anew."""
    key = idempotency_key(request)
    return submitted(lambda session: store_again(session, str(job_id), key))


@bp.get("")
@produces(JSON)
def list_narrations():
    """A page of jobs, newest first; `next` links to the following page when there is one."""
    limit = page_size(request.args.get("limit"))
    before = decode_cursor(request.args.get("cursor"))
    with narrator().db.session(readonly=True) as session:
        found = jobs.list_jobs(session, limit=limit + 1, before=before, user_id=current_user())
        page = found[:limit]
        views = [job_view(job, base_url()) for job in page]
        cursor = page[-1].id if len(found) > limit else None
    next_url = (f"{base_url()}{url_for('narrations.list_narrations', limit=limit, cursor=cursor)}"
                if cursor else None)
    response = jsonify(narrations=views, next=next_url)
    if next_url:
        response.headers["Link"] = f'<{next_url}>; rel="next"'
    return response


@bp.get("/<uuid:job_id>")
@produces(JSON)
def get_narration(job_id: UUID):
    """Status, progress per chapter, ETA, error, and output links when done."""
    return jsonify(read_job(str(job_id)))


@bp.patch("/<uuid:job_id>")
@produces(JSON)
def edit_narration(job_id: UUID):
    """Change the title; feeds show the new title under the same guid (no duplicate episode)."""
    changes = parse_narration_update(request)
    with narrator().db.session() as session:
        job = owned_job(session, str(job_id))
        if "title" in changes:
            jobs.rename_job(session, job, changes["title"])
    return jsonify(read_job(str(job_id)))


@bp.delete("/<uuid:job_id>")
@produces(JSON)
def cancel_narration(job_id: UUID):
    """Cancel in the database: tasks check it between sentences and stop; queued ones start, see it
    and return. Tasks are not revoked: a revoked chord member would keep the join, which removes
    a canceled job's partial media, from ever running."""
    with narrator().db.session() as session:
        job = owned_job(session, str(job_id))
        before = job.status
        if before not in FINISHED and before != "canceled":
            job = jobs.cancel_job(session, str(job_id))
        after = job.status
    if after in FINISHED:
        raise JobFinishedError(f"The narration is already {after}; only queued or running "
                               "narrations can be canceled.")
    response = jsonify(read_job(str(job_id)))
    response.status_code = 200 if before == "canceled" else 202
    return response


@bp.post("/<uuid:job_id>/retry")
@produces(JSON)
def retry_narration(job_id: UUID):
    """Run a failed or canceled narration again (same id, same text): 202; 409 otherwise."""
    with narrator().db.session() as session:
        job = owned_job(session, str(job_id))
        status = job.status
        retried = jobs.retry_job(session, str(job_id))
        if retried is not None:
            check_quotas(session, retried, retry=True)  # a retry is a submission; 429 undoes it
    if retried is None:
        raise NotRetryableError(f"The narration is {status}; only failed or canceled narrations "
                               "can be retried.", field="id")
    queue(str(job_id))
    response = jsonify(read_job(str(job_id)))
    response.status_code = 202
    return response


@bp.get("/<uuid:job_id>/events")
@produces("text/event-stream")
def narration_events(job_id: UUID):
    """Progress as Server-Sent Events until the job ends (or the stream's time is up)."""
    read_job(str(job_id))  # 404 before the stream starts, as JSON
    return open_stream(narrator().db, str(job_id), base_url(), user_id=current_user(),
                       still_allowed=still_signed_in(), **event_timings())


def submitted(store):
    """Store a job with `store(session)` → (job, created), queue it and answer with it: 202 and
    its Location; for an Idempotency-Key seen before, 200 with the job made then (queued now if
    it never reached the queue)."""
    with narrator().db.session() as session:
        job, created = store(session)
        # A repeat of a submission that was stored but never reached the queue runs it now.
        requeue = not created and never_queued(session, job)
        job_id = job.id
    if created or requeue:
        queue(job_id)
    response = jsonify(read_job(job_id))
    response.status_code = 202 if created or requeue else 200
    response.headers["Location"] = f"{base_url()}{url_for('narrations.get_narration', job_id=job_id)}"
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return response


def store_narration(session, wanted, key: str | None, *, into: list | None = None):
    """Store a checked request as the caller's job, in its feed: (job, created). Shared by the
    single and the batch POST, and narrating again, which gives the feeds (`into`) itself."""
    if into is None:
        feed = chosen_feed(session, wanted.feed)
        into = [feed] if feed is not None else []
    # Names a lexicon the caller does not have: 422 unknown_lexicon, before anything is stored.
    named_lexicons(session, current_user(), wanted.request.get("lexicons") or ())
    # A reused key with a different request raises IdempotencyConflict (422) from here.
    job, created = jobs.create_job(
        session, request=wanted.request, voice=wanted.voice.id,
        quote_voice=wanted.request.get("quote_voice"), speed=wanted.speed,
        source=wanted.source, input_chars=wanted.input_chars, title=wanted.title,
        author=wanted.author, idempotency_key=key, request_hash=wanted.request_hash,
        user_id=current_user())
    if created:
        check_quotas(session, job)  # 429 rolls the new job back
        for feed in into:
            feeds.add_job(session, feed, job)
    return job, created


def store_again(session, job_id: str, key: str | None):
    """Store a new job from the stored request of the caller's narration `job_id`: (job, created).

    It goes into every feed that narration is in now, in the same order (so the first, whose
    intro and outro its episode gets, stays the one it was submitted to); into none when that
    narration is in none: it was sent with `"feed": null` or taken out of its feeds, and
    narrating it again must not publish it to subscribers.
    """
    original = owned_job(session, job_id)
    catalogue = voices_for_user(session, current_user(), narrator().catalogue)
    return store_narration(session, again_request(original, catalogue), key,
                           into=feeds.job_feeds(session, original.id))


def read_job(job_id: str) -> dict:
    """The caller's job resource, or 404."""
    with narrator().db.session(readonly=True) as session:
        return job_view(owned_job(session, job_id), base_url())


def owned_job(session, job_id: str):
    """The caller's job; 404 alike for unknown ids and other users' jobs (no existence leak)."""
    job = jobs.owned_job(session, current_user(), job_id)
    if job is None:
        raise NotFoundError(f"You have no narration with id {job_id}.", field="id")
    return job


def never_queued(session, job) -> bool:
    """Whether a replayed job never got to the workers, and is put back in line for them: it was
    refused with 503 (the queue was down), or the web process died between storing and queueing
    it (still queued, never enqueued, older than a request takes)."""
    if job.status == "failed" and job.error_code == "queue_unavailable":
        return jobs.retry_job(session, job.id) is not None
    age = (utcnow() - job.created_at).total_seconds()
    return job.status == "queued" and job.attempts == 0 and age > UNQUEUED_GRACE_SECONDS


def chosen_feed(session, wanted: str | None):
    """The feed a new narration goes to: the default one, a named one of the caller's, or none."""
    if wanted is None:
        return None
    if wanted == "default":
        return feeds.default_feed(session, current_user())
    feed = feeds.get_feed(session, current_user(), wanted)
    if feed is None:
        raise NotFoundError(f"You have no feed with id {wanted}; see GET /api/v1/feeds.",
                            field="feed")
    return feed


def queue(job_id: str) -> None:
    """Hand the job to the workers; if the queue is down, fail the job instead of leaving it queued."""
    try:
        narrator().enqueue(job_id)
    except Exception as error:
        log.error("could not queue job %s", job_id, exc_info=True)
        with narrator().db.session() as session:
            jobs.fail_job(session, job_id, "queue_unavailable",
                          f"The job could not be queued: {error}")
        raise ServiceUnavailableError(
            "The work queue is unreachable, so the narration was not started; try again shortly."
        ) from None


def event_timings() -> dict:
    """The SSE timings from the app config."""
    config = current_app.config
    return {"poll": float(config["EVENTS_POLL_SECONDS"]),
            "heartbeat": float(config["EVENTS_HEARTBEAT_SECONDS"]),
            "max_seconds": float(config["EVENTS_MAX_SECONDS"])}


def page_size(raw: str | None) -> int:
    """The `limit` query parameter: 1–100, default 20."""
    if raw is None:
        return DEFAULT_PAGE
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        raise InvalidRequestError(f"limit must be a whole number from 1 to {MAX_PAGE}.", field="limit")
    return int(raw)


def decode_cursor(raw: str | None) -> str | None:
    """The cursor is the id of the previous page's last job; anything else is refused."""
    if not raw:
        return None
    try:
        return str(UUID(raw))
    except ValueError:
        raise InvalidRequestError("cursor is not valid; use the `next` link of the previous page.",
                                  field="cursor") from None
