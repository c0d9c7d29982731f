"""The database handle: one engine per process, sessions that commit or roll back, migrations."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
READ_ONLY = "narrator_read_only"
"""Execution option that marks a read-only session's connections."""
MIGRATION_LOCK = 7_290_411
"""PostgreSQL advisory lock key: processes starting together migrate one after another."""
SQLITE_BUSY_MS = 30_000
"""How long an SQLite writer waits for another process's transaction before giving up.
Worker processes write progress a few times a second; each write takes milliseconds."""


class Database:
    """A database URL made usable: `session()` for work, `upgrade()` for the schema."""

    def __init__(self, url: str):
        self.url = url
        self.engine = create_database_engine(url)
        # expire_on_commit=False: callers read a job's fields after the session has committed.
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # postgresql_readonly: the server itself refuses a write there (SQLite ignores it).
        self._readers = sessionmaker(
            self.engine.execution_options(**{READ_ONLY: True}, postgresql_readonly=True),
            expire_on_commit=False)

    @contextlib.contextmanager
    def session(self, *, readonly: bool = False) -> Iterator[Session]:
        """A session that commits when the block succeeds and rolls back when it raises.

        `readonly=True` is for blocks that only read (API GETs, progress streams): on SQLite they
        do not queue for the write lock, so readers never wait for workers writing progress.
        """
        session = (self._readers if readonly else self._sessions)()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def upgrade(self) -> None:
        """Run Alembic migrations to head; a no-op when the schema is current.

        The Alembic config is built here rather than read from an alembic.ini, so the package
        carries everything it needs. The migration runs on our own connection: on SQLite that
        transaction takes the write lock first, so two processes starting at once migrate once.
        """
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        with self.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # The second process waits here until the first commits, then finds it current.
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
        log.info("database schema is current (%s)", make_url(self.url).render_as_string(True))

    def dispose(self) -> None:
        """Close pooled connections (tests and shutdown)."""
        self.engine.dispose()


def create_database_engine(url: str) -> Engine:
    """An engine; for SQLite, with the per-connection settings several processes need."""
    if not make_url(url).get_backend_name() == "sqlite":
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_MS / 1000})
    event.listen(engine, "connect", _configure_sqlite_connection)
    event.listen(engine, "begin", _begin_immediate)
    return engine


def _configure_sqlite_connection(dbapi_connection, _record) -> None:
    """WAL (readers never block the writer), a busy timeout, and enforced foreign keys.

    synchronous=NORMAL: in WAL mode a commit then skips its fsync (3.7 ms → 0.1 ms here), so
    the write lock is held a thirtieth as long and POSTs stop queueing behind the workers'
    progress writes. The database stays consistent whatever happens; a process crash loses
    nothing; only a power cut or OS crash can lose the last commits. Deployments that need
    those too use PostgreSQL (DATABASE_URL)."""
    # sqlite3's own transaction handling is switched off: it would start transactions lazily,
    # and a read that later writes fails at once with SQLITE_BUSY instead of waiting.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _begin_immediate(connection) -> None:
    """Take SQLite's write lock when a transaction starts, so it waits (busy_timeout) rather
    than failing midway when another process wrote in between its read and its write.
    Read-only sessions begin a plain (deferred) transaction: under WAL they never wait."""
    read_only = connection.get_execution_options().get(READ_ONLY)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def make_sqlite_folder(url: str) -> None:
    """Create the folder of an SQLite file, so a fresh install starts without a manual mkdir."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
