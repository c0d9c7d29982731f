"""`narrator users …`: make users and keys for a shared service, and the local user of `up`."""

from __future__ import annotations

import os
from pathlib import Path

from narration.settings import load_settings
from state import feeds, users
from state.db import Database


def open_database() -> Database:
    """The configured database, migrated (a first command on a fresh install works)."""
    from state.db import make_sqlite_folder

    url = load_settings().database
    make_sqlite_folder(url)
    database = Database(url)
    database.upgrade()
    return database


def run_create(args) -> int:
    """Create a user; print their key (shown once) and their default feed's token path."""
    with open_database().session() as session:
        user, key = users.create_user(session, args.name)
        token = feeds.default_feed(session, user.id).token
    print(f"user {args.name} created.\nAPI key (shown once; send as `Authorization: Bearer KEY`):"
          f"\n{key}\nfeed: <base URL>/feeds/{token}.xml")
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


def local_key(database: Database, key_file: Path) -> tuple[str, str]:
    """(API key, default feed token) of the local user, creating the user on first run.

    The key is kept in a file only the owner can read, so every `narrator up` can print the link
    that signs the web page in; a lost or revoked key file gets a fresh key.
    """
    with database.session() as session:
        try:
            user = users.find_user(session, users.LOCAL_USER)
        except users.UnknownUser:
            user, key = users.create_user(session, users.LOCAL_USER)
            users.claim_orphan_jobs(session, user)
        else:
            saved = key_file.read_text().strip() if key_file.exists() else ""
            key = saved if saved and users.authenticate(session, saved) == user.id else None
            key = key or users.issue_key(session, user)
        token = feeds.default_feed(session, user.id).token
    key_file.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(key + "\n")
    return key, token
