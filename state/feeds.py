"""Feeds and their episodes: every change that alters a rendered feed goes through here.

A feed's `revision` is bumped by each such change, so the feed URL can answer a conditional GET
from one row without rendering. Episodes get their number and pubDate when they first appear
(the narration is done and in the feed) and keep them: later narrations never renumber them.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session, contains_eager, object_session

from narration.errors import NarrationError
from state.models import Feed, FeedEntry, Job, User, utcnow
from state.users import digest

TOKEN_BYTES = 24
"""192 random bits per feed URL token (issue: at least 128)."""
FRESH_TOKENS = "narrator_fresh_feed_tokens"
"""Key in `Session.info` of the tokens made in that session."""
EDITABLE = ("title", "description", "author", "owner_email", "language", "explicit", "category",
            "chapter_episodes")


class DefaultFeedError(NarrationError):
    """The default feed is where narrations go unless told otherwise; it cannot be deleted."""

    code = "default_feed"
    status = 409


def fresh_token(feed: Feed) -> str | None:
    """The token made for this feed in the current session (create or rotate), else None: the
    token is shown when made, like an API key, and never stored."""
    session = object_session(feed)
    return session.info.get(FRESH_TOKENS, {}).get(feed.id) if session is not None else None


def _remember_token(feed: Feed, token: str | None) -> None:
    """Keep a just-made token for the rest of the session (in the session, not the row: the
    identity map holds rows weakly, and the token must never reach the database)."""
    object_session(feed).info.setdefault(FRESH_TOKENS, {})[feed.id] = token


def token_matches(feed: Feed, token: str) -> bool:
    """Whether `token` is the feed's current URL token (a token kept elsewhere may be stale)."""
    return feed.token_digest is not None and hmac.compare_digest(feed.token_digest, digest(token))


def new_token() -> str:
    """A fresh, URL-safe feed token."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def create_feed(session: Session, user_id: str, *, title: str, is_default: bool = False,
                **fields) -> Feed:
    """A new feed with a private token (see `fresh_token`: only its digest is stored); `fields`
    are any of EDITABLE."""
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise TypeError(f"not feed fields: {sorted(unknown)}")
    now = utcnow()
    token = new_token()
    feed = Feed(id=str(uuid.uuid4()), user_id=user_id, is_default=is_default, title=title,
                description=fields.get("description", ""), author=fields.get("author", ""),
                owner_email=fields.get("owner_email", ""), language=fields.get("language", "en"),
                explicit=bool(fields.get("explicit", False)),
                category=fields.get("category", "Arts/Books"),
                chapter_episodes=bool(fields.get("chapter_episodes", False)), artwork_type=None,
                token_digest=digest(token), revision=1, last_number=0, created_at=now,
                updated_at=now)
    session.add(feed)
    session.flush()
    _remember_token(feed, token)
    return feed


def create_default_feed(session: Session, user: User) -> Feed:
    """The feed a user's narrations go to unless they name another."""
    return create_feed(session, user.id, title=f"{user.name}'s narrations", is_default=True,
                       author=user.name,
                       description=f"Reviews and articles narrated for {user.name} by narrator.")


def get_feed(session: Session, user_id: str, feed_id: str) -> Feed | None:
    """The user's feed with this id; None for unknown ids and other users' feeds alike."""
    feed = session.get(Feed, feed_id)
    return feed if feed is not None and feed.user_id == user_id else None


def default_feed(session: Session, user_id: str) -> Feed | None:
    """The user's default feed."""
    return session.scalar(select(Feed).where(Feed.user_id == user_id, Feed.is_default))


def list_feeds(session: Session, user_id: str) -> list[Feed]:
    """The user's feeds, the default first, then oldest first."""
    return list(session.scalars(select(Feed).where(Feed.user_id == user_id)
                                .order_by(Feed.is_default.desc(), Feed.created_at, Feed.id)))


def feed_by_token(session: Session, token: str) -> Feed | None:
    """The feed whose URL carries this token; None when unknown, rotated away or revoked."""
    return session.scalar(select(Feed).where(Feed.token_digest == digest(token)))


def touch(feeds: Iterable[Feed]) -> None:
    """Record that these feeds render differently now (new ETag and Last-Modified)."""
    now = utcnow()
    for feed in feeds:
        feed.revision += 1
        feed.updated_at = now


def update_feed(session: Session, feed: Feed, changes: dict) -> Feed:
    """Change channel fields (any of EDITABLE)."""
    for name, value in changes.items():
        if name not in EDITABLE:
            raise TypeError(f"not an editable feed field: {name}")
        setattr(feed, name, value)
    touch([feed])
    return feed


def set_artwork(feed: Feed, content_type: str | None) -> None:
    """Record uploaded artwork (its MIME type), or None to go back to the generated cover."""
    feed.artwork_type = content_type
    touch([feed])


CLIPS = ("intro", "outro")
"""Where a feed's clips go in its new episodes: before the first part, after the last."""


def set_clip(feed: Feed, which: str, record: dict | None) -> dict | None:
    """Record the feed's intro or outro (see Feed.intro), or None to have none; the record it
    replaced, whose file the caller removes. The rendered feed does not change (only episodes
    made from now on carry the clip), so neither does its revision."""
    if which not in CLIPS:
        raise ValueError(f"not a clip: {which}")
    old = getattr(feed, which)
    setattr(feed, which, record)
    feed.updated_at = utcnow()
    return old


def episode_clips(session: Session, job_id: str) -> dict[str, dict | None]:
    """The intro and outro a narration's episode gets when it is joined: those its feed has now
    (the first feed it was put in, which is the one it was submitted to)."""
    feed = next(iter(job_feeds(session, job_id)), None)
    return {which: getattr(feed, which) if feed is not None else None for which in CLIPS}


def job_feeds(session: Session, job_id: str) -> list[Feed]:
    """The feeds a narration is in, in the order it was put in them: the first is the one it was
    submitted to (unless it was taken out of that one since)."""
    return list(session.scalars(select(Feed).join(FeedEntry).where(FeedEntry.job_id == job_id)
                                .order_by(FeedEntry.added_at, Feed.id)))


def delete_feed(session: Session, feed: Feed) -> None:
    """Delete a named feed (its narrations stay; only their place in this feed goes)."""
    if feed.is_default:
        raise DefaultFeedError("The default feed cannot be deleted; revoke its URL instead, or "
                               "remove its episodes.", field="id")
    session.delete(feed)


def rotate_token(feed: Feed) -> str:
    """A new URL token: the old URL answers 404 from now on; also un-revokes a revoked feed.

    The token is returned (and given by `fresh_token` in this session) this once; only its
    digest is stored.
    """
    token = new_token()
    feed.token_digest = digest(token)
    _remember_token(feed, token)
    touch([feed])
    return token


def revoke_token(feed: Feed) -> None:
    """No URL reaches the feed until a new token is made."""
    feed.token_digest = None
    _remember_token(feed, None)
    touch([feed])


def add_job(session: Session, feed: Feed, job: Job) -> tuple[FeedEntry, bool]:
    """Put a narration in a feed; (entry, False) when it was there already.

    A done narration appears at once; a queued or running one when it finishes.
    """
    entry = session.get(FeedEntry, (feed.id, job.id))
    if entry is not None:
        return entry, False
    entry = FeedEntry(feed_id=feed.id, job_id=job.id, added_at=utcnow())
    session.add(entry)
    session.flush()
    if job.status == "done":
        _publish(session, [entry])
    return entry, True


def remove_job(session: Session, feed: Feed, job_id: str) -> bool:
    """Take a narration out of a feed; False when it was not in it."""
    entry = session.get(FeedEntry, (feed.id, job_id))
    if entry is None:
        return False
    was_episode = entry.number is not None
    session.delete(entry)
    if was_episode:
        touch([feed])
    return True


def publish_job(session: Session, job_id: str) -> None:
    """A narration just finished: it becomes an episode of every feed it was put in."""
    entries = session.scalars(select(FeedEntry).where(FeedEntry.job_id == job_id,
                                                      FeedEntry.number.is_(None))).all()
    _publish(session, entries)


def job_changed(session: Session, job_id: str) -> None:
    """A narration's title or description changed: the feeds showing it render differently."""
    touch(session.scalars(select(Feed).join(FeedEntry).where(FeedEntry.job_id == job_id,
                                                             FeedEntry.number.is_not(None))))


def _publish(session: Session, entries: Iterable[FeedEntry]) -> None:
    """Give each entry the next number of its feed and a pubDate, and bump the feeds.

    The feed row is locked first (FOR UPDATE; SQLite's write lock does the same), so two
    narrations finishing at once cannot take the same number.
    """
    now = utcnow()
    for entry in entries:
        feed = session.get(Feed, entry.feed_id, with_for_update=True, populate_existing=True)
        feed.last_number += 1
        entry.number = feed.last_number
        entry.published_at = now
        touch([feed])
    session.flush()


def episodes(session: Session, feed: Feed) -> list[FeedEntry]:
    """The feed's episodes (entries of done narrations), newest first, with their jobs loaded."""
    return list(session.scalars(
        select(FeedEntry).join(FeedEntry.job)
        .where(FeedEntry.feed_id == feed.id, FeedEntry.number.is_not(None), Job.status == "done")
        .options(contains_eager(FeedEntry.job).lazyload(Job.parts))  # a feed needs no parts
        .order_by(FeedEntry.number.desc())))


def episode(session: Session, feed: Feed, job_id: str) -> FeedEntry | None:
    """One published episode of the feed, or None (not in it, or not done)."""
    entry = session.get(FeedEntry, (feed.id, job_id))
    if entry is None or entry.number is None or entry.job.status != "done":
        return None
    return entry



def chapter_episodes(session: Session, feed: Feed) -> list[FeedEntry]:
    """The feed's episodes with each narration's chapters loaded, for a feed that publishes
    every chapter as an episode (newest narration first)."""
    return list(session.scalars(
        select(FeedEntry).join(FeedEntry.job)
        .where(FeedEntry.feed_id == feed.id, FeedEntry.number.is_not(None), Job.status == "done")
        .options(contains_eager(FeedEntry.job).selectinload(Job.parts))
        .order_by(FeedEntry.number.desc())))
