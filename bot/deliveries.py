"""Reaching a ticket's customer on every route they can be reached by, and recording each attempt.

`CustomerMessenger.send` writes the lines into the ticket's chat (the transcript: a web customer sees them live, or
with an unread badge on their next visit) and then tries the chat's channel: WeChat's customer-service API, and
outside its 48-hour window the account's template message. A customer who left an email address (the ticket's
contact, else their record's) also gets the news by email. Every attempt is a row in `intake.deliveries`; a failed
one also shows on the ticket's timeline, and a failed chat delivery in the console's transcript as before.

Must never decide what to say (`bot.ticket_notices`, `bot.surveys` do) and never raise for a failed route: a
customer's news that did not arrive is a record for staff, not an error for whoever changed the ticket.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.channels.base import TemplateChannel, TemplateNotice
from bot.channels.email import EmailSender, email_address
from bot.channels.wechat.exceptions import OutsideServiceWindow
from bot.channels.wechat.messages import format_message
from bot.pipeline import CUSTOMER_VISIBLE, ConversationPipeline
from conversations.exceptions import UnknownConversation, UnknownCustomer
from conversations.models import Conversation, Message, Sender
from conversations.store import ConversationStore, MessageDraft
from i18n import translate
from intake.deliveries import Delivery, DeliveryLog
from intake.models import Ticket

log = logging.getLogger(__name__)

# Channels with no adapter whose customers read the transcript itself: live on an open socket, else on their next
# visit (the widget's unread badge). Their delivery is the transcript write.
TRANSCRIPT_CHANNELS = frozenset({"web", "socketio"})
TEMPLATE_ROUTE = "wechat_template"
EMAIL_ROUTE = "email"
MAX_ERROR_CHARS = 300


@dataclass(frozen=True)
class CustomerNotice:
    """What to tell a ticket's customer. `drafts` are transcript lines (only the customer-visible ones travel);
    `status` is the ticket's status as the customer reads it (for a template message); `purpose` says why
    (`status`, `reply`, `apology`, `follow_up`, `follow_up_reminder`); `event_seq` is the timeline event it carries.
    `conversation_id` defaults to the ticket's chat; `by_email` also mails it when an address is known."""

    ticket: Ticket
    drafts: Sequence[MessageDraft]
    purpose: str
    status: str
    event_seq: int | None = None
    conversation_id: str | None = None
    by_email: bool = True


def _error(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:MAX_ERROR_CHARS]


class CustomerMessenger:
    def __init__(
        self,
        pipeline: Callable[[], ConversationPipeline],
        store: ConversationStore,
        deliveries: DeliveryLog,
        email: EmailSender | None = None,
    ) -> None:
        self._pipeline = pipeline
        self._store = store
        self._deliveries = deliveries
        self._email = email

    async def send(self, notice: CustomerNotice) -> list[Delivery]:
        """Every attempt made, in order: the chat's channel (and its template fallback), then email."""
        attempts: list[Delivery] = []
        conversation_id = notice.conversation_id or notice.ticket.conversation_id
        language = notice.ticket.language or "en"
        if conversation_id:
            try:
                messages = await self._pipeline().post_notice(conversation_id, notice.drafts, deliver=False)
                conversation = await self._store.get_conversation(conversation_id)
            except UnknownConversation:
                attempts.append(await self._record(notice, "chat", f"the ticket's chat {conversation_id} is gone"))
            else:
                visible = [m for m in messages if m.sender in CUSTOMER_VISIBLE and m.sender is not Sender.CUSTOMER]
                if visible:
                    attempts.append(await self._chat(notice, conversation, visible, language))
        if notice.by_email and self._email is not None:
            attempt = await self._mail(
                notice, [d.text for d in notice.drafts if d.sender is not Sender.EVENT], language
            )
            if attempt is not None:
                attempts.append(attempt)
        return attempts

    async def _chat(
        self, notice: CustomerNotice, conversation: Conversation, visible: list[Message], language: str
    ) -> Delivery:
        """The chat's channel: the transcript itself for web chats, else the channel's adapter."""
        pipeline = self._pipeline()
        channel = conversation.channel
        adapter = pipeline.adapter_for(channel)
        if adapter is None:
            if channel in TRANSCRIPT_CHANNELS:
                return await self._record(notice, channel)
            await pipeline.delivery_failed(conversation, visible)
            return await self._record(notice, channel, f"no {channel} connector runs on this replica")
        try:
            await adapter.deliver(conversation, visible)
        except OutsideServiceWindow:
            # Not a failure yet: what counts is whether the template message gets there.
            return await self._template(notice, conversation, visible, language, adapter)
        except Exception as exc:
            log.warning("ticket %s: delivery to %s failed: %s", notice.ticket.number, channel, _error(exc))
            await pipeline.delivery_failed(conversation, visible)
            return await self._record(notice, channel, _error(exc))
        return await self._record(notice, channel)

    async def _template(
        self,
        notice: CustomerNotice,
        conversation: Conversation,
        visible: list[Message],
        language: str,
        adapter: object,
    ) -> Delivery:
        """Outside the channel's window: the account's template message, when there is one."""
        if not isinstance(adapter, TemplateChannel) or not adapter.templates_enabled:
            await self._pipeline().delivery_failed(conversation, visible)
            return await self._record(
                notice,
                TEMPLATE_ROUTE,
                "outside WeChat's 48-hour window, and no template message is configured (FD_WECHAT_TEMPLATE_ID)",
            )
        number = notice.ticket.number
        template = TemplateNotice(
            title=translate(language, "Update on your ticket {number}", number=number),
            reference=number,
            status=notice.status,
            text="\n\n".join(format_message(m) for m in visible),
        )
        try:
            await adapter.send_template(conversation, template)
        except Exception as exc:
            log.warning("ticket %s: template message failed: %s", number, _error(exc))
            await self._pipeline().delivery_failed(conversation, visible)
            return await self._record(notice, TEMPLATE_ROUTE, "outside WeChat's 48-hour window; " + _error(exc))
        return await self._record(notice, TEMPLATE_ROUTE)

    async def _mail(self, notice: CustomerNotice, lines: list[str], language: str) -> Delivery | None:
        """The news by email, when the customer left an address; None when they did not."""
        assert self._email is not None
        address = email_address(notice.ticket.contact)
        if address is None:
            try:
                address = email_address((await self._store.get_customer(notice.ticket.customer_id)).email)
            except UnknownCustomer:
                address = None
        text = "\n\n".join(line for line in lines if line.strip())
        if address is None or not text:
            return None
        number = notice.ticket.number
        subject = translate(language, "Update on your ticket {number}", number=number)
        body = text + "\n\n" + translate(language, "To answer, write to us in the chat where you reported it.")
        try:
            await self._email.send(address, subject, body)
        except Exception as exc:
            log.warning("ticket %s: email failed: %s", number, _error(exc))
            return await self._record(notice, EMAIL_ROUTE, _error(exc))
        return await self._record(notice, EMAIL_ROUTE)

    async def _record(self, notice: CustomerNotice, channel: str, error: str = "") -> Delivery:
        return await self._deliveries.record(
            notice.ticket.number,
            purpose=notice.purpose,
            channel=channel,
            ok=not error,
            error=error,
            event_seq=notice.event_seq,
        )


__all__ = ["EMAIL_ROUTE", "TEMPLATE_ROUTE", "TRANSCRIPT_CHANNELS", "CustomerMessenger", "CustomerNotice"]
