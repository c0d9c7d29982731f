"""Users' own voices (blends), and the feed setting that publishes chapters as episodes.

Revision ID: user_voices_chapter_episodes
Revises: 0002_users_feeds
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "user_voices_chapter_episodes"
down_revision = "lexicons"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "user_voices",
        sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("id", sa.String(50), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("gender", sa.String(16), nullable=False),
        sa.Column("engine", sa.String(32), nullable=False),
        sa.Column("model", sa.Text(), nullable=False),
        sa.Column("language", sa.String(35), nullable=False),
        sa.Column("base_speed", sa.Float(), nullable=False),
        sa.Column("blend", sa.JSON(), nullable=False),
        sa.Column("median_pitch_hz", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("feeds") as batch:
        batch.add_column(sa.Column("chapter_episodes", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("chapter_episodes")
    op.drop_table("user_voices")
