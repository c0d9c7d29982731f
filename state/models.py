"""Tables: users and their API keys, narration jobs and their parts, feeds and their episodes."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (JSON, Boolean, DateTime, Float, ForeignKey, Integer, String, Text,
                        TypeDecorator, UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

JOB_STATUSES = ("queued", "running", "done", "failed", "canceled")
TERMINAL = frozenset({"done", "failed", "canceled"})
ACTIVE = ("queued", "running")


def utcnow() -> datetime:
    """Now, as an aware UTC datetime: every timestamp in the database is UTC."""
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in and out, also on SQLite, which stores no time zone."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            raise ValueError("store aware datetimes only (use state.models.utcnow())")
        return value.astimezone(timezone.utc) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


class Base(DeclarativeBase):
    pass


class User(Base):
    """Someone who submits narrations and owns feeds; everything they own carries their id."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiKey(Base):
    """A key a user sends as `Authorization: Bearer …`; only its SHA-256 is stored."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    """SHA-256 of the key: keys carry 256 random bits, so a fast hash cannot be brute-forced."""
    hint: Mapped[str] = mapped_column(String(16))
    """The key's first characters, so a user can tell keys apart without the key."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PageSession(Base):
    """The web page's sign-in: its cookie holds a random id whose SHA-256 is stored here.

    Tied to the API key it was opened with, so revoking the key ends the session too; it expires
    unless used (a sliding lifetime), and signing out deletes it.
    """

    __tablename__ = "page_sessions"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    api_key_id: Mapped[str] = mapped_column(ForeignKey("api_keys.id", ondelete="CASCADE"),
                                            index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)

    api_key: Mapped[ApiKey] = relationship(lazy="joined")


class JobRetry(Base):
    """A retry of a narration: it counts against the daily characters quota like a submission."""

    __tablename__ = "job_retries"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    chars: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True, default=utcnow)


class Job(Base):
    """One narration request and where it stands."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                                index=True)
    """None only for jobs made before there were users (the local user claims them)."""
    status: Mapped[str] = mapped_column(String(16), index=True, default="queued")
    title: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str] = mapped_column(Text, default="")
    voice: Mapped[str] = mapped_column(String(100))
    quote_voice: Mapped[str | None] = mapped_column(String(100))
    """The voice that reads quotations (narration.quotes); None: the narrator reads them."""
    speed: Mapped[float] = mapped_column(Float, default=1.0)
    source: Mapped[str] = mapped_column(String(16))
    request: Mapped[dict | None] = mapped_column(JSON, deferred=True)
    """What was sent, unread: {"source": kind, "input": text | chapters | url, "title",
    "author"} (up to megabytes); the plan task reads it, the request never does."""
    input_chars: Mapped[int] = mapped_column(Integer, default=0)
    """Characters sent, counted by the request for the daily quota."""
    document: Mapped[dict | None] = mapped_column(JSON, deferred=True)
    """The text as read, stored by the plan task (metadata for tags, feeds and the cover)."""
    planned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """When the plan task stored the script; None before (no parts yet)."""
    description: Mapped[str] = mapped_column(Text, default="")
    """The text's opening, as a feed shows the episode (kept apart from the document)."""
    idempotency_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    """"<user id>:<the client's key>", so one user's key never collides with another's."""
    request_hash: Mapped[str | None] = mapped_column(String(64))
    chapters_total: Mapped[int] = mapped_column(Integer, default=0)
    """Chapters of the plan (0 until planned); parts are the units of work."""
    sentences_total: Mapped[int] = mapped_column(Integer, default=0)
    sentences_done: Mapped[int] = mapped_column(Integer, default=0)
    chars_total: Mapped[int] = mapped_column(Integer, default=0)
    chars_done: Mapped[int] = mapped_column(Integer, default=0)
    duration: Mapped[float | None] = mapped_column(Float)
    mp3_size: Mapped[int | None] = mapped_column(Integer)
    opus_size: Mapped[int | None] = mapped_column(Integer)
    """Bytes of the episode's Opus copy (`audio.opus`); None when none was made."""
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    """Times the job was put on the queue: 1 when enqueued, 2 after the watchdog re-queued it."""
    assembly_attempts: Mapped[int] = mapped_column(Integer, default=0)
    """Deliveries of the join task, for bounded redelivery."""
    plan_attempts: Mapped[int] = mapped_column(Integer, default=0)
    """Deliveries of the plan task, for bounded redelivery."""
    recognition_check: Mapped[bool] = mapped_column(Boolean, default=False)
    """Whether the request asked for the recognition check (`"check": true`)."""
    names: Mapped[dict | None] = mapped_column(JSON)
    """The names check, stored by the plan task (`state.views.names_view` shape)."""
    check_summary: Mapped[dict | None] = mapped_column(JSON)
    """The recognition check's summary, stored by the join task (check.json holds it all)."""

    parts: Mapped[list[JobPart]] = relationship(
        back_populates="job", order_by="JobPart.index", lazy="selectin",
        cascade="all, delete-orphan")

    @property
    def terminal(self) -> bool:
        """Done, failed or canceled: nothing will change this job any more."""
        return self.status in TERMINAL


class JobPart(Base):
    """A piece of work of a job: a chapter, or a stretch of a long one, narrated by one task.

    Parts of one chapter share `chapter`; users see chapters (`state.views` sums the parts)."""

    __tablename__ = "job_parts"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    index: Mapped[int] = mapped_column(Integer, primary_key=True)
    chapter: Mapped[int] = mapped_column(Integer, default=0)
    """Index of the chapter this part belongs to."""
    title: Mapped[str] = mapped_column(Text, default="")
    """The chapter's title."""
    status: Mapped[str] = mapped_column(String(16), default="queued")
    sentences_total: Mapped[int] = mapped_column(Integer, default=0)
    sentences_done: Mapped[int] = mapped_column(Integer, default=0)
    chars_total: Mapped[int] = mapped_column(Integer, default=0)
    chars_done: Mapped[int] = mapped_column(Integer, default=0)
    duration: Mapped[float | None] = mapped_column(Float)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    """Deliveries of this part's task, for bounded redelivery."""
    worker: Mapped[str | None] = mapped_column(String(255))
    """host:pid of the process that last started the part, to find it when it hangs."""

    job: Mapped[Job] = relationship(back_populates="parts")


class Feed(Base):
    """A podcast: its channel facts, its private token, and a revision for conditional GETs."""

    __tablename__ = "feeds"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    title: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str] = mapped_column(Text, default="")
    owner_email: Mapped[str] = mapped_column(Text, default="")
    language: Mapped[str] = mapped_column(String(35), default="en")
    explicit: Mapped[bool] = mapped_column(Boolean, default=False)
    category: Mapped[str] = mapped_column(Text, default="Arts/Books")
    artwork_type: Mapped[str | None] = mapped_column(String(32))
    """MIME type of uploaded artwork in the media store; None: a cover is generated."""
    token_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    """SHA-256 of the secret in the feed's URL; None while the feed is revoked. The token itself is
    shown once, when made (like an API key), and never stored."""
    chapter_episodes: Mapped[bool] = mapped_column(Boolean, default=False)
    """Publish each chapter of a narration as its own episode (season = the narration's number,
    episode = the chapter's) instead of one episode per narration."""
    intro: Mapped[dict | None] = mapped_column(JSON)
    """The clip put before the first part of every new episode: {"key": its MP3 in the media
    store, "seconds", "segment": its segment record}; None: no intro (see service/feed_clips)."""
    outro: Mapped[dict | None] = mapped_column(JSON)
    """The same for the clip put after the last part."""
    revision: Mapped[int] = mapped_column(Integer, default=1)
    """Bumped on every change that alters the rendered feed: the ETag is made from it."""
    last_number: Mapped[int] = mapped_column(Integer, default=0)
    """The last episode number given; numbers of removed episodes are never given again."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    """When the rendered feed last changed: the Last-Modified of the feed URL."""

    entries: Mapped[list[FeedEntry]] = relationship(
        back_populates="feed", cascade="all, delete-orphan", passive_deletes=True)


class FeedEntry(Base):
    """A narration in a feed; an episode once the narration is done (then it gets a number)."""

    __tablename__ = "feed_entries"
    __table_args__ = (UniqueConstraint("feed_id", "number"),)

    feed_id: Mapped[str] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"),
                                         primary_key=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"),
                                        primary_key=True, index=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    number: Mapped[int | None] = mapped_column(Integer)
    """itunes:episode, given when the episode first appears and never reused or changed."""
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    """pubDate: when the episode first appeared in this feed."""

    feed: Mapped[Feed] = relationship(back_populates="entries")
    job: Mapped[Job] = relationship(lazy="joined")


class UserLexicon(Base):
    """A user's pronunciation lexicon, kept as uploaded (PLS or two-column text); see
    narration.lexicon. `is_default` ones apply to narrations that name no lexicons."""

    __tablename__ = "lexicons"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    """How requests name it: letters, digits, `.`, `_`, `-`; unique per user."""
    format: Mapped[str] = mapped_column(String(8))
    """"pls" or "text" (two columns)."""
    source: Mapped[str] = mapped_column(Text)
    entries: Mapped[int] = mapped_column(Integer)
    is_default: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UserVoice(Base):
    """A voice a user made (a blend of installed voices): private to them, found by its id."""

    __tablename__ = "user_voices"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    id: Mapped[str] = mapped_column(String(50), primary_key=True)
    """The id the user names it by in requests; never one of the catalogue's ids or aliases."""
    name: Mapped[str] = mapped_column(Text)
    gender: Mapped[str] = mapped_column(String(16))
    """Checked against the measured pitch when the voice was made."""
    engine: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(35))
    base_speed: Mapped[float] = mapped_column(Float, default=1.0)
    blend: Mapped[dict] = mapped_column(JSON)
    """{speaker: weight}, weights summing to 1."""
    median_pitch_hz: Mapped[float | None] = mapped_column(Float)
    """Measured on the voice's sample when it was made."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
