"""Demo services for running the actions standalone (`python -m rasa_sdk --actions actions`) during development.

Owns a tiny bilingual FAQ, a lazily opened in-memory ticket store and `demo_services()`. Trade-off: the standalone
server builds every action with no arguments, so they share one process-wide demo bundle (cached here); the front
door never uses it, it passes real services to `build_executor`. Must never be imported by production wiring.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Sequence

from actions.feedback import MemoryFeedbackRecorder
from actions.services import ActionServices, ActionSettings
from backends.sql import SQLiteDatabase
from handoff.triggers import HandoffPolicy
from intake.models import Priority, Ticket, TicketDraft, TicketStatus
from intake.orders import DemoOrderLookup
from intake.sla import SlaDeadlines, SlaPolicy
from intake.tickets import TicketStore
from kb.decision import Candidate, Decision, KBResult
from kb.tokenize import tokenize
from migrations import upgrade_database

# (entry_id, language, question, answer, category)
DEMO_FAQ: Sequence[tuple[str, str, str, str, str]] = (
    (
        "returns-en",
        "en",
        "How do I return an item?",
        "You can return most items within 30 days: open Orders, choose the item and press 'Return'.",
        "returns",
    ),
    ("returns-zh", "zh", "如何退货？", "大部分商品支持30天内退货：打开“我的订单”，选择商品并点击“退货”。", "returns"),
    (
        "shipping-en",
        "en",
        "How long does shipping take?",
        "Standard shipping takes 3-5 business days; express takes 1-2.",
        "shipping",
    ),
    ("shipping-zh", "zh", "发货后多久能到？", "普通快递3-5个工作日送达，加急快递1-2个工作日。", "shipping"),
    (
        "warranty-en",
        "en",
        "What does the warranty cover?",
        "All appliances have a 2-year warranty covering manufacturing faults.",
        "warranty",
    ),
    ("warranty-zh", "zh", "保修包括什么？", "所有电器享受两年保修，涵盖生产质量问题。", "warranty"),
    (
        "payment-en",
        "en",
        "Which payment methods do you accept?",
        "We accept credit cards, PayPal, Alipay and WeChat Pay.",
        "payment",
    ),
    ("payment-zh", "zh", "支持哪些付款方式？", "我们支持信用卡、PayPal、支付宝和微信支付。", "payment"),
    (
        "address-en",
        "en",
        "How do I change my delivery address?",
        "You can change the address in Orders until the parcel ships.",
        "shipping",
    ),
    ("address-zh", "zh", "怎么修改收货地址？", "包裹发出前，您可以在“我的订单”中修改收货地址。", "shipping"),
)


class DemoKnowledgeBase:
    """Term overlap between the query and each question: enough to show answer, clarify and not_found."""

    def __init__(
        self, faq: Sequence[tuple[str, str, str, str, str]] = DEMO_FAQ, answer_at: float = 0.6, clarify_at: float = 0.3
    ) -> None:
        self._faq = faq
        self._answer_at = answer_at
        self._clarify_at = clarify_at

    async def search(self, query: str, language: str) -> KBResult:
        terms = set(tokenize(query, language))
        scored: list[Candidate] = []
        for entry_id, lang, question, answer, category in self._faq:
            if lang != language or not terms:
                continue
            q_terms = set(tokenize(question, lang))
            overlap = len(terms & q_terms) / max(len(q_terms), 1)
            if overlap > 0:
                scored.append(Candidate(entry_id, question, answer, category, overlap, 0.0, overlap, question))
        scored.sort(key=lambda c: -c.confidence)
        best = scored[0].confidence if scored else 0.0
        if best >= self._answer_at:
            decision = Decision.ANSWER
        elif best >= self._clarify_at and len(scored) > 1:
            decision = Decision.CLARIFY
        elif best >= self._clarify_at:
            decision = Decision.ANSWER
        else:
            decision = Decision.NOT_FOUND
        return KBResult(query, language, decision, best, scored[:3], explanation="demo term overlap")


class LazyTicketStore:
    """A TicketStore on an in-memory SQLite database, opened on first use inside the server's event loop."""

    def __init__(self) -> None:
        self._store: TicketStore | None = None
        self._lock = asyncio.Lock()

    async def _get(self) -> TicketStore:
        async with self._lock:
            if self._store is None:
                db = await SQLiteDatabase.open(":memory:", daemon=True)
                await upgrade_database(db)
                self._store = TicketStore(db)
        return self._store

    async def create(
        self,
        draft: TicketDraft,
        *,
        priority: Priority,
        deadlines: SlaDeadlines | None = None,
        team_id: str | None = None,
        skill_group: str | None = None,
        channel: str = "",
        actor: str = "bot",
        note: str = "",
    ) -> Ticket:
        store = await self._get()
        return await store.create(
            draft,
            priority=priority,
            deadlines=deadlines,
            team_id=team_id,
            skill_group=skill_group,
            channel=channel,
            actor=actor,
            note=note,
        )

    async def policy_for(self, team_id: str | None) -> SlaPolicy:
        return await (await self._get()).policy_for(team_id)

    async def get(self, number: str, *, customer_id: str) -> Ticket | None:
        return await (await self._get()).get(number, customer_id=customer_id)

    async def list_for_customer(
        self, customer_id: str, *, statuses: Sequence[TicketStatus] | None = None, limit: int = 20
    ) -> list[Ticket]:
        return await (await self._get()).list_for_customer(customer_id, statuses=statuses, limit=limit)


@functools.cache
def demo_services() -> ActionServices:
    return ActionServices(
        knowledge_base=DemoKnowledgeBase(),
        tickets=LazyTicketStore(),
        orders=DemoOrderLookup(),
        handoff_policy=HandoffPolicy(),
        feedback=MemoryFeedbackRecorder(),
        settings=ActionSettings(),
    )
