"""Feed audio: each episode's Opus copy, and a feed's intro and outro clips.

Revision ID: feed_audio
Revises: harden
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "feed_audio"
down_revision = "harden"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("opus_size", sa.Integer(), nullable=True))
    with op.batch_alter_table("feeds") as batch:
        batch.add_column(sa.Column("intro", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("outro", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("outro")
        batch.drop_column("intro")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("opus_size")
