"""Users' pronunciation lexicons: stored as uploaded, parsed on use, merged for a narration.

A narration uses the lexicons it names, in that order, or else every lexicon of the user marked
default (oldest first); the service-wide lexicon (NARRATOR_LEXICON_FILE) comes first either way,
so a user's entries win over it.
"""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from narration.errors import NarrationError
from narration.lexicon import (Lexicon, LexiconError, lexicon_format, merge_lexicons,
                               parse_lexicon, service_lexicon)
from state.models import UserLexicon, utcnow

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_LEXICONS = 50
"""Per user: enough for a lexicon per show or subject; a bound keeps merging cheap."""
MAX_SOURCE_BYTES = 512 * 1024
"""A PLS file of 10,000 entries (the entry limit) is about 1 MB; this allows ~5,000."""


class InvalidLexiconName(NarrationError):
    code = "invalid_lexicon_name"


class UnknownLexicon(NarrationError):
    """A narration or preview named a lexicon the user does not have."""

    code = "unknown_lexicon"


class TooManyLexicons(NarrationError):
    code = "too_many_lexicons"
    status = 409


def check_name(name: str) -> str:
    """Names appear in URLs: letters, digits, '.', '_' and '-', at most 64."""
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise InvalidLexiconName(
            f"Lexicon name {str(name)[:80]!r} is not allowed: use 1 to 64 letters, digits, '.', "
            "'_' or '-', starting with a letter or digit.", field="name")
    return name


def put_lexicon(session: Session, user_id: str, name: str, source: str, *,
                format: str | None = None, is_default: bool = True) -> tuple[UserLexicon, bool]:
    """Create or replace the user's lexicon `name`; (row, created). LexiconError if it is bad."""
    check_name(name)
    if len(source.encode()) > MAX_SOURCE_BYTES:
        raise LexiconError(f"{name}: the lexicon is {len(source.encode())} bytes; the limit is "
                           f"{MAX_SOURCE_BYTES}.", field="body")
    format = format or lexicon_format(source)
    try:
        lexicon = parse_lexicon(source, name, format)
    except LexiconError as error:
        error.field = "body"
        raise
    row = get_lexicon(session, user_id, name)
    now = utcnow()
    if row is None:
        count = session.scalar(select(func.count()).select_from(UserLexicon)
                               .where(UserLexicon.user_id == user_id))
        if count >= MAX_LEXICONS:
            raise TooManyLexicons(f"You have {count} lexicons, the most one user may keep; "
                                  "delete one or merge two.", field="name")
        row = UserLexicon(id=str(uuid.uuid4()), user_id=user_id, name=name, created_at=now)
        session.add(row)
    created = row.source is None
    row.format, row.source, row.entries = format, source, len(lexicon)
    row.is_default, row.updated_at = is_default, now
    session.flush()
    return row, created


def get_lexicon(session: Session, user_id: str, name: str) -> UserLexicon | None:
    """The user's lexicon with this name; None for unknown names (and other users' lexicons)."""
    return session.scalar(select(UserLexicon).where(UserLexicon.user_id == user_id,
                                                    UserLexicon.name == name))


def list_lexicons(session: Session, user_id: str) -> list[UserLexicon]:
    """The user's lexicons, oldest first (the order defaults are merged in)."""
    return list(session.scalars(select(UserLexicon).where(UserLexicon.user_id == user_id)
                                .order_by(UserLexicon.created_at, UserLexicon.name)))


def delete_lexicon(session: Session, user_id: str, name: str) -> bool:
    """Delete the user's lexicon; False when there was none by that name."""
    row = get_lexicon(session, user_id, name)
    if row is None:
        return False
    session.delete(row)
    return True


def parsed(row: UserLexicon) -> Lexicon:
    """The stored lexicon, parsed (cached per row version: parsing is the slow part)."""
    return _parse(row.id, row.updated_at.isoformat(), row.source, row.format)


@functools.lru_cache(maxsize=256)
def _parse(_id: str, _version: str, source: str, format: str) -> Lexicon:
    return parse_lexicon(source, format=format)


def resolve_lexicon(session: Session, user_id: str, names: Sequence[str] | None = None, *,
                    settings=None) -> Lexicon:
    """The one lexicon a narration of this user applies: the service-wide one, then the named
    lexicons in order (None: the user's default ones), later entries winning.

    An unknown name is the caller's mistake: UnknownLexicon (422, field "lexicons").
    """
    if names is None:
        rows = [row for row in list_lexicons(session, user_id) if row.is_default]
    else:
        rows = named_lexicons(session, user_id, names)
    return merge_lexicons([service_lexicon(settings), *(parsed(row) for row in rows)])


def named_lexicons(session: Session, user_id: str, names: Sequence[str]) -> list[UserLexicon]:
    """The user's lexicons by these names, in order, unparsed (what a request checks before
    storing a narration); an unknown name raises UnknownLexicon (422, field "lexicons")."""
    rows = []
    for name in names:
        row = get_lexicon(session, user_id, name) if isinstance(name, str) else None
        if row is None:
            raise UnknownLexicon(f"No lexicon named {str(name)[:80]!r}; see GET "
                                 "/api/v1/lexicons for yours.", field="lexicons")
        rows.append(row)
    return rows
