"""What a ticket's customer hears, on the channel of the chat the ticket came from, in the ticket's language.

A listener on the ticket store turns the customer-facing timeline events into transcript lines and hands them to the
`CustomerMessenger` (`bot.deliveries`), which reaches the customer even when they are offline — the widget on their
next visit with an unread badge, WeChat by its customer-service API or, outside the 48-hour window, a template
message, and email when they left an address — and records every attempt. Status changes become a notice, staff
public replies the agent's message, and an SLA breach a short apology with the new expected time. Internal notes,
assignments, transfers and at-risk warnings are never sent: only the kinds named here are, and only `public` events.
Creation is not sent either (the bot said so in the chat already), nor a status change the customer made themselves
(writing after resolution, or answering "not solved" to the follow-up: what they were told then says so).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

from aiohttp import web

from bot.deliveries import CustomerMessenger, CustomerNotice
from bot.keys import CONVERSATIONS, DATABASE, DELIVERIES, INTAKE, MESSENGER, PIPELINE, SETTINGS, TICKETS
from bot.pipeline import ConversationPipeline
from conversations.models import Sender
from conversations.store import MessageDraft
from i18n import N_, translate
from intake.deliveries import DeliveryLog
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


PURPOSES = {EventKind.STATUS: "status", EventKind.REPLY: "reply", EventKind.SLA_BREACHED: "apology"}


def status_name(status: TicketStatus, language: str) -> str:
    """How the customer reads a ticket status, in their language."""
    return translate(language, STATUS_NAMES[status])


def status_notice(ticket: Ticket, event: TicketEvent) -> str:
    language = ticket.language or "en"
    status = status_name(TicketStatus(event.data["to"]), language)
    return translate(language, "Your ticket {number} is now {status}.", number=ticket.number, status=status)


def customer_lines(ticket: Ticket, event: TicketEvent, timezone: str) -> list[MessageDraft]:
    """The transcript lines `event` gives the customer; none for what stays with staff."""
    if not event.public or (event.kind is EventKind.STATUS and event.actor == "customer"):
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
    """Builds the messenger and registers the listener for the app's lifetime (after storage and the pipeline)."""
    timezone = app[INTAKE].calendar.timezone
    deliveries = DeliveryLog(app[DATABASE], app[TICKETS])

    def pipeline() -> ConversationPipeline:
        return app[PIPELINE]

    messenger = CustomerMessenger(pipeline, app[CONVERSATIONS], deliveries, email=app[SETTINGS].notify.sender())
    app[DELIVERIES] = deliveries
    app[MESSENGER] = messenger

    async def notify(event: TicketEvent, ticket: Ticket) -> None:
        drafts = customer_lines(ticket, event, timezone)
        if not drafts:
            return
        language = ticket.language or "en"
        status = TicketStatus(event.data["to"]) if event.kind is EventKind.STATUS else ticket.status
        notice = CustomerNotice(
            ticket, drafts, PURPOSES[event.kind], status_name(status, language), event_seq=event.seq
        )
        attempts = await messenger.send(notice)
        if not attempts:
            log.info("ticket %s: the customer has no chat and no email address", ticket.number)

    tickets = app[TICKETS]
    tickets.add_listener(notify)
    yield
    tickets.remove_listener(notify)
