"""Jobs store what was sent and are planned by a worker; chapters become parts.

The request now stores the raw input (`jobs.request`) and a worker task reads and plans it
(`jobs.document`, `jobs.planned_at`); long chapters are split into several parts, one task each,
so `job_chapters` becomes `job_parts` with the chapter each part belongs to.

Revision ID: 0003_parts
Revises: 0002_users_feeds
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_parts"
down_revision = "0002_users_feeds"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("request", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("input_chars", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("planned_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("plan_attempts", sa.Integer(), nullable=False,
                                   server_default="0"))
        batch.alter_column("document", existing_type=sa.JSON(), nullable=True)
    op.rename_table("job_chapters", "job_parts")
    with op.batch_alter_table("job_parts") as batch:
        batch.add_column(sa.Column("chapter", sa.Integer(), nullable=False, server_default="0"))
    # Jobs made before parts existed had one part per chapter, in order.
    op.execute('UPDATE job_parts SET chapter = "index"')
    op.execute("UPDATE jobs SET planned_at = created_at, input_chars = chars_total")


def downgrade() -> None:
    with op.batch_alter_table("job_parts") as batch:
        batch.drop_column("chapter")
    op.rename_table("job_parts", "job_chapters")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("plan_attempts")
        batch.drop_column("planned_at")
        batch.drop_column("input_chars")
        batch.drop_column("request")
