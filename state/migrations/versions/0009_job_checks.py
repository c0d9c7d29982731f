"""Checks of a narration: whether the recognition check was asked for, the names check the plan
task found, and the recognition check's summary the join task stored.

Revision ID: job_checks
Revises: quote_voice
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "job_checks"
down_revision = "quote_voice"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("recognition_check", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("names", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("check_summary", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("check_summary")
        batch.drop_column("names")
        batch.drop_column("recognition_check")
