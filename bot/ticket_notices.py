"""What a ticket's customer hears, on the channel of the chat the ticket came from, in the ticket's language.

A listener on the ticket store turns the customer-facing timeline events into transcript lines and delivers them
through the pipeline (the widget shows them on the next visit, WeChat gets them by its customer-service API):
status changes as a notice, staff public replies as the agent's message, and an SLA breach as a short apology with
the new expected time. Internal notes, assignments, transfers and at-risk warnings are never sent: only the kinds
named here are, and only `public` events. Creation is not sent either: the bot said so in the chat already.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from bot.keys import INTAKE, PIPELINE, TICKETS
from conversations.exceptions import UnknownConversation
from conversations.models import Sender
from conversations.store import MessageDraft
from i18n import N_, translate
from intake.models import EventKind, Ticket, TicketEvent, TicketStatus
from intake.priority import format_deadline

log = logging.getLogger(__name__)

# How a ticket's status reads in the customer's notice (a message id; translated when the notice is said).
STATUS_NAMES = {
    TicketStatus.NEW: N_("received"),
    TicketStatus.OPEN: N_("being worked on"),
    TicketStatus.PENDING_CUSTOMER: N_("waiting for your reply"),
    TicketStatus.PENDING_INTERNAL: N_("being worked on with another team"),
    TicketStatus.RESOLVED: N_("resolved"),
    TicketStatus.CLOSED: N_("closed"),
}

APOLOGIES = {
    "first_response": N_(
        "We are sorry: your ticket {number} is waiting longer than we promised. A colleague will answer by {expected}."
    ),
    "next_reply": N_(
        "We are sorry: your ticket {number} is waiting longer than we promised. A colleague will answer by {expected}."
    ),
    "resolution": N_(
        "We are sorry: your ticket {number} is taking longer than we promised. We now expect to resolve it by "
        "{expected}."
    ),
}


def status_notice(ticket: Ticket, event: TicketEvent) -> str:
    language = ticket.language or "en"
    status = translate(language, STATUS_NAMES[TicketStatus(event.data["to"])])
    text = translate(language, "Your ticket {number} is now {status}.", number=ticket.number, status=status)
    return text + (translate(language, " Note: {note}", note=event.body) if event.body else "")


def customer_lines(ticket: Ticket, event: TicketEvent, timezone: str) -> list[MessageDraft]:
    """The transcript lines `event` gives the customer; none for what stays with staff."""
    if not event.public:
        return []
    language = ticket.language or "en"
    ref = {"number": ticket.number, "event": event.seq}
    if event.kind is EventKind.STATUS and not event.data.get("merged"):
        return [MessageDraft(Sender.SYSTEM, status_notice(ticket, event), custom={"ticket_status": ref | event.data})]
    if event.kind is EventKind.REPLY:
        return [MessageDraft(Sender.AGENT, event.body, sender_id=event.actor, custom={"ticket_reply": ref})]
    if event.kind is EventKind.SLA_BREACHED:
        expected = format_deadline(float(event.data["expected"]), timezone)
        apology = APOLOGIES.get(str(event.data.get("metric")), APOLOGIES["resolution"])
        text = translate(language, apology, number=ticket.number, expected=expected)
        return [MessageDraft(Sender.SYSTEM, text, custom={"ticket_apology": ref})]
    return []


async def tell_customers(app: web.Application) -> AsyncIterator[None]:
    """Registers the listener for the app's lifetime (after storage and the pipeline)."""
    timezone = app[INTAKE].calendar.timezone

    async def notify(event: TicketEvent, ticket: Ticket) -> None:
        drafts = customer_lines(ticket, event, timezone)
        if not drafts or not ticket.conversation_id:
            return
        try:
            await app[PIPELINE].post_notice(ticket.conversation_id, drafts)
        except UnknownConversation:
            log.info("ticket %s has no reachable conversation", ticket.number)

    tickets = app[TICKETS]
    tickets.add_listener(notify)
    yield
    tickets.remove_listener(notify)
