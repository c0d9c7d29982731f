"""Hardening: feed tokens kept as digests only, page sessions, and retries counted as submissions.

Revision ID: 0003_harden
Revises: 0002_users_feeds
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "harden"
down_revision = "user_voices_chapter_episodes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The digest was stored beside every token since 0002: dropping the clear column loses no
    # feed (old URLs keep working; only showing them again needs a new token). The tokens are
    # blanked first, with SQLite told to zero what it frees, so no copy lingers in the file.
    if op.get_bind().dialect.name == "sqlite":
        op.execute("PRAGMA secure_delete = ON")
    op.execute("UPDATE feeds SET token = NULL")
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("token")
    op.create_table(
        "page_sessions",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("api_key_id", sa.String(36), sa.ForeignKey("api_keys.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "job_retries",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("job_id", sa.String(36), sa.ForeignKey("jobs.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("chars", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table("job_retries")
    op.drop_table("page_sessions")
    with op.batch_alter_table("feeds") as batch:
        batch.add_column(sa.Column("token", sa.String(64), nullable=True))
