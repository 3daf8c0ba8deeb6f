"""What a ticket's timeline tells the service record: `TicketFacts`, the `TicketStore` listener that turns each
committed `TicketEvent` into the record's facts (`record.ServiceEventKind`'s ticket kinds).

One timeline event gives at most two facts: a status change is always `ticket_status`, and also `ticket_resolved`
when it resolves and `ticket_reopened` when it leaves resolved for open; a public reply is `ticket_first_response`
when it was the first, else `ticket_reply`. Notes, SLA warnings, links, merges and deliveries are the timeline's
only. Must never write a ticket or decide anything about one.
"""

from __future__ import annotations

from intake.models import EventKind, Ticket, TicketEvent, TicketStatus
from record import SYSTEM, Recorder, ServiceEvent, ServiceEventKind, agent_actor

# Timeline actors that are not staff usernames (intake.models.TicketEvent.actor).
_NOT_STAFF = frozenset({"customer", "bot", "system", ""})


def actor_of(event: TicketEvent) -> str:
    """The record's actor for a timeline actor: "customer", "bot" and "system" as they are, a username as an agent."""
    return (event.actor or SYSTEM) if event.actor in _NOT_STAFF else agent_actor(event.actor)


def ticket_facts(event: TicketEvent, ticket: Ticket) -> list[ServiceEvent]:
    """The record's facts for one committed timeline event, with `ticket` as it stood after it."""
    kind = event.kind
    data = event.data
    facts: list[tuple[ServiceEventKind, dict[str, object]]] = []
    staff = event.actor not in _NOT_STAFF
    agent = event.actor if staff else ticket.assignee
    if kind is EventKind.CREATED:
        facts.append(
            (
                ServiceEventKind.TICKET_CREATED,
                {
                    "urgency": ticket.urgency.value if ticket.urgency else None,
                    "first_response_due": ticket.first_response_due,
                    "resolution_due": ticket.resolution_due,
                    "order": bool(ticket.order_number),
                },
            )
        )
    elif kind is EventKind.STATUS:
        facts.append((ServiceEventKind.TICKET_STATUS, dict(data)))
        if data.get("to") == TicketStatus.RESOLVED.value:
            resolved: dict[str, object] = {
                "due": ticket.resolution_due,
                "created_at": ticket.created_at,
                "first_responded_at": ticket.first_responded_at,
            }
            facts.append((ServiceEventKind.TICKET_RESOLVED, resolved))
        elif data.get("from") == TicketStatus.RESOLVED.value and data.get("to") == TicketStatus.OPEN.value:
            facts.append((ServiceEventKind.TICKET_REOPENED, {"resolution_due": ticket.resolution_due}))
    elif kind is EventKind.REPLY:
        if ticket.first_responded_at == event.at:
            first: dict[str, object] = {"due": ticket.first_response_due, "created_at": ticket.created_at}
            facts.append((ServiceEventKind.TICKET_FIRST_RESPONSE, first))
        else:
            facts.append((ServiceEventKind.TICKET_REPLY, {}))
    elif kind is EventKind.ASSIGNED:
        facts.append((ServiceEventKind.TICKET_ASSIGNED, dict(data)))
        agent = data.get("to") if isinstance(data.get("to"), str) else None
    elif kind is EventKind.TRANSFERRED:
        facts.append((ServiceEventKind.TICKET_TRANSFERRED, {"from": data.get("from"), "to": data.get("to")}))
    elif kind is EventKind.PRIORITY:
        facts.append((ServiceEventKind.TICKET_PRIORITY, {"from": data.get("from"), "to": data.get("to")}))
    return [
        ServiceEvent(
            kind=fact,
            at=event.at,
            actor=actor_of(event),
            ticket=ticket.number,
            conversation_id=ticket.conversation_id,
            customer_id=ticket.customer_id,
            agent=agent,
            channel=ticket.channel,
            language=ticket.language,
            category=ticket.category.value if ticket.category else None,
            priority=ticket.priority.value,
            team=ticket.team_id,
            data=values,
        )
        for fact, values in facts
    ]


class TicketFacts:
    """A `TicketStore` listener (`add_listener`): every committed timeline event's facts go to `recorder`."""

    def __init__(self, recorder: Recorder) -> None:
        self._recorder = recorder

    async def __call__(self, event: TicketEvent, ticket: Ticket) -> None:
        facts = ticket_facts(event, ticket)
        if facts:
            self._recorder.emit(*facts)


__all__ = ["TicketFacts", "actor_of", "ticket_facts"]
