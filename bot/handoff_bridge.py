"""Connects the pipeline to handoff: who answers a conversation now, and what escalating means for the customer.

Owns the `OwnershipGate` backed by `handoff.service.HandoffService`, the customer-facing texts of a handoff (queue
place and wait, agent joined, bot back) and the background work the service needs: turning its events into customer
notices as the queue moves, and the sweeper that requeues unanswered assignments. When the bot is back it asks for a
rating through the one survey dialogue (`bot.surveys`), which also reads the answers. `handoff_context` builds all of
it (memory store by default, Redis when `settings.redis_url` is set).

Must never change ownership except through `HandoffService`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from backends.bus import Event, EventBus, Subscription
from backends.exceptions import REDIS_UNREACHABLE
from backends.tasks import cancel_and_wait
from bot.keys import BUS, CONVERSATIONS, DATABASE, GATE, INTAKE, PIPELINE, RASA, RECORD, REDIS, SERVICE_RECORD, SETTINGS
from bot.pipeline import ConversationPipeline, conversation_topic
from bot.surveys import SURVEY_DIALOGUE, SurveyDialogue
from bot.telemetry import METRICS
from conversations.exceptions import UnknownCustomer
from conversations.models import Conversation, Message, Sender
from conversations.store import ConversationStore, MessageDraft
from handoff.constants import ABANDON_AFTER_S, BUS_TOPIC_ALL
from handoff.memory import MemoryHandoffStore
from handoff.ownership import AGENT_STATES, OwnershipState
from handoff.pending import PendingHandoff, PendingHandoffs, request_pending
from handoff.profiles import AgentProfileStore
from handoff.queue import estimate_wait_s
from handoff.recovery import recorded_owner
from handoff.redis_store import RedisHandoffStore
from handoff.service import HandoffOutcome, HandoffService, OutcomeStatus
from handoff.store import HandoffStore
from handoff.triggers import ReasonCode
from i18n import N_, translate
from observability import Metrics
from record import ServiceRecord

log = logging.getLogger(__name__)

# Queue notices go to this many waiting customers per queue; those further back hear again as they move up.
NOTIFY_QUEUE_DEPTH = 50
# Queue movements in this window are coalesced into one round of position notices.
REFRESH_COALESCE_S = 0.05
CHANNEL_CACHE_SIZE = 10_000
# An open chat window reports its customer present this often (at most; a quarter of the abandon time if shorter).
PRESENCE_INTERVAL_S = 30.0

# What a customer who asks for a human hears when the chat cannot go to the queue (message ids: see `i18n`).
RECORDED_FOR_LATER = N_("We have recorded your request; a colleague will pick it up shortly.")
WRAPPING_UP = N_("Your colleague is just finishing up; one moment please.")
NOT_ALLOWED = N_("This chat can no longer be passed to a colleague. Please start a new chat to reach our team.")
# Why a colleague left, as the customer hears it (the handoff event's `cause`).
AGENT_LEFT_NOTICES = {
    "transferred": N_("You are being transferred to a colleague; please stay in the chat."),
    "unanswered": N_("Sorry for the wait; we are finding another colleague for you."),
}


def queue_text(language: str, position: int, eta_s: float | None) -> str:
    text = (
        translate(language, "You are next in the queue for our team.")
        if position <= 1
        else translate(language, "You are number {position} in the queue for our team.", position=position)
    )
    if eta_s is None:
        return text + translate(language, " No colleague is online right now; we will connect you as soon as one is.")
    return text + translate(language, " Estimated wait: about {minutes} min.", minutes=max(1, round(eta_s / 60)))


def queue_notice(conversation_id: str, language: str, position: int, length: int, eta_s: float | None) -> Event:
    """The `notice` event customers' sockets forward; the widget updates its one queue line in place."""
    return {
        "type": "notice",
        "notice": "queue_position",
        "conversation_id": conversation_id,
        "position": position,
        "length": length,
        "eta_s": eta_s,
        "text": queue_text(language, position, eta_s),
    }


class NoticingBus:
    """The EventBus HandoffService publishes through: passes every event on, and hands the ones customers must
    hear about to `CustomerNotices`. Acting where the event is published (not where it is received) means exactly
    one replica speaks to the customer about each change."""

    def __init__(self, inner: EventBus, on_event: Callable[[str, Event], None]) -> None:
        self._inner = inner
        self._on_event = on_event

    async def publish(self, topic: str, event: Event) -> None:
        await self._inner.publish(topic, event)
        self._on_event(topic, event)

    def subscribe(self, *topics: str) -> contextlib.AbstractAsyncContextManager[Subscription]:
        return self._inner.subscribe(*topics)

    async def close(self) -> None:
        return None  # the app's bus context owns the inner bus


class HandoffMeter:
    """Handoff's metrics: each queue wait as its conversation is assigned (from the events this replica publishes,
    so replicas never count one assignment twice) and, before each scrape, the queues' lengths and oldest waits."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        self.service: HandoffService | None = None
        metrics.before_scrape.append(self.refresh_queues)

    def offer(self, topic: str, event: Event) -> None:
        record = event.get("record")
        if event.get("type") != "assigned" or event.get("via") == "transfer" or not isinstance(record, Mapping):
            return
        enqueued_at, assigned_at = record.get("enqueued_at"), record.get("assigned_at")
        if isinstance(enqueued_at, int | float) and isinstance(assigned_at, int | float):
            self._metrics.queue_waited(str(record.get("skill") or ""), assigned_at - enqueued_at)

    async def refresh_queues(self) -> None:
        if self.service is None:
            return
        queues = await self.service.queue_snapshot()
        self._metrics.set_queues((q.skill, q.length, q.oldest_wait_s) for q in queues)


class CustomerNotices:
    """Turns handoff events into what the customer sees: queue place/wait notices as the queue moves, and system
    messages when an agent joins or leaves and when the bot is back (with the satisfaction survey).

    One worker task (owned by `handoff_context`) handles events in publish order, so a transition never waits for
    the transcript writes its announcement causes.
    """

    def __init__(
        self,
        store: ConversationStore,
        surveys: SurveyDialogue,
        pipeline: Callable[[], ConversationPipeline],
        bus: EventBus,
        end_form: Callable[[str], Awaitable[None]],
    ) -> None:
        self._store = store
        self._end_form = end_form  # the bot's form of a conversation an agent joins (RasaClient.end_form)
        self._surveys = surveys  # asks for the rating when the bot is back
        self._pipeline = pipeline
        self._bus = bus
        self._events: asyncio.Queue[tuple[str, Event]] = asyncio.Queue()
        self._dirty = asyncio.Event()
        self._last: dict[str, tuple[int, int, float | None]] = {}
        self.service: HandoffService | None = None

    def offer(self, topic: str, event: Event) -> None:
        if topic == BUS_TOPIC_ALL:
            if event.get("type") in ("queued", "assigned", "abandoned", "bot_resumed", "agent_presence"):
                self._dirty.set()
        elif topic.startswith("conv:") and event.get("type") in ("agent_joined", "agent_left", "bot_back"):
            self._events.put_nowait((topic, event))

    def remember_position(self, conversation_id: str, position: int, length: int, eta_s: float | None) -> None:
        """The escalating turn already told the customer this; the next refresh need not repeat it."""
        self._last[conversation_id] = (position, length, eta_s)

    async def run_messages(self) -> None:
        while True:
            _topic, event = await self._events.get()
            try:
                await self._announce(event)
            except Exception:
                log.exception("handoff notice for %s failed", event.get("conversation_id"))

    async def run_positions(self) -> None:
        while True:
            await self._dirty.wait()
            await asyncio.sleep(REFRESH_COALESCE_S)
            self._dirty.clear()
            try:
                await self.refresh_positions()
            except Exception:
                log.exception("queue position refresh failed")

    async def refresh_positions(self) -> None:
        service = self.service
        if service is None:
            return
        store = service.store
        waiting: set[str] = set()
        for skill, length in (await store.lengths()).items():
            if length <= 0:
                continue
            entries = await store.head(skill, NOTIFY_QUEUE_DEPTH)
            records = {r.conversation_id: r for r in await store.get_many([e.conversation_id for e in entries])}
            online = await store.count_online(skill)
            times = await store.handling_times(skill)
            for index, entry in enumerate(entries):
                cid = entry.conversation_id
                waiting.add(cid)
                record = records.get(cid)
                if record is None or record.state is not OwnershipState.QUEUED:
                    continue
                eta = estimate_wait_s(index + 1, times, online)
                now = (index + 1, length, eta)
                if self._last.get(cid) == now:
                    continue
                self._last[cid] = now
                notice = queue_notice(cid, record.language or "en", index + 1, length, eta)
                await self._bus.publish(conversation_topic(cid), notice)
        for cid in [c for c in self._last if c not in waiting]:
            del self._last[cid]

    async def _announce(self, event: Event) -> None:
        cid = str(event["conversation_id"])
        conversation = await self._store.get_conversation(cid)
        language = conversation.language or "en"
        kind = event["type"]
        if kind == "agent_joined":
            await self._end_form(cid)
            name = str(event.get("display_name") or event.get("agent_id") or "")
            text = translate(language, "{name} from our team has joined the chat.", name=name)
            custom = {"notice": "agent_joined", "agent_id": event.get("agent_id", "")}
            await self._pipeline().post_notice(cid, [MessageDraft(Sender.SYSTEM, text, custom=custom)])
        elif kind == "agent_left" and event.get("cause") in ("transferred", "unanswered"):
            notice = AGENT_LEFT_NOTICES[event["cause"]]
            text = translate(language, notice)
            await self._pipeline().post_notice(
                cid, [MessageDraft(Sender.SYSTEM, text, custom={"notice": "agent_left", "cause": event["cause"]})]
            )
        elif kind == "bot_back":
            drafts = [
                MessageDraft(
                    Sender.SYSTEM,
                    translate(language, "The chat with our team has ended. You are back with the assistant."),
                    custom={"notice": "bot_back"},
                )
            ]
            if event.get("ask_satisfaction"):
                drafts.append(await self._surveys.ask_after_chat(cid, await self._last_agent(cid), language))
            await self._pipeline().post_notice(cid, drafts)

    async def _last_agent(self, conversation_id: str) -> str:
        for message in reversed(await self._store.recent(conversation_id, 200)):
            if message.sender is Sender.AGENT and message.sender_id:
                return message.sender_id
            if message.sender is Sender.SYSTEM and message.custom.get("notice") == "agent_joined":
                return str(message.custom.get("agent_id", ""))
        return ""


class HandoffGate:
    """The pipeline's OwnershipGate over HandoffService.

    While the live state (Redis) cannot be reached, the bot keeps answering: who owns a conversation comes from the
    service record instead (`handoff.recovery.recorded_owner`), and a handoff asked for meanwhile is kept in SQL
    (`handoff.pending`) and queued by the reconcile job once Redis is back; the customer is told so."""

    def __init__(
        self,
        service: HandoffService,
        store: ConversationStore,
        notices: CustomerNotices,
        timezone: str = "UTC",
        abandon_after_s: float = ABANDON_AFTER_S,
        *,
        record: ServiceRecord,
        pending: PendingHandoffs,
    ) -> None:
        self.service = service
        self.presence_interval_s = min(PRESENCE_INTERVAL_S, abandon_after_s / 4)
        self._store = store
        self._notices = notices
        self._timezone = timezone
        self._record = record
        self._pending = pending

    async def bot_answers(self, conversation_id: str, customer_message: Message) -> bool:
        """False while an agent owns it (assigned or wrap-up), per the live state, or per the service record while
        the live state cannot be reached; then `customer_message` goes to the agent's inbox."""
        try:
            return await self._live_bot_answers(conversation_id, customer_message)
        except REDIS_UNREACHABLE:
            owner = await recorded_owner(self._record, conversation_id)
            log.warning(
                "handoff live state unreachable: the service record says who owns the conversation",
                extra={"owner": owner.state.value if owner is not None else "bot"},
            )
            return owner is None or owner.state not in AGENT_STATES

    async def _live_bot_answers(self, conversation_id: str, customer_message: Message) -> bool:
        """The message is passed, not read back as the newest transcript line: another line (a notice written by
        another replica) may already follow it, and the customer's words would never reach the agent."""
        record = await self.service.state_of(conversation_id)
        if record is not None and record.state is OwnershipState.QUEUED:
            await self.service.customer_seen(conversation_id)
        if record is not None and record.state in AGENT_STATES:
            await self.service.notify_customer_message(conversation_id, customer_message.to_dict())
            return False
        return True

    async def customers_present(self, conversation_ids: Sequence[str]) -> None:
        try:
            await self.service.customers_seen(conversation_ids)
        except REDIS_UNREACHABLE:
            # Nothing is swept while the live state is away, so a lost sign of life costs nothing.
            log.debug("handoff live state unreachable: a customer's sign of life is skipped")

    async def customer_left(self, conversation_id: str) -> bool:
        """Leaves the queue (live state) and drops a handoff still kept for later. With the live state unreachable
        only the kept one goes: a queued chat the rebuild puts back is abandoned by the silence sweep."""
        kept = await self._pending.remove(conversation_id)
        try:
            return await self.service.abandon(conversation_id, "left") or kept
        except REDIS_UNREACHABLE:
            log.warning("handoff live state unreachable: a customer who left stays queued until the silence sweep")
            return kept

    async def escalate(self, conversation: Conversation, request: dict[str, Any]) -> list[MessageDraft]:
        language = str(request.get("language") or "")
        if language not in ("en", "zh"):
            # The pipeline may have just detected the language; the Conversation it holds predates that.
            language = (await self._store.get_conversation(conversation.id)).language or "en"
        try:
            reason = ReasonCode(str(request.get("reason") or ReasonCode.CUSTOMER_REQUEST.value))
        except ValueError:
            reason = ReasonCode.CUSTOMER_REQUEST
        raw_scores = request.get("scores")
        scores = {
            str(k): float(v)
            for k, v in (raw_scores.items() if isinstance(raw_scores, Mapping) else ())
            if isinstance(v, int | float) and not isinstance(v, bool)
        }
        details = str(request.get("details") or request.get("detail") or "")
        fields = request.get("fields") if isinstance(request.get("fields"), Mapping) else {}
        ticket = str(request.get("ticket") or "")
        promised = request.get("first_response_due")
        try:
            tier = (await self._store.get_customer(conversation.customer_id)).tier
        except UnknownCustomer:
            tier = "standard"
        asked = PendingHandoff(
            conversation_id=conversation.id,
            customer_id=conversation.customer_id,
            language=language,
            requested_at=self.service.clock(),
            category=str(request.get("category") or ""),
            priority=str(request.get("priority") or "normal"),
            reason=reason.value,
            scores=scores,
            details=details,
            # The channel is for the service record's facts about this handoff (the record has no other way to it).
            context={"fields": fields, "ticket": ticket, "channel": conversation.channel},
            first_response_due=float(promised) if isinstance(promised, int | float) and ticket else None,
            tier=tier,
        )
        try:
            outcome = await request_pending(self.service, asked)
        except REDIS_UNREACHABLE:
            await self._pending.add(asked)
            log.warning(
                "handoff live state unreachable: the handoff is kept in SQL and queued when it is back",
                extra={"reason": reason.value},
            )
            text = translate(language, RECORDED_FOR_LATER)
            return [MessageDraft(Sender.SYSTEM, text, custom={"notice": "handoff_recorded"})]
        return self._outcome_notices(conversation.id, language, outcome, ticket)

    def _outcome_notices(
        self, conversation_id: str, language: str, outcome: HandoffOutcome, ticket: str
    ) -> list[MessageDraft]:
        if outcome.status is OutcomeStatus.QUEUED and outcome.position is not None:
            p = outcome.position
            self._notices.remember_position(conversation_id, p.position, p.length, p.eta_s)
            custom = {"notice": "queue_position", "position": p.position, "length": p.length, "eta_s": p.eta_s}
            return [MessageDraft(Sender.SYSTEM, queue_text(language, p.position, p.eta_s), custom=custom)]
        if outcome.status is OutcomeStatus.CLOSED_HOURS:
            when = translate(language, "as soon as we can")
            if outcome.next_open_at is not None:
                at = dt.datetime.fromtimestamp(outcome.next_open_at, ZoneInfo(self._timezone))
                when = translate(language, "after we open again ({at})", at=at.strftime("%Y-%m-%d %H:%M %Z"))
            ticket_text = (
                translate(language, "Your request is recorded as ticket {ticket}. ", ticket=ticket) if ticket else ""
            )
            # i18n: {ticket} is the "Your request is recorded as ticket …" sentence or empty; {when} is "as soon as we
            # can" or "after we open again (…)".
            text = translate(
                language,
                "Our team is offline right now. {ticket}A colleague will reply {when}.",
                ticket=ticket_text,
                when=when,
            )
            custom = {"notice": "closed_hours", "next_open_at": outcome.next_open_at, "ticket": ticket}
            return [MessageDraft(Sender.SYSTEM, text, custom=custom)]
        if outcome.status is OutcomeStatus.NOT_ALLOWED:
            wrapping = outcome.record is not None and outcome.record.state is OwnershipState.WRAP_UP
            text = translate(language, WRAPPING_UP if wrapping else NOT_ALLOWED)
            return [MessageDraft(Sender.SYSTEM, text, custom={"notice": "handoff_refused"})]
        # Assigned at once: the agent-joined message comes from CustomerNotices, like every later assignment.
        return []


HANDOFF = web.AppKey("handoff_service", HandoffService)
AGENT_PROFILES = web.AppKey("agent_profiles", AgentProfileStore)
HANDOFF_GATE = web.AppKey("handoff_gate", HandoffGate)
PENDING_HANDOFFS = web.AppKey("pending_handoffs", PendingHandoffs)


class SilenceLimits:
    """How long a queued customer may be silent, by channel: the handoff limit, or the channel's own idle limit for
    channels without a live chat window (WeChat). A conversation's channel never changes, so it is remembered."""

    def __init__(self, store: ConversationStore, by_channel: Mapping[str, float]) -> None:
        self._store = store
        self._by_channel = dict(by_channel)
        self._channels: dict[str, str] = {}

    async def limit_of(self, conversation_id: str) -> float:
        if not self._by_channel:
            return 0.0
        channel = self._channels.get(conversation_id)
        if channel is None:
            channel = (await self._store.get_conversation(conversation_id)).channel
            if len(self._channels) >= CHANNEL_CACHE_SIZE:
                self._channels.clear()
            self._channels[conversation_id] = channel
        return self._by_channel.get(channel, 0.0)


async def _sweep(service: HandoffService, interval_s: float, abandon_after_s: float, limits: SilenceLimits) -> None:
    """Unanswered assignments back to the queue, stale wrap-ups finished, agents gone from every console past their
    grace period offline, silent customers out of the queue, and a catch-up auto-assign for anything another
    replica's inline assignment missed. Every replica runs it; each step is safe to run twice at once."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            await service.requeue_unanswered()
            await service.offline_disconnected()
            await service.abandon_silent(abandon_after_s, limit_of=limits.limit_of)
            if service.settings.assign_on_enqueue:
                await service.auto_assign()
        except REDIS_UNREACHABLE:
            log.warning("handoff sweep skipped: the live state (Redis) is unreachable")
        except Exception:
            log.exception("handoff sweep failed")


async def handoff_context(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    intake = app[INTAKE]
    # Agents' opening hours are the one business calendar, and a chat's SLA the tickets' policy.
    routing = settings.handoff.routing(intake.calendar, intake.sla_policy())
    profiles = AgentProfileStore(app[DATABASE])
    store: HandoffStore = (
        RedisHandoffStore(app[REDIS], prefix=settings.handoff.key_prefix)
        if settings.redis_url
        else MemoryHandoffStore()
    )

    def pipeline() -> ConversationPipeline:
        return app[PIPELINE]

    notices = CustomerNotices(app[CONVERSATIONS], app[SURVEY_DIALOGUE], pipeline, app[BUS], app[RASA].end_form)
    meter = HandoffMeter(app[METRICS])

    def noticed(topic: str, event: Event) -> None:
        notices.offer(topic, event)
        meter.offer(topic, event)

    service = HandoffService(store, NoticingBus(app[BUS], noticed), routing, recorder=app.get(RECORD))
    notices.service = service
    meter.service = service
    pending = PendingHandoffs(app[DATABASE])
    gate = HandoffGate(
        service,
        app[CONVERSATIONS],
        notices,
        routing.calendar.timezone,
        settings.handoff.abandon_after_s,
        record=app[SERVICE_RECORD],
        pending=pending,
    )
    wechat = settings.wechat.account()
    limits = SilenceLimits(app[CONVERSATIONS], {"wechat": wechat.idle_close_s} if wechat is not None else {})
    app[HANDOFF] = service
    app[AGENT_PROFILES] = profiles
    app[HANDOFF_GATE] = gate
    app[PENDING_HANDOFFS] = pending
    app[GATE] = gate
    tasks = [
        asyncio.create_task(notices.run_messages(), name="handoff-notices"),
        asyncio.create_task(notices.run_positions(), name="handoff-queue-positions"),
        asyncio.create_task(
            _sweep(service, settings.handoff.sweep_interval_s, settings.handoff.abandon_after_s, limits),
            name="handoff-sweeper",
        ),
    ]
    yield
    # These loops write to Redis, where a single cancel() can be lost (see cancel_and_wait): awaiting them after
    # one cancel hung shutdown.
    await cancel_and_wait(*tasks)
    await store.close()
