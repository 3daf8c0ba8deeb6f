"""The record of every attempt to reach a ticket's customer: one row per route tried (`intake_deliveries`).

A route is the chat's transcript (`web`: live now, or on the customer's next visit), WeChat's customer-service API
(`wechat`) or its template message outside the 48-hour window (`wechat_template`), or `email`. A failed attempt is
also a staff-only `delivery_failed` event on the ticket's timeline, so the workspace shows it where staff look. Must
never send anything itself: `bot.deliveries` does, and reports here.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select

from backends.sql import Database, Row
from intake.models import EventKind
from intake.tables import intake_deliveries
from intake.tickets import TicketStore


@dataclass(frozen=True)
class Delivery:
    """One attempt on one route. `event_seq` is the timeline event it carried (None for a follow-up question);
    `purpose` is `status`, `reply`, `apology`, `follow_up` or `follow_up_reminder`; `at` is epoch seconds."""

    id: str
    number: str
    purpose: str
    channel: str
    ok: bool
    error: str
    at: float
    event_seq: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "number": self.number,
            "purpose": self.purpose,
            "channel": self.channel,
            "ok": self.ok,
            "error": self.error,
            "at": self.at,
            "event_seq": self.event_seq,
        }


def _delivery(row: Row) -> Delivery:
    return Delivery(
        id=row["id"],
        number=row["number"],
        purpose=row["purpose"],
        channel=row["channel"],
        ok=bool(row["ok"]),
        error=row["error"],
        at=float(row["at"]),
        event_seq=None if row["event_seq"] is None else int(row["event_seq"]),
    )


class DeliveryLog:
    def __init__(self, db: Database, tickets: TicketStore, clock: Callable[[], float] = time.time) -> None:
        self._db = db
        self._tickets = tickets
        self._clock = clock

    async def record(
        self,
        number: str,
        *,
        purpose: str,
        channel: str,
        ok: bool,
        error: str = "",
        event_seq: int | None = None,
    ) -> Delivery:
        """Store one attempt; a failure also goes on the ticket's timeline (staff only) with its error."""
        delivery = Delivery(
            id=f"dlv_{secrets.token_hex(8)}",
            number=number,
            purpose=purpose,
            channel=channel,
            ok=ok,
            error="" if ok else error,
            at=self._clock(),
            event_seq=event_seq,
        )
        await self._db.execute(
            insert(intake_deliveries).values(
                id=delivery.id,
                number=number,
                event_seq=event_seq,
                purpose=purpose,
                channel=channel,
                ok=ok,
                error=delivery.error,
                at=delivery.at,
            )
        )
        if not ok:
            data = {"channel": channel, "purpose": purpose, "event": event_seq, "error": delivery.error}
            await self._tickets.record_event(number, EventKind.DELIVERY_FAILED, data, body=delivery.error)
        return delivery

    async def for_ticket(self, number: str) -> list[Delivery]:
        """Oldest first."""
        rows = await self._db.fetch(
            select(intake_deliveries)
            .where(intake_deliveries.c.number == number.upper())
            .order_by(intake_deliveries.c.at, intake_deliveries.c.id)
        )
        return [_delivery(row) for row in rows]
