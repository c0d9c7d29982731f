"""Users and their API keys: create, authenticate, revoke.

Keys are 256 random bits shown once; the database keeps only their SHA-256. A fast hash is
enough for keys this long (nobody can guess their way to a preimage), and it lets a request be
authenticated with one indexed lookup. The digest comparison is constant-time anyway.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from narration.errors import NarrationError
from state.models import ApiKey, Job, PageSession, User, utcnow

KEY_PREFIX = "nk_"
SESSION_PREFIX = "ns_"
SESSION_LIFETIME = timedelta(days=30)
"""A page session ends after this long unused; each day of use moves its end (sliding)."""
SESSION_SLIDE_AFTER = timedelta(days=1)
"""How stale an expiry may get before a request moves it: one write a day, not one a request."""
LOCAL_USER = "local"
"""The user `narrator up` creates on a personal machine."""
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")


class UserExists(NarrationError):
    code = "user_exists"
    status = 409


class InvalidUserName(NarrationError):
    code = "invalid_user_name"


class UnknownUser(NarrationError):
    code = "unknown_user"
    status = 404


def digest(secret: str) -> str:
    """SHA-256 of a key or token, as stored and looked up."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_key() -> str:
    """A fresh API key: a recognizable prefix and 256 random bits."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def create_user(session: Session, name: str) -> tuple[User, str]:
    """A new user with one API key and a default feed; (user, the key in clear, shown once)."""
    from state.feeds import create_default_feed  # feeds need users; users need a default feed

    if not NAME_PATTERN.match(name or ""):
        raise InvalidUserName("A user name is 1–100 letters, digits, '.', '_', '@' or '-', "
                              "starting with a letter or digit.", field="name")
    if session.scalar(select(User).where(User.name == name)) is not None:
        raise UserExists(f"A user named {name!r} exists already.", field="name")
    user = User(id=str(uuid.uuid4()), name=name, created_at=utcnow())
    session.add(user)
    session.flush()
    create_default_feed(session, user)
    return user, issue_key(session, user)


def find_user(session: Session, name: str) -> User:
    """The user with this name, or UnknownUser."""
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise UnknownUser(f"No user is named {name!r}; see `narrator users list`.", field="name")
    return user


def list_users_with_keys(session: Session) -> list[tuple[User, int]]:
    """Every user, oldest first, with how many live keys each has."""
    live = (select(ApiKey.user_id, func.count().label("live")).where(ApiKey.revoked_at.is_(None))
            .group_by(ApiKey.user_id).subquery())
    rows = session.execute(select(User, func.coalesce(live.c.live, 0))
                           .outerjoin(live, live.c.user_id == User.id)
                           .order_by(User.created_at, User.name))
    return [(user, keys) for user, keys in rows]


def issue_key(session: Session, user: User) -> str:
    """One more API key for the user; the only time the key is seen in clear."""
    key = new_key()
    session.add(ApiKey(id=str(uuid.uuid4()), user_id=user.id, digest=digest(key),
                       hint=key[:len(KEY_PREFIX) + 4], created_at=utcnow()))
    session.flush()
    return key


def revoke_keys(session: Session, user: User) -> int:
    """Revoke every live key of the user at once, and the page sessions opened with them; how
    many keys were revoked."""
    result = session.execute(update(ApiKey)
                             .where(ApiKey.user_id == user.id, ApiKey.revoked_at.is_(None))
                             .values(revoked_at=utcnow())
                             .execution_options(synchronize_session=False))
    keys = select(ApiKey.id).where(ApiKey.user_id == user.id)
    session.execute(delete(PageSession).where(PageSession.api_key_id.in_(keys))
                    .execution_options(synchronize_session=False))
    return result.rowcount


def authenticate(session: Session, key: str) -> str | None:
    """The id of the user whose live key this is, or None."""
    found = live_key(session, key)
    return found.user_id if found is not None else None


def live_key(session: Session, key: str) -> ApiKey | None:
    """The stored row of this key when it is live, or None."""
    if not key.startswith(KEY_PREFIX):
        return None
    wanted = digest(key)
    found = session.scalar(select(ApiKey).where(ApiKey.digest == wanted))
    if found is None or found.revoked_at is not None:
        return None
    # The lookup already matched; comparing again in constant time costs nothing and keeps the
    # answer from depending on how much of a stored digest matched.
    return found if hmac.compare_digest(found.digest, wanted) else None


def open_page_session(session: Session, key: ApiKey) -> str:
    """A new page session tied to this live key; its id (the cookie's value) is returned once,
    only its SHA-256 is stored, so a copy of the database opens no browser session."""
    session_id = SESSION_PREFIX + secrets.token_urlsafe(32)
    now = utcnow()
    session.add(PageSession(digest=digest(session_id), api_key_id=key.id, created_at=now,
                            expires_at=now + SESSION_LIFETIME))
    session.flush()
    return session_id


def page_session(session: Session, session_id: str, now: datetime | None = None
                 ) -> PageSession | None:
    """The live page session with this id: not expired, and its key not revoked."""
    if not session_id.startswith(SESSION_PREFIX):
        return None
    found = session.get(PageSession, digest(session_id))
    if found is None or found.api_key.revoked_at is not None or found.expires_at <= (now or utcnow()):
        return None
    return found


def session_is_stale(found: PageSession) -> bool:
    """Whether a used session's end should move (it was last moved a day or more ago)."""
    return found.expires_at - utcnow() <= SESSION_LIFETIME - SESSION_SLIDE_AFTER


def extend_page_session(session: Session, session_id: str) -> bool:
    """Move a used session's end to a full lifetime from now, when it is a day stale; whether it
    moved (then the cookie is sent again with the new end)."""
    found = page_session(session, session_id)
    if found is None or not session_is_stale(found):
        return False
    found.expires_at = utcnow() + SESSION_LIFETIME
    return True


def close_page_session(session: Session, session_id: str) -> None:
    """Sign a browser out: its session id opens nothing from now on."""
    session.execute(delete(PageSession).where(PageSession.digest == digest(session_id)))


def claim_orphan_jobs(session: Session, user: User) -> int:
    """Give jobs made before there were users to this user (the local one, after an upgrade)."""
    result = session.execute(update(Job).where(Job.user_id.is_(None)).values(user_id=user.id)
                             .execution_options(synchronize_session=False))
    return result.rowcount
