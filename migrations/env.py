"""Alembic's environment: runs on the connection `migrations.upgrade_database` (or `frontdoor db upgrade`) hands
over, inside its transaction and migration lock. It never opens a connection of its own and has no offline mode."""

from __future__ import annotations

import importlib

from alembic import context

from backends.schema import metadata

# Every module that declares tables on `metadata`, so `alembic revision --autogenerate` compares the whole schema.
TABLE_MODULES = (
    "conversations.tables",
    "kb.tables",
    "intake.tables",
    "actions.tables",
    "staff.auth",
    "handoff.profiles",
    "handoff.pending",
    "conversations.surveys",
    "alerts.tables",
    "record.tables",
    "analytics.tables",
    "analytics.pdca_tables",
)
for module in TABLE_MODULES:
    importlib.import_module(module)

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with migrations.upgrade_database(db) or `frontdoor db upgrade`")
context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite alters tables by copying them; batch mode writes revisions that do that and run on PostgreSQL alike.
    render_as_batch=True,
    # SQLite reports DOUBLE PRECISION back as REAL: only PostgreSQL's types are worth comparing.
    compare_type=connection.dialect.name == "postgresql",
)
with context.begin_transaction():
    context.run_migrations()
