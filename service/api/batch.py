"""`POST /api/v1/narrations:batch`: several narrations in one request, one job each, all in one feed.

Each item is the JSON body of `POST /api/v1/narrations` (without `feed`, which the batch gives
once) and goes through the same checks and the same storing path. Items stand alone: a bad item
gets its own error and the others are still made (202 when at least one was; 422 with every
item's error when none was). With an Idempotency-Key, item i uses "<key>:<i>", so a retried
batch replays the narrations it made instead of making them twice.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from narration.errors import NarrationError
from service.api import JSON, narrator, produces
from service.api.narrations import chosen_feed, queue, read_job, store_narration
from service.auth import current_user, require_user
from service.errors import InvalidRequestError, MissingFieldError
from service.requests import JSON_FIELDS, build_request, idempotency_key, json_object, parse_feed
from state import voices as user_voices

bp = Blueprint("batch", __name__, url_prefix="/api/v1")
bp.before_request(require_user)

MAX_ITEMS = 20
"""Items per batch: enough for a week of reviews, few enough that one request stays short
(each item is read and planned before the answer)."""
ITEM_FIELDS = JSON_FIELDS - {"feed"}


class BatchRefusedError(NarrationError):
    """Every item of the batch was refused; `items` says why, item by item."""

    code = "batch_refused"


@bp.post("/narrations:batch")
@produces(JSON)
def create_batch():
    """Check every item, store and queue the good ones, and answer item by item."""
    body = json_object(request, {"items", "feed"})
    items = body.get("items")
    if items is None:
        raise MissingFieldError('Send the narrations as {"items": [{"text": …, "voice": …}, …]}.',
                                field="items")
    if not isinstance(items, list) or not items:
        raise InvalidRequestError("items must be a non-empty list of narration requests.",
                                  field="items")
    if len(items) > MAX_ITEMS:
        raise InvalidRequestError(f"A batch holds at most {MAX_ITEMS} narrations, not "
                                  f"{len(items)}; send the rest in another batch.", field="items")
    feed = parse_feed(body)
    key = idempotency_key(request)
    with narrator().db.session(readonly=True) as session:
        chosen_feed(session, feed)  # an unknown feed is the batch's mistake, not each item's
        catalogue = user_voices.voices_for_user(session, current_user(), narrator().catalogue)
    results = [submit_item(index, item, feed, catalogue, key) for index, item in enumerate(items)]
    accepted = sum(1 for result in results if "narration" in result)
    if not accepted:
        error = BatchRefusedError(f"None of the {len(items)} narrations was accepted; see "
                                  "items for each one's error.", field="items")
        response = jsonify(error={"code": error.code, "message": error.message,
                                  "field": error.field, "items": results})
        response.status_code = error.status
        return response
    response = jsonify(items=results, accepted=accepted, refused=len(items) - accepted)
    response.status_code = 202
    return response


def submit_item(index: int, item: object, feed: str | None, catalogue, key: str | None) -> dict:
    """One item's outcome: {"index", "status", "narration"} or {"index", "status", "error"}."""
    try:
        if not isinstance(item, dict):
            raise InvalidRequestError("Each item must be a JSON object like the body of "
                                      "POST /api/v1/narrations.")
        unknown = sorted(set(item) - ITEM_FIELDS)
        if unknown:
            hint = " (the batch's feed is given once, beside items)" if "feed" in unknown else ""
            raise InvalidRequestError(f"Unknown field {unknown[0]!r}{hint}.", field=unknown[0])
        wanted = build_request({**item, "feed": feed}, catalogue)
        with narrator().db.session() as session:
            job, created = store_narration(session, wanted, f"{key}:{index}" if key else None)
            job_id = job.id
        if created:
            queue(job_id)
        return {"index": index, "status": 202 if created else 200, "narration": read_job(job_id)}
    except NarrationError as error:
        found = {"code": error.code, "message": error.message}
        if error.field:
            found["field"] = error.field
        return {"index": index, "status": error.status, "error": found}
