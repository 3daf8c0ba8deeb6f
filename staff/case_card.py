"""What an agent sees about one handed-off conversation: the case card, canned responses and the chat SLA.

Owns how the card is assembled from the transcript (customer, bot and agent lines, and the `kb` / `handoff` events
the bot left), the customer record, past conversations, tickets (when intake's TicketStore is available), the
ownership record and the NLU guess Rasa kept. Owns the optional seams the console uses from other areas, as
Protocols. Must never change ownership or write the transcript; it only reads.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp

from bot.channels.wechat.constants import SERVICE_WINDOW_S
from conversations.models import Conversation, Message, Sender
from conversations.store import ConversationStore
from handoff.ownership import OwnershipRecord
from i18n import LANGUAGES, N_, gettext
from kb.decision import KBResult

log = logging.getLogger(__name__)

RASA_TRACKER_TIMEOUT_S = 1.5
PAST_CONVERSATIONS_SHOWN = 10
TICKETS_SHOWN = 10


class Dictable(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


class CustomerTickets(Protocol):
    """intake.tickets.TicketStore, as the case card reads it."""

    async def list_for_customer(self, customer_id: str, *, limit: int = ...) -> Sequence[Dictable]: ...


class KnowledgeSuggester(Protocol):
    """The KB service (kb's `setup_kb`), as the console asks it for an answer to the customer's last question."""

    async def search(self, query: str, language: str) -> KBResult: ...


class FaqDrafts(Protocol):
    """The KB editor's draft queue: an agent's resolution saved as a candidate FAQ entry for an editor to review."""

    async def create_draft(self, question: str, answer: str, language: str, *, author: str, source: str) -> str: ...


@dataclass(frozen=True)
class CannedResponse:
    """A reply an agent sends with one click; `text` is its English message id, translated into the customer's
    language when it is sent (placeholders are filled by `expand_canned`, not by `str.format`). `title`, also a
    message id, is what the agent picks it by; the console shows it in the agent's language from `titles`."""

    id: str
    title: str
    text: str

    def text_in(self, language: str) -> str:
        return gettext(language, self.text)

    @property
    def texts(self) -> dict[str, str]:
        return {language: self.text_in(language) for language in LANGUAGES}

    def to_dict(self) -> dict[str, Any]:
        titles = {language: gettext(language, self.title) for language in LANGUAGES}
        return {"id": self.id, "title": self.title, "titles": titles, "texts": self.texts}


CANNED_RESPONSES = (
    CannedResponse(
        "greeting",
        N_("Greeting"),
        N_("Hi {customer_name}, this is {agent_name} from the support team. How can I help?"),
    ),
    CannedResponse(
        "checking", N_("Checking"), N_("Thanks, {customer_name}. Let me check that for you; it will take a minute.")
    ),
    CannedResponse("anything_else", N_("Anything else?"), N_("Is there anything else I can help you with?")),
    CannedResponse(
        "goodbye", N_("Goodbye"), N_("Thank you for contacting us, {customer_name}. Have a good day! – {agent_name}")
    ),
)
CANNED_BY_ID = {c.id: c for c in CANNED_RESPONSES}


_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def expand_canned(template: str, variables: Mapping[str, str]) -> str:
    """Fills {customer_name}, {agent_name}, … ; unknown or malformed placeholders become empty, never an error.

    Not str.format: a template is data an admin may edit, and format's attribute/index syntax must not run on it.
    """
    return _PLACEHOLDER.sub(lambda m: variables.get(m.group(1), ""), template)


def sla_of(record: OwnershipRecord) -> dict[str, Any]:
    """The chat's first-response clock as handoff stored it when the chat was queued (intake's SLA policy on the
    business calendar, or the ticket's promise): the console shows the deadline the ticket shows."""
    deadline = record.first_response_due
    start = record.enqueued_at
    return {
        "target_s": deadline - start if deadline is not None and start is not None else None,
        "deadline": deadline,
        "warning_at": record.first_response_warning_at,
        "met_at": record.last_agent_reply_at,
    }


def kb_attempts(transcript: Sequence[Message]) -> list[dict[str, Any]]:
    attempts = []
    for message in transcript:
        kb = message.custom.get("kb") if message.sender is Sender.EVENT else None
        if not isinstance(kb, Mapping):
            continue
        candidates = [
            {
                "entry_id": c.get("entry_id", ""),
                "question": c.get("question", ""),
                "answer": c.get("answer", ""),
                "confidence": c.get("confidence"),
                "dense_score": c.get("dense_score"),
                "lexical_score": c.get("lexical_score"),
            }
            for c in kb.get("candidates") or ()
            if isinstance(c, Mapping)
        ]
        attempts.append(
            {
                "seq": message.seq,
                "query": kb.get("query", ""),
                "decision": kb.get("decision", ""),
                "confidence": kb.get("confidence"),
                "candidates": candidates,
            }
        )
    return attempts


def handoff_requests(transcript: Sequence[Message]) -> list[dict[str, Any]]:
    return [
        dict(m.custom["handoff"])
        for m in transcript
        if m.sender is Sender.EVENT and isinstance(m.custom.get("handoff"), Mapping)
    ]


def last_customer_question(transcript: Sequence[Message]) -> str:
    for message in reversed(transcript):
        if message.sender is Sender.CUSTOMER and message.text and not message.custom.get("payload"):
            return message.text
    return ""


async def rasa_intent(http: aiohttp.ClientSession, rasa_url: str, conversation_id: str) -> tuple[str, float | None]:
    """The intent Rasa recognised last (the turn that handed off); empty when Rasa cannot say in time."""
    try:
        timeout = aiohttp.ClientTimeout(total=RASA_TRACKER_TIMEOUT_S)
        async with http.get(f"{rasa_url}/conversations/{conversation_id}/tracker", timeout=timeout) as response:
            if response.status != 200:
                return "", None
            tracker = await response.json()
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return "", None
    intent = (tracker.get("latest_message") or {}).get("intent") or {}
    confidence = intent.get("confidence")
    return str(intent.get("name") or ""), float(confidence) if isinstance(confidence, int | float) else None


async def customer_tickets(tickets: CustomerTickets | None, customer_id: str) -> list[dict[str, Any]]:
    if tickets is None:
        return []
    try:
        return [t.to_dict() for t in await tickets.list_for_customer(customer_id, limit=TICKETS_SHOWN)]
    except Exception:
        # Intake's tables may not exist in this deployment yet: the card shows no tickets rather than failing.
        log.warning("ticket lookup for %s failed", customer_id, exc_info=True)
        return []


async def build_case_card(
    store: ConversationStore,
    record: OwnershipRecord,
    *,
    tickets: CustomerTickets | None,
    intent: tuple[str, float | None],
) -> dict[str, Any]:
    conversation = await store.get_conversation(record.conversation_id)
    customer = await store.get_customer(conversation.customer_id)
    transcript = await store.history(conversation.id, limit=2000)
    past = [
        {"id": c.id, "channel": c.channel, "language": c.language, "created_at": c.created_at, "closed_at": c.closed_at}
        for c in await store.conversations_of(customer.id, limit=PAST_CONVERSATIONS_SHOWN + 1)
        if c.id != conversation.id
    ][:PAST_CONVERSATIONS_SHOWN]
    requests = handoff_requests(transcript)
    fields: dict[str, Any] = {}
    for request in requests:
        if isinstance(request.get("fields"), Mapping):
            fields.update(request["fields"])
    context_fields = record.context.get("fields")
    if isinstance(context_fields, Mapping):
        fields.update(context_fields)
    scores = dict(record.scores)
    name, confidence = intent
    if confidence is None and "intent_confidence" in scores:
        confidence = scores["intent_confidence"]
    listed = await customer_tickets(tickets, customer.id)
    # The ticket of this chat: the handoff's, else the one the bot's form made here before the handoff.
    ticket = str(record.context.get("ticket") or "")
    ticket = ticket or next((str(r["ticket"]) for r in requests if r.get("ticket")), "")
    ticket = ticket or next((str(t["number"]) for t in listed if t.get("conversation_id") == conversation.id), "")
    return {
        "conversation": {
            "id": conversation.id,
            "channel": conversation.channel,
            "language": conversation.language,
            "created_at": conversation.created_at,
        },
        "customer": {
            "id": customer.id,
            "display_name": customer.display_name,
            "tier": customer.tier,
            "email": customer.email,
            "phone": customer.phone,
            "language": customer.language,
            "since": customer.created_at,
        },
        "past_conversations": past,
        "tickets": listed,
        "handoff_ticket": ticket,
        "transcript": [m.to_dict() for m in transcript],
        "fields": fields,
        "nlu": {"intent": name, "confidence": confidence},
        "kb_attempts": kb_attempts(transcript),
        "handoff": record.to_dict(),
        "reason": record.reason,
        "priority": record.priority,
        "sla": sla_of(record),
        "reply_window": await reply_window(store, conversation),
        "last_question": last_customer_question(transcript),
    }


async def reply_window(store: ConversationStore, conversation: Conversation) -> dict[str, Any] | None:
    """When the channel lets agents write only for a while after the customer's last message (WeChat: 48 h)."""
    if conversation.channel != "wechat":
        return None
    last = await store.last_customer_message_at(conversation.id)
    return {"channel": "wechat", "closes_at": last + SERVICE_WINDOW_S if last is not None else None}
