"""Rate limits (per API key and per client address) and per-user quotas, both answering 429.

Rate limits use flask-limiter with its counters in Redis (the broker's), so every web process
counts together; an unreachable Redis lets requests through rather than failing them (the
limiter logs it). Quotas are counted in the database in the same transaction that stores the
job, with the user's row locked, so concurrent submissions cannot slip past them together.
"""

from __future__ import annotations

import hashlib
import math
import time
import uuid
from datetime import datetime, timedelta, timezone

from flask import Flask, current_app
from flask_limiter import ApplicationLimit, Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from narration.errors import NarrationError
from service.auth import presented_key
from service.errors import error_response
from state.models import ACTIVE, Job, JobRetry, User

IP_SCOPE, KEY_SCOPE = "client-address", "api-key"
QUOTA_RETRY_SECONDS = 30
"""Retry-After for the running-jobs quota: when a job finishes cannot be known in advance."""


class QuotaExceeded(NarrationError):
    code = "quota_exceeded"
    status = 429

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message)
        self.headers = {"Retry-After": str(max(1, retry_after))}


def init_rate_limits(app: Flask) -> Limiter:
    """Limit every request per client address and every keyed request per key."""
    per_ip, per_key = app.config["RATE_LIMIT_IP"], app.config["RATE_LIMIT"]
    limits = []  # application limits: one count across all routes, not one per route
    if per_ip:
        limits.append(ApplicationLimit(per_ip, scope=IP_SCOPE))
    if per_key:
        limits.append(ApplicationLimit(per_key, key_function=key_bucket, scope=KEY_SCOPE,
                                       exempt_when=lambda: key_bucket() == ""))
    limiter = Limiter(
        key_func=get_remote_address, app=app, storage_uri=app.config["RATE_LIMIT_STORAGE"],
        # Headers are set by `rate_limited` on the 429 only: flask-limiter's would also put a
        # Retry-After on every successful response, and rewrite the quotas' own Retry-After.
        application_limits=limits, headers_enabled=False, swallow_errors=True,
        strategy="moving-window", key_prefix="narrator-limits")
    app.register_error_handler(RateLimitExceeded, rate_limited)
    app.extensions["narrator_limiter"] = limiter
    return limiter


def key_bucket() -> str:
    """The bucket of the key the request presents: a digest, so no key is stored in Redis."""
    try:
        key, _ = presented_key()
    except NarrationError:
        return ""  # a malformed header: the request is refused as unauthorized anyway
    return hashlib.sha256(key.encode()).hexdigest()[:32] if key else ""


def rate_limited(error: RateLimitExceeded):
    """429 in our JSON shape, with Retry-After and the limit's X-RateLimit headers."""
    scope = "API key" if getattr(error.limit, "scope", "") == KEY_SCOPE else "client address"
    window = error.limit.limit
    current = current_app.extensions["narrator_limiter"].current_limit
    reset_at = current.reset_at if current is not None else time.time() + window.get_expiry()
    retry = min(window.get_expiry(), max(1, math.ceil(reset_at - time.time())))
    return error_response(
        429, "rate_limited",
        f"Too many requests: at most {window.amount} per {window_text(window)} per {scope}. "
        f"Try again in {retry} s.",
        headers={"Retry-After": str(retry), "X-RateLimit-Limit": str(window.amount),
                 "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(reset_at))})


def window_text(window) -> str:
    """"minute", "10 minutes": the limit's window in words."""
    multiples = window.multiples
    name = window.GRANULARITY.name
    return name if multiples == 1 else f"{multiples} {name}s"


def check_quotas(session: Session, job: Job, *, retry: bool = False) -> None:
    """Refuse a just-stored (or, with `retry`, just re-queued) job that takes its user over a
    quota; the caller's transaction then rolls it back. Counted after the change, with the user's
    row locked, so of two concurrent submissions the second sees the first. A retry is a
    submission: it is queued again, and its characters are spoken again, so it is recorded and
    counted against the day as a new job would be (else cancel-and-retry would bypass both)."""
    config = current_app.config
    per_day, active_limit = int(config["QUOTA_CHARS_PER_DAY"]), int(config["QUOTA_ACTIVE_JOBS"])
    if retry:
        session.add(JobRetry(id=str(uuid.uuid4()), job_id=job.id, user_id=job.user_id,
                             chars=job.input_chars))
        session.flush()
    if not per_day and not active_limit:
        return
    session.get(User, job.user_id, with_for_update=True)
    if active_limit:
        active = session.scalar(select(func.count()).select_from(Job)
                                .where(Job.user_id == job.user_id, Job.status.in_(ACTIVE)))
        if active > active_limit:
            raise QuotaExceeded(
                f"You have {active - 1} narrations queued or running; the limit is "
                f"{active_limit} at once. Submit again when one finishes.",
                retry_after=QUOTA_RETRY_SECONDS)
    if per_day:
        now = datetime.now(timezone.utc)
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        used = session.scalar(select(func.coalesce(func.sum(Job.input_chars), 0))
                              .where(Job.user_id == job.user_id, Job.created_at >= midnight))
        used += session.scalar(select(func.coalesce(func.sum(JobRetry.chars), 0))
                               .where(JobRetry.user_id == job.user_id,
                                      JobRetry.created_at >= midnight))
        if used > per_day:
            resets = midnight + timedelta(days=1)
            raise QuotaExceeded(
                f"This narration ({job.input_chars:,} characters) would take you over your daily "
                f"quota of {per_day:,} characters ({used - job.input_chars:,} used today); it "
                f"resets at {resets:%H:%M} UTC on {resets:%Y-%m-%d}.",
                retry_after=math.ceil((resets - now).total_seconds()))
