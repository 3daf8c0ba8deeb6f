"""`SQLTrackerStore`: Rasa's SQL tracker store (PostgreSQL or SQLite, as endpoints.yml says), with SQLite set up the
way the front door sets up its own database (backends/sql.py): write-ahead log, `synchronous=NORMAL`.

Rasa commits every turn's events in one transaction; on SQLite's default rollback journal each commit waits for
several fsyncs, measured at 18 ms per commit on the development machine's disk against 0.2 ms in WAL with NORMAL
(docs/benchmarks.md, section 1). WAL with NORMAL loses no committed turn when Rasa or the front door crash; only an
operating-system crash or power cut can lose the last turns' events. PostgreSQL is left exactly as Rasa makes it.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from rasa.core import tracker_store

# The front door's own SQLite settings (backends/sql.py: _SQLITE_PRAGMAS) that concern durability and speed.
SQLITE_PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL")


def _set_sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


class SQLTrackerStore(tracker_store.SQLTrackerStore):  # type: ignore[misc]  # Rasa ships no type hints here
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.engine.dialect.name == "sqlite":
            # SQLAlchemy 1.4 opens a new SQLite connection for every session (NullPool), so every one gets them.
            sa.event.listen(self.engine, "connect", _set_sqlite_pragmas)
