"""Job state and media: the database (SQLAlchemy + Alembic) and the media store.

    db = Database(settings.database_url)
    db.upgrade()                        # migrations to head, safe to call at every start
    with db.session() as session:
        job, created = jobs.create_job(session, ...)
"""
