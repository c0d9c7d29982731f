"""The quote voice of a narration as a column of its own: the job view and every part task need
it, and reading it from the stored request loaded the whole text (up to megabytes) each time.

Revision ID: quote_voice
Revises: feed_audio
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "quote_voice"
down_revision = "feed_audio"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("quote_voice", sa.String(100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("quote_voice")
