"""The agent's customer panel: one customer record as the console's case card and the ticket page show it.

Owns how the panel is assembled — the record (name, tier, tags, preferences, contacts), its identities, the orders
the shop's order system holds for any of its keys, past conversations with a one-line summary each, tickets, CSAT
ratings, the SLA clocks still running (tickets' and waiting chats'), and the merges that explain the record — from
the seams below, as Protocols. Must never change anything: edits and merges go through `CustomerRecords` in
staff/customers_api.py. A seam that fails (the order system is down) leaves its section empty with a reason, never
the whole panel.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from conversations.customers import CustomerRecords
from conversations.identity import IdentityKey
from conversations.models import Tier
from conversations.store import ConversationStore
from conversations.summaries import one_line_summary
from handoff.ownership import OwnershipRecord, OwnershipState
from intake.exceptions import OrderLookupFailed
from intake.models import Ticket
from intake.orders import ORDER_HISTORY_LIMIT, OrderHistory

log = logging.getLogger(__name__)

PAST_CONVERSATIONS_SHOWN = 10
SUMMARY_MESSAGES_READ = 20  # a conversation's summary comes from its first messages
TICKETS_SHOWN = 20


class CustomerTickets(Protocol):
    """intake.tickets.TicketStore, as the panel reads it."""

    async def list_for_customer(self, customer_id: str, *, limit: int = ...) -> Sequence[Ticket]: ...


class ChatOwnership(Protocol):
    """handoff's store, as the panel reads the customer's waiting chats."""

    async def get_many(self, conversation_ids: list[str]) -> list[OwnershipRecord]: ...


@dataclass(frozen=True)
class PanelSources:
    records: CustomerRecords
    conversations: ConversationStore
    tickets: CustomerTickets
    ownership: ChatOwnership
    orders: OrderHistory | None  # None: no order system configured


def _identity(kind: str, value: str) -> str:
    """What a staff page shows of an identity: contacts masked, a browser's token hash shortened."""
    if kind in ("web", "socketio"):
        return value[:8] + "…"
    return IdentityKey(kind, value).masked() if kind in ("email", "phone") else value


async def _orders(sources: PanelSources, keys: set[IdentityKey]) -> dict[str, Any]:
    if sources.orders is None:
        return {"available": False, "error": None, "items": []}
    try:
        orders = await sources.orders.orders_of(sorted(keys), ORDER_HISTORY_LIMIT)
    except OrderLookupFailed as exc:
        log.warning("order history failed: %s", exc)
        return {"available": True, "error": "order_system_failed", "items": []}
    return {"available": True, "error": None, "items": [o.to_dict() for o in orders]}


def _ticket_clocks(tickets: Sequence[Ticket]) -> list[dict[str, Any]]:
    clocks: list[dict[str, Any]] = []
    for ticket in tickets:
        if not ticket.is_open:
            continue
        if ticket.paused_at is not None:
            clocks.append({"ticket": ticket.number, "metric": None, "due": None, "at_risk_at": None, "paused": True})
        for metric, at_risk, due in ticket.running_clocks():
            clocks.append(
                {"ticket": ticket.number, "metric": metric, "due": due, "at_risk_at": at_risk, "paused": False}
            )
    return clocks


def _chat_clocks(records: Sequence[OwnershipRecord]) -> list[dict[str, Any]]:
    """The first-response clock of each chat still waiting for an agent's first word."""
    return [
        {
            "conversation_id": r.conversation_id,
            "metric": "chat_first_response",
            "due": r.first_response_due,
            "at_risk_at": r.first_response_warning_at,
            "paused": False,
        }
        for r in records
        if r.state in (OwnershipState.QUEUED, OwnershipState.ASSIGNED)
        and r.first_response_due is not None
        and r.last_agent_reply_at is None
    ]


async def customer_panel(sources: PanelSources, customer_id: str) -> dict[str, Any]:
    """The panel of the record `customer_id` lives on (itself, or the record it was merged into; `requested_id`
    says which was asked for). Raises conversations' UnknownCustomer."""
    customer = await sources.records.get(customer_id)
    keys = await sources.records.keys_of(customer.id)
    conversations = await sources.conversations.conversations_of(customer.id, limit=PAST_CONVERSATIONS_SHOWN)
    tickets = list(await sources.tickets.list_for_customer(customer.id, limit=TICKETS_SHOWN))
    ticket_of = {t.conversation_id: t.number for t in reversed(tickets) if t.conversation_id}
    past = []
    for conversation in conversations:
        opening = await sources.conversations.history(conversation.id, limit=SUMMARY_MESSAGES_READ)
        past.append(
            {
                "id": conversation.id,
                "channel": conversation.channel,
                "language": conversation.language,
                "created_at": conversation.created_at,
                "closed_at": conversation.closed_at,
                "summary": one_line_summary(opening),
                "ticket": ticket_of.get(conversation.id),
            }
        )
    ratings = await sources.records.csat_of(customer.id)
    scores = [int(r["score"]) for r in ratings]
    chats = await sources.ownership.get_many([c.id for c in conversations if c.closed_at is None])
    return {
        "requested_id": customer_id,
        "customer": customer.to_dict(),
        "identities": [
            i.to_dict() | {"display": _identity(i.kind, i.value)}
            for i in await sources.records.identities_of(customer.id)
        ],
        "orders": await _orders(sources, keys),
        "past_conversations": past,
        "tickets": [t.to_dict() for t in tickets],
        "csat": {
            "count": len(scores),
            "average": round(sum(scores) / len(scores), 2) if scores else None,
            "ratings": ratings,
        },
        "clocks": sorted(
            _ticket_clocks(tickets) + _chat_clocks(chats),
            key=lambda c: (c["due"] is None, c["due"] or 0.0),
        ),
        "merges": [m.to_dict() for m in await sources.records.merges_into(customer.id)],
        "tiers": [t.value for t in Tier],
    }
