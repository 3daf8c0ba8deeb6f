"""The seam between channels and the one conversation pipeline.

A channel adapter turns its wire format into an `InboundMessage` for `ConversationPipeline.receive` and delivers
messages created outside a request (agent replies, late bot replies, notices) through `ChannelAdapter.deliver`.
Adding a channel means one new adapter module; nothing here knows any wire format.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from conversations.models import Conversation, Message


@dataclass(frozen=True)
class InboundMessage:
    """What a customer sent, in channel-neutral form.

    `sender_id` is the channel's identity for the customer (web visitor id, WeChat OpenID); the pipeline links it
    to a customer record. `message_id` is the channel's own id, used to drop retries of the same message.
    """

    channel: str
    sender_id: str
    text: str
    conversation_id: str | None = None
    payload: str | None = None
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
