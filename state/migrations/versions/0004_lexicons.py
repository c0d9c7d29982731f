"""Users' pronunciation lexicons (issue 11).

Revision ID: lexicons
Revises: 0002_users_feeds
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "lexicons"
down_revision = "0003_parts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lexicons",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("user_id", sa.String(36), sa.ForeignKey("users.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("user_id", "name"),
    )


def downgrade() -> None:
    op.drop_table("lexicons")
