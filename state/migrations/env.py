"""Alembic environment: runs on the connection `state.db.Database.upgrade` hands over.

Offline mode (`alembic upgrade --sql`) is not supported: migrations always run against a
live database at start-up.
"""

from alembic import context
from sqlalchemy import create_engine

from state.models import Base

config = context.config


def run_migrations(connection) -> None:
    """Migrate on `connection`; batch mode lets later migrations alter SQLite tables."""
    context.configure(connection=connection, target_metadata=Base.metadata,
                      render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    # Plain `alembic -x ...` use from a shell: make our own engine from the configured URL.
    with create_engine(config.get_main_option("sqlalchemy.url")).begin() as own_connection:
        run_migrations(own_connection)
