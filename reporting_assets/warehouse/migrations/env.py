"""Alembic environment: runs on the connection `reporting_assets.warehouse.migrate` hands it (never a URL of
its own), comparing against the schema of `warehouse/tables.py`."""

from alembic import context

from reporting_assets.warehouse.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
