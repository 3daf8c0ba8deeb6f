"""Alembic revisions of frontdoor's SQL schema, and `upgrade_database`, which brings a database to the newest one.

Configured in code (no alembic.ini): `upgrade_database(db)` runs inside `Database.migration_connection()`, so replicas
starting together take turns. A database made before Alembic (tables, no `alembic_version`) is stamped with the
baseline first and upgrades in place. Must never hold a store's queries.
"""

from migrations.upgrade import (
    BASELINE,
    alembic_config,
    current_revision,
    head_revision,
    new_revision,
    upgrade_database,
)

__all__ = ["BASELINE", "alembic_config", "current_revision", "head_revision", "new_revision", "upgrade_database"]
