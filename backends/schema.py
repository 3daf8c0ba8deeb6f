"""The one `MetaData` every domain package declares its tables on, with the constraint naming convention.

The convention reproduces PostgreSQL's own default names (`customers_pkey`, `messages_conversation_id_seq_key`, …),
so a database created by Alembic and one created before Alembic name their constraints alike and later revisions
can refer to them by name. Must never declare a table: each domain package owns its `tables.py`.
"""

from __future__ import annotations

from sqlalchemy import MetaData

NAMING_CONVENTION = {
    "ix": "%(table_name)s_%(column_0_N_name)s_idx",
    "uq": "%(table_name)s_%(column_0_N_name)s_key",
    "ck": "%(table_name)s_%(constraint_name)s_check",
    "fk": "%(table_name)s_%(column_0_N_name)s_fkey",
    "pk": "%(table_name)s_pkey",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)
