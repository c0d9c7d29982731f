"""Users' own voices: blends of installed voices, private to the user who made them.

They live in the database (the catalogue files are the operator's); `voices_for_user` is the one
place that merges them into the catalogue, so every request that names a voice finds the caller's
own voices the same way.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from narration.errors import NarrationError
from state.models import UserVoice, utcnow
from voices import Catalogue, Voice


class VoiceExistsError(NarrationError):
    """The id is taken (by the catalogue or by one of the user's voices)."""

    code = "voice_exists"
    status = 409


def to_voice(row: UserVoice) -> Voice:
    """A stored voice as a catalogue entry."""
    return Voice(id=row.id, name=row.name, gender=row.gender, engine=row.engine, model=row.model,
                 speaker=None, language=row.language, sample_rate=None, license="user blend",
                 provenance="a blend made by its user", base_speed=row.base_speed,
                 blend=tuple(sorted((speaker, float(weight))
                                    for speaker, weight in row.blend.items())),
                 source="database")


def user_voices(session: Session, user_id: str) -> list[Voice]:
    """The user's own voices, oldest first."""
    rows = session.scalars(select(UserVoice).where(UserVoice.user_id == user_id)
                           .order_by(UserVoice.created_at, UserVoice.id))
    return [to_voice(row) for row in rows]


def voices_for_user(session: Session, user_id: str | None, catalogue: Catalogue) -> Catalogue:
    """The catalogue as this user sees it: every catalogue voice plus their own (None: none)."""
    if user_id is None:
        return catalogue
    return catalogue.with_voices(user_voices(session, user_id))


def measured_pitches(session: Session, user_id: str) -> dict[str, float | None]:
    """The user's voices by id, each with the pitch measured when it was made."""
    rows = session.execute(select(UserVoice.id, UserVoice.median_pitch_hz)
                           .where(UserVoice.user_id == user_id))
    return {voice_id: pitch for voice_id, pitch in rows}


def add_voice(session: Session, user_id: str, voice: Voice, catalogue: Catalogue,
              median_pitch_hz: float | None) -> UserVoice:
    """Store a user's blend; VoiceExistsError when its id names any voice they can already use."""
    if voice_taken(session, user_id, voice.id, catalogue):
        raise VoiceExistsError(f"There is already a voice called {voice.id!r}; pick another id.",
                               field="id")
    row = UserVoice(user_id=user_id, id=voice.id, name=voice.name, gender=voice.gender,
                    engine=voice.engine, model=voice.model, language=voice.language,
                    base_speed=voice.base_speed, blend=dict(voice.blend),
                    median_pitch_hz=median_pitch_hz, created_at=utcnow())
    try:
        with session.begin_nested():  # two requests racing for one id: the second gets 409
            session.add(row)
    except IntegrityError:
        raise VoiceExistsError(f"There is already a voice called {voice.id!r}; pick another id.",
                               field="id") from None
    return row


def voice_taken(session: Session, user_id: str, voice_id: str, catalogue: Catalogue) -> bool:
    """Whether the id (case-insensitive) names a catalogue voice, an alias or one of theirs."""
    return voices_for_user(session, user_id, catalogue).has(voice_id)


def delete_voice(session: Session, user_id: str, voice_id: str) -> bool:
    """Remove one of the user's voices; False when they have none by that id."""
    row = session.get(UserVoice, (user_id, voice_id))
    if row is None:
        return False
    session.delete(row)
    return True
