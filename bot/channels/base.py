"""The seam between channels and the one conversation pipeline.

A channel adapter turns its wire format into an `InboundMessage` for `ConversationPipeline.receive` and delivers
messages created outside a request (agent replies, late bot replies, notices) through `ChannelAdapter.deliver`. A
channel that may not message a customer freely at all times (WeChat, outside its 48-hour window) can still carry a
`TemplateNotice` through `TemplateChannel.send_template`. Adding a channel means one new adapter module; nothing
here knows any wire format.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from conversations.models import Conversation, Message


@dataclass(frozen=True)
class InboundMessage:
    """What a customer sent, in channel-neutral form.

        `sender_id` is the channel's identity for the customer (web visitor id, WeChat OpenID); the pipeline links it
        to a customer record. `message_id` is the sender's own id for the message (the chat API's and the sockets'
    `client_message_id`, WeChat's MsgId): the pipeline stores a message with a given id once per conversation, and a
    retry gets the first send's answer (`ConversationPipeline._replay`).
    """

    channel: str
    sender_id: str
    text: str
    conversation_id: str | None = None
    payload: str | None = None
    # True when the channel itself chose `payload` (a WeChat follow or menu key mapped by configuration); a payload
    # from the customer's side counts only if a button we showed offered it.
    trusted_payload: bool = False
    kind: str = "text"
    message_id: str | None = None
    attachments: tuple[dict[str, Any], ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)
    # For a channel with no conversation_id of its own (WeChat): customer silence after which their conversation is
    # closed and this message opens a new one. None: the open conversation continues however old.
    idle_close_s: float | None = None


class ChannelAdapter(Protocol):
    """Delivers messages to customers of one channel outside the request that caused them."""

    @property
    def name(self) -> str: ...

    async def deliver(self, conversation: Conversation, messages: Sequence[Message]) -> None: ...


@dataclass(frozen=True)
class TemplateNotice:
    """A notice in the fixed shape of a channel's template message, every field already in the customer's language:
    `title` ("Update on your ticket FD-000123"), `reference` (the ticket number), `status` (the ticket's status as
    the customer reads it) and `text` (the message itself, buttons written out as numbered options)."""

    title: str
    reference: str
    status: str
    text: str


@runtime_checkable
class TemplateChannel(Protocol):
    """A channel that can send a `TemplateNotice` when its free-form messages are refused."""

    @property
    def name(self) -> str: ...

    @property
    def templates_enabled(self) -> bool:
        """False when no template is configured: `send_template` would fail."""
        ...

    async def send_template(self, conversation: Conversation, notice: TemplateNotice) -> None: ...
