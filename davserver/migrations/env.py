"""Alembic's entry point: runs the revisions on the connection ``davserver.migrations`` opened."""

from alembic import context

from davserver.tables import metadata

context.configure(connection=context.config.attributes["connection"], target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
