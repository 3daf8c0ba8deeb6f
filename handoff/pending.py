"""Handoffs asked for while the live state (Redis) could not be reached, kept in SQL until they can be queued.

Owns the `handoff_pending` table (revision `0012_redis_outage`) and `PendingHandoffs`: one row per conversation
(the first request wins; asking again while it waits changes nothing), holding the arguments of
`HandoffService.request_handoff` as JSON. `queue_pending` replays them through the service once the live state
answers again (the reconcile job, `bot/live_state.py`); the service's own duplicate check makes a replay that races
another harmless. Must never touch the live state itself: the service does.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Column, Table, Text, delete, select
from sqlalchemy.types import DOUBLE_PRECISION

from backends.schema import metadata
from backends.sql import Database, upsert
from handoff.service import HandoffOutcome, HandoffService, OutcomeStatus
from handoff.triggers import HandoffTrigger, ReasonCode

log = logging.getLogger(__name__)

handoff_pending = Table(
    "handoff_pending",
    metadata,
    Column("conversation_id", Text, primary_key=True),
    Column("request", Text, nullable=False),  # JSON: PendingHandoff's fields but the id and time
    Column("requested_at", DOUBLE_PRECISION, nullable=False),  # epoch seconds
)

# How many waiting handoffs one reconcile pass queues at most (the next pass takes the rest).
QUEUE_BATCH = 500


@dataclass(frozen=True)
class PendingHandoff:
    """What `HandoffService.request_handoff` needs, kept for later; `requested_at` is when the customer asked."""

    conversation_id: str
    customer_id: str
    language: str
    requested_at: float
    category: str = ""
    priority: str = "normal"
    reason: str = ReasonCode.CUSTOMER_REQUEST.value
    scores: Mapping[str, float] = field(default_factory=dict)
    details: str = ""
    context: Mapping[str, Any] = field(default_factory=dict)
    first_response_due: float | None = None
    tier: str = "standard"

    def to_json(self) -> str:
        return json.dumps(
            {
                "customer_id": self.customer_id,
                "language": self.language,
                "category": self.category,
                "priority": self.priority,
                "reason": self.reason,
                "scores": dict(self.scores),
                "details": self.details,
                "context": dict(self.context),
                "first_response_due": self.first_response_due,
                "tier": self.tier,
            },
            ensure_ascii=False,
            sort_keys=True,
            default=str,
        )

    @classmethod
    def from_row(cls, conversation_id: str, request: str, requested_at: float) -> PendingHandoff:
        raw = json.loads(request)
        due = raw.get("first_response_due")
        return cls(
            conversation_id=conversation_id,
            customer_id=str(raw.get("customer_id") or ""),
            language=str(raw.get("language") or ""),
            requested_at=float(requested_at),
            category=str(raw.get("category") or ""),
            priority=str(raw.get("priority") or "normal"),
            reason=str(raw.get("reason") or ReasonCode.CUSTOMER_REQUEST.value),
            scores={str(k): float(v) for k, v in (raw.get("scores") or {}).items()},
            details=str(raw.get("details") or ""),
            context=dict(raw.get("context") or {}),
            first_response_due=float(due) if isinstance(due, int | float) else None,
            tier=str(raw.get("tier") or "standard"),
        )


class PendingHandoffs:
    """The `handoff_pending` rows over `backends.sql` (SQLite and PostgreSQL)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def add(self, pending: PendingHandoff) -> bool:
        """Keeps the request; False when the conversation already has one waiting (that one stays)."""
        statement = upsert(self._db, handoff_pending).values(
            conversation_id=pending.conversation_id, request=pending.to_json(), requested_at=pending.requested_at
        )
        return await self._db.execute(statement.on_conflict_do_nothing(index_elements=["conversation_id"])) > 0

    async def oldest(self, limit: int = QUEUE_BATCH) -> list[PendingHandoff]:
        rows = await self._db.fetch(
            select(handoff_pending)
            .order_by(handoff_pending.c.requested_at, handoff_pending.c.conversation_id)
            .limit(limit)
        )
        return [PendingHandoff.from_row(r["conversation_id"], r["request"], r["requested_at"]) for r in rows]

    async def waiting(self, conversation_id: str) -> bool:
        row = await self._db.fetchrow(
            select(handoff_pending.c.conversation_id).where(handoff_pending.c.conversation_id == conversation_id)
        )
        return row is not None

    async def remove(self, conversation_id: str) -> bool:
        """Forgets the conversation's waiting request; False when it had none."""
        statement = delete(handoff_pending).where(handoff_pending.c.conversation_id == conversation_id)
        return await self._db.execute(statement) > 0


async def request_pending(service: HandoffService, request: PendingHandoff, *, late: bool = False) -> HandoffOutcome:
    """`HandoffService.request_handoff` with the request's arguments; `late`: it was kept while the live state was
    away, so the first-response clock starts when the customer asked. Raises what the live state raises."""
    try:
        reason = ReasonCode(request.reason)
    except ValueError:
        reason = ReasonCode.CUSTOMER_REQUEST
    return await service.request_handoff(
        request.conversation_id,
        request.customer_id,
        request.language,
        category=request.category,
        priority=request.priority,
        trigger=HandoffTrigger(reason, dict(request.scores), request.details),
        context=request.context,
        first_response_due=request.first_response_due,
        tier=request.tier,
        asked_at=request.requested_at if late else None,
    )


async def queue_pending(service: HandoffService, pending: PendingHandoffs) -> list[tuple[str, OutcomeStatus]]:
    """Queues every waiting handoff through the service, oldest first, and forgets each once the service has taken
    it: (conversation id, outcome) per request. Outside opening hours the outcome is CLOSED_HOURS and the request is
    done (the customer was promised a reply when they asked). Raises what the live state raises while it is still
    unreachable; what was queued before that stays queued and forgotten."""
    done: list[tuple[str, OutcomeStatus]] = []
    for request in await pending.oldest():
        outcome = await request_pending(service, request, late=True)
        await pending.remove(request.conversation_id)
        log.info(
            "queued a handoff asked for while the live state was away",
            extra={"conversation_id": request.conversation_id, "outcome": outcome.status.value},
        )
        done.append((request.conversation_id, outcome.status))
    return done
