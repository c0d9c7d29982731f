"""`narrator users …`: make users and keys for a shared service, and the local user of `up`."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from narration.settings import apply_file_mode, load_settings
from state import feeds, users
from state.db import Database


def open_database() -> Database:
    """The configured database, migrated (a first command on a fresh install works)."""
    from state.db import make_sqlite_folder

    settings = load_settings()
    apply_file_mode(settings)
    url = settings.database
    make_sqlite_folder(url)
    database = Database(url)
    database.upgrade()
    return database


def run_create(args) -> int:
    """Create a user; print their key (shown once) and their default feed's token path."""
    with open_database().session() as session:
        user, key = users.create_user(session, args.name)
        token = feeds.fresh_token(feeds.default_feed(session, user.id))
    print(f"user {args.name} created.\nAPI key (shown once; send as `Authorization: Bearer KEY`):"
          f"\n{key}\nfeed (shown once): <base URL>/feeds/{token}.xml")
    return 0


def run_new_key(args) -> int:
    """Another key for an existing user (e.g. one per device); earlier keys keep working."""
    with open_database().session() as session:
        key = users.issue_key(session, users.find_user(session, args.name))
    print(key)
    return 0


def run_revoke(args) -> int:
    """Revoke every key of a user at once (a leaked key); they need a new one afterwards."""
    with open_database().session() as session:
        count = users.revoke_keys(session, users.find_user(session, args.name))
    print(f"revoked {count} key(s) of {args.name}; make a new one with "
          f"`narrator users new-key {args.name}`.")
    return 0


def run_list(args) -> int:
    """The users, one per line, with their number of live keys."""
    with open_database().session(readonly=True) as session:
        for user, live_keys in users.list_users_with_keys(session):
            print(f"{user.name}\t{live_keys} key(s)\tsince {user.created_at:%Y-%m-%d}")
    return 0


def local_key(database: Database, key_file: Path, feed_file: Path) -> tuple[str, str | None]:
    """(API key, default feed token or None) of the local user, creating the user on first run.

    The key and the feed token are kept in files only the owner can read, so every `narrator up`
    can print the link that signs the web page in and the feed's address; a lost or revoked key
    file gets a fresh key. The database keeps only the feed token's digest: when the token was
    rotated on the page (or the install predates this file), None — the page makes a new one.
    """
    token = None
    with database.session() as session:
        try:
            user = users.find_user(session, users.LOCAL_USER)
        except users.UnknownUser:
            user, key = users.create_user(session, users.LOCAL_USER)
            users.claim_orphan_jobs(session, user)
            token = feeds.fresh_token(feeds.default_feed(session, user.id))
        else:
            saved = read_secret_file(key_file)
            key = saved if saved and users.authenticate(session, saved) == user.id else None
            key = key or users.issue_key(session, user)
            kept = read_secret_file(feed_file)
            feed = feeds.default_feed(session, user.id)
            token = kept if kept and feed is not None and feeds.token_matches(feed, kept) else None
    write_secret_file(key_file, key)
    if token:
        write_secret_file(feed_file, token)
    return key, token


def read_secret_file(path: Path) -> str:
    """The secret kept in `path`, or "" when there is none (a symlink is not followed)."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return ""
    with os.fdopen(descriptor) as handle:
        return handle.read().strip()


def write_secret_file(path: Path, secret: str) -> None:
    """Write `secret` to `path`, readable by its owner only, without following a symlink there.

    A new file (mkstemp: 0600, O_EXCL) beside it is renamed over `path`: rename replaces a
    symlink itself rather than writing through it, and the mode is 0600 also when `path` existed
    with a looser one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secret + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
