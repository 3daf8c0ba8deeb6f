"""What the actions need from the rest of the front door, as Protocols, and the bundle they are built with.

Owns `ActionServices`, `ActionSettings`, the service Protocols and `build_executor`. Must never construct real
services itself (the front door does, in its cleanup_ctx); demo services live in actions/demo.py.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from actions.feedback import FeedbackRecord
from conversations.customers import LinkOutcome
from conversations.identity import IdentityKey
from conversations.models import Conversation, Customer
from handoff.triggers import HandoffTrigger, TurnFacts
from intake.classification import IssueClassifier
from intake.models import Priority, Ticket, TicketDraft, TicketStatus
from intake.orders import OrderLookup, OrderNumberFormat
from intake.priority import PriorityPolicy
from intake.settings import IntakeSettings
from intake.sla import SlaDeadlines, SlaPolicy
from kb.decision import KBResult

if TYPE_CHECKING:
    from rasa_sdk.executor import ActionExecutor


class KnowledgeSearch(Protocol):
    async def search(self, query: str, language: str) -> KBResult: ...


class SyncKnowledgeSearch(Protocol):
    def search(self, query: str, language: str | None = None) -> KBResult: ...


class ThreadedKnowledgeSearch:
    """Adapts a blocking retriever (kb.retrieval.HybridRetriever encodes on the CPU) to `KnowledgeSearch`, so a
    lookup never stalls the event loop that also serves the widget."""

    def __init__(self, retriever: SyncKnowledgeSearch) -> None:
        self._retriever = retriever

    async def search(self, query: str, language: str) -> KBResult:
        return await asyncio.to_thread(self._retriever.search, query, language)


class TicketService(Protocol):
    """The part of intake.tickets.TicketStore the actions use."""

    async def create(
        self,
        draft: TicketDraft,
        *,
        priority: Priority,
        deadlines: SlaDeadlines | None = ...,
        team_id: str | None = ...,
        skill_group: str | None = ...,
        channel: str = ...,
        actor: str = ...,
        note: str = ...,
    ) -> Ticket: ...

    async def get(self, number: str, *, customer_id: str) -> Ticket | None: ...

    async def policy_for(self, team_id: str | None) -> SlaPolicy:
        """The SLA policy with the team's own targets."""
        ...

    async def list_for_customer(
        self, customer_id: str, *, statuses: Sequence[TicketStatus] | None = None, limit: int = ...
    ) -> list[Ticket]: ...


class HandoffDecider(Protocol):
    """handoff.triggers.HandoffPolicy."""

    def evaluate(self, facts: TurnFacts) -> HandoffTrigger | None: ...


class FeedbackRecorder(Protocol):
    async def record(self, feedback: FeedbackRecord) -> None: ...


class CustomerDirectory(Protocol):
    """conversations.store.ConversationStore; an unknown id raises (any exception reads as 'unknown')."""

    async def get_customer(self, customer_id: str) -> Customer: ...

    async def get_conversation(self, conversation_id: str) -> Conversation: ...


class CustomerLinks(Protocol):
    """conversations.customers.CustomerRecords, as the issue form uses it: what the record knows, the form's
    contact saved to it, and identities a proof links. An unknown customer raises (any exception: skipped)."""

    async def keys_of(self, customer_id: str) -> set[IdentityKey]: ...

    async def save_contact(self, customer_id: str, contact: IdentityKey) -> bool: ...

    async def link_proven(
        self, customer_id: str, keys: Sequence[IdentityKey], *, detail: Mapping[str, Any]
    ) -> LinkOutcome: ...


@dataclass(frozen=True)
class ActionSettings:
    intake: IntakeSettings = field(default_factory=IntakeSettings)
    display_timezone: str = ""  # deadlines shown to customers; empty: the business calendar's zone
    max_clarify_options: int = 3
    open_tickets_shown: int = 3

    @property
    def timezone(self) -> str:
        if self.display_timezone:
            return self.display_timezone
        return self.intake.calendar.timezone


@dataclass
class ActionServices:
    knowledge_base: KnowledgeSearch
    tickets: TicketService
    orders: OrderLookup | None  # None: no order system; numbers are accepted by their format alone
    handoff_policy: HandoffDecider
    feedback: FeedbackRecorder
    settings: ActionSettings = field(default_factory=ActionSettings)
    customers: CustomerDirectory | None = None
    records: CustomerLinks | None = None  # None: nothing is linked or saved (the standalone demo)
    classifier: IssueClassifier = field(default_factory=IssueClassifier)
    clock: Callable[[], float] = time.time
    priority_policy: PriorityPolicy = field(init=False)
    order_format: OrderNumberFormat = field(init=False)

    def __post_init__(self) -> None:
        self.priority_policy = PriorityPolicy(self.settings.intake)
        self.order_format = OrderNumberFormat(self.settings.intake.order_number_pattern)


def build_executor(services: ActionServices) -> ActionExecutor:
    """An ActionExecutor with every action of the contract registered as an instance built with `services`."""
    # Imported here because every action module imports this one for ActionServices.
    from actions.registry import build_executor as _build

    return _build(services)
