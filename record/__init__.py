"""The service record: every fact of the service process, kept in SQL for good, for the reports that analyse it.

Emitters (conversations, the pipeline, handoff, tickets, surveys, KB feedback) build a `ServiceEvent` and hand it to
a `Recorder` — the app's `RecordWriter`, which buffers and writes in the background, so recording never slows or
breaks a conversation. Readers query `SQLServiceRecord` (or `service_events` with `conditions`). The live state in
Redis or memory stays a cache; this is the history. Imports no web code.
"""

from record.exceptions import InvalidEventQuery, RecordError
from record.models import (
    AGENT_PREFIX,
    BOT,
    CUSTOMER,
    DIMENSIONS,
    ID_COLUMNS,
    SYSTEM,
    MemoryRecorder,
    Recorder,
    ServiceEvent,
    ServiceEventKind,
    agent_actor,
    new_event_id,
)
from record.settings import RecordConfig
from record.store import DEFAULT_LIMIT, MAX_LIMIT, EventQuery, ServiceRecord, SQLServiceRecord, conditions
from record.writer import RecordWriter

__all__ = [
    "AGENT_PREFIX",
    "BOT",
    "CUSTOMER",
    "DEFAULT_LIMIT",
    "DIMENSIONS",
    "ID_COLUMNS",
    "MAX_LIMIT",
    "SYSTEM",
    "EventQuery",
    "InvalidEventQuery",
    "MemoryRecorder",
    "RecordConfig",
    "RecordError",
    "RecordWriter",
    "Recorder",
    "SQLServiceRecord",
    "ServiceEvent",
    "ServiceEventKind",
    "ServiceRecord",
    "agent_actor",
    "conditions",
    "new_event_id",
]
