"""The record's environment variables: the writer's buffer, batches and retries.

Owns `RecordConfig` (the `FD_RECORD_*` variables, composed into the front door's settings as `Settings.record`),
which builds the `RecordWriter`. Must never read the environment itself: the process entry point builds it once
(`Settings.from_env(os.environ)`), tests build it with keyword arguments.
"""

from __future__ import annotations

from pydantic import Field

from backends.settings import EnvSettings
from record.store import ServiceRecord
from record.writer import BATCH_EVENTS, BUFFER_EVENTS, RETRY_MAX_S, RecordWriter


class RecordConfig(EnvSettings):
    """The `FD_RECORD_*` variables."""

    model_config = EnvSettings.config("FD_RECORD_")
    doc_title = "Service record (`record/settings.py`)"

    enabled: bool = Field(
        True,
        description="`0`: keep no service record (nothing to report on later; for measuring what recording costs).",
    )
    buffer_events: int = Field(
        BUFFER_EVENTS,
        ge=1,
        description="Events held in memory while the database is unavailable; beyond that, new ones are dropped "
        "(and logged) until it takes them again.",
    )
    batch_events: int = Field(BATCH_EVENTS, ge=1, description="Most events written in one transaction.")
    retry_max_s: float = Field(
        RETRY_MAX_S, gt=0, description="Longest wait between two tries to write while the database fails."
    )

    def writer(self, store: ServiceRecord) -> RecordWriter:
        return RecordWriter(
            store, buffer_events=self.buffer_events, batch_events=self.batch_events, retry_max_s=self.retry_max_s
        )
