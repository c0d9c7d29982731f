"""Tables: a narration job and its chapters, with the counters progress and the watchdog use."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Integer, String, Text, TypeDecorator
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


class Job(Base):
    """One narration request and where it stands."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), index=True, default="queued")
    title: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str] = mapped_column(Text, default="")
    voice: Mapped[str] = mapped_column(String(100))
    speed: Mapped[float] = mapped_column(Float, default=1.0)
    source: Mapped[str] = mapped_column(String(16))
    document: Mapped[dict] = mapped_column(JSON)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    request_hash: Mapped[str | None] = mapped_column(String(64))
    chapters_total: Mapped[int] = mapped_column(Integer, default=0)
    sentences_total: Mapped[int] = mapped_column(Integer, default=0)
    sentences_done: Mapped[int] = mapped_column(Integer, default=0)
    chars_total: Mapped[int] = mapped_column(Integer, default=0)
    chars_done: Mapped[int] = mapped_column(Integer, default=0)
    duration: Mapped[float | None] = mapped_column(Float)
    mp3_size: Mapped[int | None] = mapped_column(Integer)
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    """Times the job was put on the queue: 1 when enqueued, 2 after the watchdog re-queued it."""
    assembly_attempts: Mapped[int] = mapped_column(Integer, default=0)
    """Deliveries of the assembly task, for bounded redelivery."""

    chapters: Mapped[list[JobChapter]] = relationship(
        back_populates="job", order_by="JobChapter.index", lazy="selectin",
        cascade="all, delete-orphan")

    @property
    def terminal(self) -> bool:
        """Done, failed or canceled: nothing will change this job any more."""
        return self.status in TERMINAL


class JobChapter(Base):
    """One chapter of a job: narrated by one task, playable once done."""

    __tablename__ = "job_chapters"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    index: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="queued")
    sentences_total: Mapped[int] = mapped_column(Integer, default=0)
    sentences_done: Mapped[int] = mapped_column(Integer, default=0)
    chars_total: Mapped[int] = mapped_column(Integer, default=0)
    chars_done: Mapped[int] = mapped_column(Integer, default=0)
    duration: Mapped[float | None] = mapped_column(Float)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    """Deliveries of this chapter's task, for bounded redelivery."""
    worker: Mapped[str | None] = mapped_column(String(255))
    """host:pid of the process that last started the chapter, to find it when it hangs."""

    job: Mapped[Job] = relationship(back_populates="chapters")
