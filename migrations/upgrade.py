"""Runs Alembic programmatically on a `backends.sql.Database`, under its migration lock."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect

from backends.sql import Database

SCRIPT_LOCATION = Path(__file__).parent
BASELINE = "0001_baseline"

# The tables the code before Alembic created with CREATE TABLE IF NOT EXISTS; frozen with the baseline revision.
LEGACY_TABLES = frozenset(
    {
        "customers",
        "identities",
        "conversations",
        "messages",
        "kb_entries",
        "kb_revisions",
        "kb_meta",
        "kb_unanswered",
        "kb_feedback",
        "bot_answer_feedback",
        "intake_counters",
        "intake_tickets",
        "intake_ticket_history",
        "staff",
        "staff_sessions",
        "agent_profiles",
        "handoff_surveys",
    }
)


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration in code; `migrations/env.py` runs on `connection` (it refuses to open its own)."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.attributes["connection"] = connection
    return config


async def upgrade_database(db: Database, revision: str = "head") -> None:
    """Brings the database's schema to `revision`; safe to call from every replica at every start."""
    async with db.migration_connection() as conn:
        await conn.run_sync(_upgrade, revision)


async def current_revision(db: Database) -> str | None:
    async with db.migration_connection() as conn:
        return await conn.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def new_revision(db: Database, message: str) -> None:
    """Writes a revision file that brings `db` (upgraded first) to the tables declared in code (autogenerate).

    Review it before committing: autogenerate misses renames and data changes. Against PostgreSQL it also compares
    column types."""
    await upgrade_database(db)
    async with db.migration_connection() as conn:
        await conn.run_sync(lambda sync: command.revision(alembic_config(sync), message=message, autogenerate=True))


def _upgrade(connection: Connection, revision: str) -> None:
    config = alembic_config(connection)
    tables = set(inspect(connection).get_table_names())
    if "alembic_version" not in tables and tables >= LEGACY_TABLES:
        # Made by the code before Alembic: it already holds the baseline, so record that instead of creating it.
        # (A partial one, say from a front door whose KB never started, runs the baseline: its creates skip what
        # exists.)
        command.stamp(config, BASELINE)
    command.upgrade(config, revision)
