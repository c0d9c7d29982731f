"""Users and API keys in the database, the `narrator users` commands, and the local user of
`narrator up`, including an upgrade from a database made before there were users."""

import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import select

from cli.users import local_key
from state import feeds, users
from state.db import MIGRATIONS, Database
from state.models import ApiKey, Job

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'n.db'}")
    database.upgrade()
    yield database
    database.dispose()


def test_a_key_is_shown_once_stored_hashed_and_revocable(db):
    with db.session() as session:
        user, key = users.create_user(session, "ada")
        second = users.issue_key(session, user)
    with db.session() as session:
        stored = session.scalars(select(ApiKey.digest)).all()
        assert key not in " ".join(stored) and second not in " ".join(stored)
        assert users.authenticate(session, key) == users.authenticate(session, second) == user.id
        assert users.authenticate(session, key[:-1] + ("A" if key[-1] != "A" else "B")) is None
        assert users.authenticate(session, "") is None
        assert users.revoke_keys(session, user) == 2
    with db.session() as session:
        assert users.authenticate(session, key) is None


def test_keys_carry_at_least_256_random_bits():
    import base64

    keys = {users.new_key() for _ in range(1000)}
    assert len(keys) == 1000
    raw = base64.urlsafe_b64decode(next(iter(keys)).removeprefix(users.KEY_PREFIX) + "=")
    assert len(raw) * 8 >= 256


@pytest.mark.parametrize("name", ["", " ", "a b", "-x", "x" * 101, "ü", "a/b"])
def test_user_names_are_checked(db, name):
    with db.session() as session, pytest.raises(users.InvalidUserName):
        users.create_user(session, name)


def test_every_user_gets_a_default_feed_and_names_are_unique(db):
    with db.session() as session:
        user, _ = users.create_user(session, "grace")
        default = feeds.default_feed(session, user.id)
        assert default.is_default and "grace" in default.title
        with pytest.raises(users.UserExists):
            users.create_user(session, "grace")


def test_the_local_user_keeps_its_key_and_gets_a_new_one_when_the_file_is_lost(db, tmp_path):
    key_file, feed_file = tmp_path / "data" / "local.key", tmp_path / "data" / "local.feed"
    key, token = local_key(db, key_file, feed_file)
    assert key_file.read_text().strip() == key and key_file.stat().st_mode & 0o077 == 0
    assert feed_file.read_text().strip() == token and feed_file.stat().st_mode & 0o077 == 0
    assert local_key(db, key_file, feed_file) == (key, token)
    key_file.unlink()
    new_key, same_token = local_key(db, key_file, feed_file)
    assert new_key != key and same_token == token
    with db.session() as session:
        assert users.authenticate(session, new_key) is not None


def test_a_feed_url_replaced_on_the_page_is_not_printed_stale(db, tmp_path):
    key_file, feed_file = tmp_path / "local.key", tmp_path / "local.feed"
    _, token = local_key(db, key_file, feed_file)
    with db.session() as session:
        feed = feeds.default_feed(session, users.find_user(session, users.LOCAL_USER).id)
        feeds.rotate_token(feed)
    assert local_key(db, key_file, feed_file)[1] is None


def test_the_key_file_is_written_without_following_a_symlink_and_made_private(db, tmp_path):
    """Someone who can write the data folder plants a link: the key must not land elsewhere."""
    victim = tmp_path / "victim.txt"
    victim.write_text("not yours\n")
    key_file, feed_file = tmp_path / "local.key", tmp_path / "local.feed"
    key_file.symlink_to(victim)
    feed_file.write_text("stale\n")
    feed_file.chmod(0o644)  # made by an older release, readable by everyone
    key, token = local_key(db, key_file, feed_file)
    assert victim.read_text() == "not yours\n"
    assert not key_file.is_symlink() and key_file.read_text().strip() == key
    for path in (key_file, feed_file):
        assert path.stat().st_mode & 0o777 == 0o600, path
    key_file.chmod(0o644)
    assert local_key(db, key_file, feed_file) == (key, token)
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_an_upgrade_keeps_earlier_jobs_and_gives_them_to_the_local_user(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "0001_jobs")  # a database as the first release left it
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO jobs (id, status, title, author, voice, speed, source, document, "
            "idempotency_key, chapters_total, sentences_total, sentences_done, chars_total, "
            "chars_done, created_at, attempts, assembly_attempts) VALUES ('old-job', 'done', "
            "'Old', '', 'male', 1.0, 'text', '{}', 'k1', 0, 0, 0, 0, 0, "
            "'2026-01-01 00:00:00', 1, 1)"))
    engine.dispose()
    database = Database(url)
    database.upgrade()
    key, _ = local_key(database, tmp_path / "local.key", tmp_path / "local.feed")
    with database.session() as session:
        owner = users.authenticate(session, key)
        job = session.get(Job, "old-job")
        assert job.user_id == owner and job.title == "Old" and job.idempotency_key == "k1"
    database.dispose()


def run_cli(tmp_path, *args):
    return subprocess.run([sys.executable, "-m", "cli", "users", *args], cwd=ROOT,
                          env={"NARRATOR_DATA_DIR": str(tmp_path), "PYTHONPATH": str(ROOT),
                               "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=60)


def test_the_users_commands(tmp_path):
    created = run_cli(tmp_path, "create", "linus")
    assert created.returncode == 0, created.stderr
    key = next(line for line in created.stdout.splitlines() if line.startswith(users.KEY_PREFIX))
    again = run_cli(tmp_path, "create", "linus")
    assert again.returncode == 1 and again.stderr.count("\n") == 1 and "exists" in again.stderr
    assert run_cli(tmp_path, "new-key", "linus").stdout.startswith(users.KEY_PREFIX)
    assert "linus\t2 key(s)" in run_cli(tmp_path, "list").stdout
    assert "revoked 2" in run_cli(tmp_path, "revoke", "linus").stdout
    missing = run_cli(tmp_path, "revoke", "nobody")
    assert missing.returncode == 1 and "nobody" in missing.stderr
    database = Database(f"sqlite:///{tmp_path / 'narrator.db'}")
    with database.session() as session:
        assert users.authenticate(session, key) is None
    database.dispose()


def test_an_upgrade_drops_clear_feed_tokens_and_their_urls_keep_working(tmp_path):
    """0003 removes the clear token column; the digest beside it still finds the feed."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "0002_users_feeds")  # feeds as the release before kept them
    from sqlalchemy import create_engine, inspect, text

    token = "old-token-" + "x" * 22
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO users (id, name, created_at) VALUES "
                                "('u1', 'ann', '2026-01-01 00:00:00')"))
        connection.execute(text(
            "INSERT INTO feeds (id, user_id, is_default, title, description, author, owner_email, "
            "language, explicit, category, token, token_digest, revision, last_number, "
            "created_at, updated_at) VALUES ('f1', 'u1', 1, 'T', '', '', '', 'en', 0, 'Arts', "
            f":token, :digest, 1, 0, '2026-01-01 00:00:00', '2026-01-01 00:00:00')"),
            {"token": token, "digest": users.digest(token)})
    engine.dispose()
    database = Database(url)
    database.upgrade()
    assert "token" not in {c["name"] for c in inspect(database.engine).get_columns("feeds")}
    with database.session(readonly=True) as session:
        assert feeds.feed_by_token(session, token).id == "f1"
    database.dispose()
    assert token.encode() not in (tmp_path / "old.db").read_bytes()
