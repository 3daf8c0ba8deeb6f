"""The one conversation pipeline every channel feeds: identity, transcript, bot or human owner, delivery.

`receive` takes a customer's message from any channel, records it, and either lets the bot answer (Rasa) or, while
a human owns the conversation, leaves it to the agent; an answer to the satisfaction survey is the survey's
(`SurveyAnswers`), never Rasa's. Agent replies and system notices come in through `post_from_agent` / `post_notice`.
Every recorded message is published on the bus topic `conv:{id}` (customers' sockets and agents' consoles listen
there) and handed to the channel's adapter when it was created outside a request. One conversation's turns run one
at a time, in the order sent; a bot turn that takes longer than `typing_after_s` shows the bot typing meanwhile.
Each customer message and each turn Rasa answered is a fact of the service record (`customer_message`, `bot_turn`:
the intent, from the `nlu` reply Rasa's channel ends every turn with (rasa_addons/channels.py) or the `kb` and
`handoff` payloads, the knowledge base's decision, the handoff's reason). This module must never speak a wire format,
and never decide routing: handoff does.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
import weakref
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, Protocol

from backends.bus import EventBus
from backends.tasks import cancel_and_wait
from bot.channels.base import ChannelAdapter, InboundMessage
from bot.exceptions import BotUnavailable
from bot.rasa_client import RasaClient, RasaReply
from conversations.models import Button, Conversation, Message, Sender
from conversations.store import ConversationStore, MessageDraft
from handoff.requests import HUMAN_REQUEST_PAYLOAD, asks_for_a_person
from kb.language import detect_language
from observability import bind_turn
from record import BOT, CUSTOMER, Recorder, ServiceEvent, ServiceEventKind

log = logging.getLogger(__name__)

CUSTOMER_VISIBLE = frozenset({Sender.CUSTOMER, Sender.BOT, Sender.AGENT, Sender.SYSTEM})
# How far back a button payload must have been offered to be accepted (a customer may scroll up and click).
PAYLOAD_LOOKBACK_MESSAGES = 30
# Channels that show buttons as numbered options ("1. Yes"), so a customer answers by typing the number.
NUMBERED_BUTTON_CHANNELS = frozenset({"wechat"})
# How far past a retried message its first send's answer is looked for (a turn answers with a few messages).
REPLAY_LOOKAHEAD_MESSAGES = 50


def conversation_topic(conversation_id: str) -> str:
    return f"conv:{conversation_id}"


class OwnershipGate(Protocol):
    """What the pipeline needs from handoff: who answers now, and how to escalate."""

    @property
    def presence_interval_s(self) -> float:
        """How often a customer's open chat window must be reported (`customers_present`) for them not to count as
        silent."""

    async def bot_answers(self, conversation_id: str, customer_message: Message) -> bool:
        """False while a human owns the conversation: the bot must stay silent (and `customer_message`, just
        recorded, goes to the agent)."""

    async def escalate(self, conversation: Conversation, request: dict[str, Any]) -> list[MessageDraft]:
        """Queues the conversation for a human; returns the notices to show the customer."""

    async def customers_present(self, conversation_ids: Sequence[str]) -> None:
        """These customers have the chat open (live sockets): conversations waiting for a human are not abandoned."""

    async def customer_left(self, conversation_id: str) -> bool:
        """The customer closed the chat: a conversation waiting for a human leaves the queue. False if none was."""


class SurveyAnswers(Protocol):
    """The satisfaction survey's side of a turn (`bot.surveys`): answers to an open survey never reach Rasa."""

    async def answer(self, conversation: Conversation, text: str, payload: str | None) -> list[MessageDraft] | None:
        """The replies when the message answers an open survey (a rating, "solved?", a comment, or a stale survey
        button); None when it is anything else (a question typed instead is the bot's to answer)."""
        ...


class CustomerMessageHook(Protocol):
    """Told of each customer message that is not a survey answer: tickets reopen or resume."""

    async def __call__(self, conversation_id: str, text: str) -> object: ...


class TurnObserver(Protocol):
    """What the pipeline reports for metrics (observability.Metrics); times are in seconds."""

    def turn_finished(self, channel: str, outcome: str, seconds: float) -> None: ...

    def rasa_called(self, ok: bool, seconds: float) -> None: ...

    def handoff_requested(self, reason: str) -> None: ...

    def delivery_failed(self, channel: str) -> None: ...


class NoTurnObserver:
    def turn_finished(self, channel: str, outcome: str, seconds: float) -> None:
        pass

    def rasa_called(self, ok: bool, seconds: float) -> None:
        pass

    def handoff_requested(self, reason: str) -> None:
        pass

    def delivery_failed(self, channel: str) -> None:
        pass


class ConversationPipeline:
    def __init__(
        self,
        store: ConversationStore,
        rasa: RasaClient,
        bus: EventBus,
        gate: OwnershipGate,
        observer: TurnObserver | None = None,
        on_customer_message: CustomerMessageHook | None = None,
        surveys: SurveyAnswers | None = None,
        recorder: Recorder | None = None,
        typing_after_s: float | None = None,
    ) -> None:
        """`typing_after_s`: how long a bot turn may take before the customer sees the bot typing (None: never)."""
        self._store = store
        self._typing_after_s = typing_after_s
        self._recorder = recorder
        self._on_customer_message = on_customer_message
        self._surveys = surveys
        self._rasa = rasa
        self._bus = bus
        self._gate = gate
        self._observer = observer or NoTurnObserver()
        self._adapters: dict[str, ChannelAdapter] = {}
        # A lock lives while a turn holds or awaits it (weak values), so idle conversations cost nothing.
        self._turn_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    @property
    def store(self) -> ConversationStore:
        return self._store

    def register_channel(self, adapter: ChannelAdapter) -> None:
        self._adapters[adapter.name] = adapter

    def adapter_for(self, channel: str) -> ChannelAdapter | None:
        """The channel's adapter, if it delivers outside requests on this replica (None: web, or not mounted here)."""
        return self._adapters.get(channel)

    async def open_conversation(
        self, channel: str, sender_id: str, language: str = "", token_hash: str = ""
    ) -> tuple[Conversation, bool]:
        """A new conversation for the customer behind a channel identity; the flag says they are returning."""
        customer, returning = await self._store.customer_for_identity(channel, sender_id, language=language)
        conversation = await self._store.create_conversation(
            customer.id, channel, language=language, external_id=sender_id, token_hash=token_hash
        )
        return conversation, returning

    async def conversation_for(self, inbound: InboundMessage) -> Conversation:
        if inbound.conversation_id:
            return await self._store.get_conversation(inbound.conversation_id)
        customer, _ = await self._store.customer_for_identity(inbound.channel, inbound.sender_id)
        existing = await self._store.open_conversation_for(customer.id, inbound.channel, inbound.idle_close_s)
        if existing is not None:
            return existing
        return await self._store.create_conversation(customer.id, inbound.channel, external_id=inbound.sender_id)

    async def receive(self, inbound: InboundMessage) -> list[Message]:
        """Records the customer's message; returns what the bot answered in this turn (none while a human owns it)."""
        started = time.perf_counter()
        conversation = await self.conversation_for(inbound)
        outcome = "failed"
        replies: list[Message] = []
        # Every send takes its turn per conversation in this process, whatever the channel, in arrival order
        # (asyncio's Lock is fair): the bot answers a conversation's messages one at a time and in the order sent,
        # and a retry that arrives while its first send is still being answered waits for that answer instead of
        # asking the bot a second time. Across front doors, Rasa's lock store keeps one conversation's turns apart.
        turns = self._turn_locks.setdefault(conversation.id, asyncio.Lock())
        # Every log line of this turn, here and in the actions Rasa calls back, carries the conversation id.
        with bind_turn(conversation_id=conversation.id):
            try:
                async with turns:
                    outcome, replies = await self._turn(conversation, inbound)
            finally:
                seconds = time.perf_counter() - started
                self._observer.turn_finished(conversation.channel, outcome, seconds)
                log.info(
                    "turn",
                    extra={
                        "channel": conversation.channel,
                        "outcome": outcome,
                        "replies": len(replies),
                        "duration_ms": round(seconds * 1000, 1),
                    },
                )
        return replies

    async def _turn(self, conversation: Conversation, inbound: InboundMessage) -> tuple[str, list[Message]]:
        """(outcome, replies): the outcome is `bot` (Rasa answered), `handoff`, `intercepted` (an answer to the
        satisfaction survey), `human` (an agent owns the conversation: the bot is silent), `bot_error` or `duplicate`
        (a retry of a message already stored and answered: the first answer again, see `_replay`)."""
        payload = inbound.payload
        if not inbound.trusted_payload:
            payload = await self._accepted_payload(conversation.id, payload)
        if payload is None and conversation.channel in NUMBERED_BUTTON_CHANNELS:
            payload = await self._numbered_choice(conversation.id, inbound.text)
        custom: dict[str, Any] = {}
        if payload:
            custom["payload"] = payload
        if inbound.attachments:
            custom["attachments"] = list(inbound.attachments)
        if inbound.kind != "text":
            custom["kind"] = inbound.kind
        draft = MessageDraft(
            Sender.CUSTOMER,
            inbound.text,
            sender_id=conversation.customer_id,
            custom=custom,
            client_message_id=inbound.message_id or "",
        )
        if draft.client_message_id:
            stored, fresh = await self._store.append_once(conversation.id, draft)
            if not fresh:
                return await self._replay(conversation, inbound, stored)
            recorded = [stored]
        else:
            recorded = await self._store.append(conversation.id, [draft])
        await self._publish(recorded)
        if self._recorder is not None:
            self._recorder.emit(
                ServiceEvent(
                    kind=ServiceEventKind.CUSTOMER_MESSAGE,
                    at=recorded[0].created_at,
                    actor=CUSTOMER,
                    conversation_id=conversation.id,
                    customer_id=conversation.customer_id,
                    channel=conversation.channel,
                    language=conversation.language,
                    data={"button": bool(payload), "kind": inbound.kind},
                )
            )
        return await self._answer(conversation, inbound, recorded[-1], payload)

    async def _answer(
        self, conversation: Conversation, inbound: InboundMessage, stored: Message, payload: str | None
    ) -> tuple[str, list[Message]]:
        """Everything after the customer's message (`stored`) is stored: the survey, the ticket clocks, the owner (who
        gets `stored` in their inbox), the bot."""
        if self._surveys is not None:
            answered = await self._surveys.answer(conversation, inbound.text, payload)
            if answered is not None:
                return "intercepted", await self._record(conversation, answered)
        await self._customer_message_hook(conversation.id, inbound.text)
        if not await self._gate.bot_answers(conversation.id, stored):
            return "human", []
        async with self._typing_while_slow(conversation.id):
            return await self._bot_turn(conversation, inbound, payload)

    @asynccontextmanager
    async def _typing_while_slow(self, conversation_id: str) -> AsyncIterator[None]:
        """The bot shows as typing ("one moment") once the body has run `typing_after_s`, and stops when it ends: a
        customer whose turn waits behind a peak sees that it is coming. A quick turn publishes nothing."""
        if self._typing_after_s is None:
            yield
            return
        shown = False

        async def show() -> None:
            nonlocal shown
            await asyncio.sleep(self._typing_after_s or 0.0)
            shown = True
            try:
                await self.publish_typing(conversation_id, "bot")
            except Exception:
                log.exception("showing the bot typing in %s failed", conversation_id)

        timer = asyncio.create_task(show())
        try:
            yield
        finally:
            await cancel_and_wait(timer)
            if shown:
                await self.publish_typing(conversation_id, "bot", typing=False)

    async def _replay(
        self, conversation: Conversation, inbound: InboundMessage, stored: Message
    ) -> tuple[str, list[Message]]:
        """A retried send whose message is already stored (same client message id): nothing is stored again. The
        answer is what followed the message in the transcript (up to the customer's next one), as the first send
        got it; with nothing after it, the turn never ran (the process died between the store and the reply, or it
        is still running elsewhere), so it runs now, for the stored message."""
        later = await self._store.history(conversation.id, after_seq=stored.seq, limit=REPLAY_LOOKAHEAD_MESSAGES)
        if later:
            replies = list(itertools.takewhile(lambda m: m.sender is not Sender.CUSTOMER, later))
            return "duplicate", [m for m in replies if m.sender in CUSTOMER_VISIBLE]
        log.info("a retried message was stored but never answered; answering it now")
        payload = stored.custom.get("payload")
        return await self._answer(conversation, inbound, stored, payload if isinstance(payload, str) else None)

    async def _customer_message_hook(self, conversation_id: str, text: str) -> None:
        if self._on_customer_message is None:
            return
        try:
            await self._on_customer_message(conversation_id, text)
        except Exception:
            # The customer's turn goes on; the ticket's clock is the loss, and the log says so.
            log.exception("the customer-message hook failed")

    async def customers_present(self, conversation_ids: Sequence[str]) -> None:
        await self._gate.customers_present(conversation_ids)

    @property
    def presence_interval_s(self) -> float:
        return self._gate.presence_interval_s

    async def customer_left(self, conversation_id: str) -> bool:
        """The customer closed the chat (the widget's "start a new conversation", or the close API)."""
        return await self._gate.customer_left(conversation_id)

    async def post_from_agent(self, conversation_id: str, agent_id: str, text: str) -> Message:
        conversation = await self._store.get_conversation(conversation_id)
        (message,) = await self._record(conversation, [MessageDraft(Sender.AGENT, text, sender_id=agent_id)])
        await self.deliver(conversation, [message])
        return message

    async def post_notice(
        self, conversation_id: str, drafts: Sequence[MessageDraft], *, deliver: bool = True
    ) -> list[Message]:
        """Records system notices or bot messages created outside a customer's request and delivers them (unless
        `deliver` is False: the caller delivers, as `bot.deliveries` does to try more than one route).

        Raises UnknownConversation."""
        conversation = await self._store.get_conversation(conversation_id)
        messages = await self._record(conversation, drafts)
        if deliver:
            await self.deliver(conversation, messages)
        return messages

    async def deliver(self, conversation: Conversation, messages: Sequence[Message]) -> None:
        visible = [m for m in messages if m.sender in CUSTOMER_VISIBLE and m.sender is not Sender.CUSTOMER]
        adapter = self._adapters.get(conversation.channel)
        if adapter is None or not visible:
            return
        try:
            await adapter.deliver(conversation, visible)
        except Exception:
            # The transcript already holds the messages; the agent sees delivery failures in the console.
            log.exception("delivery to %s failed for %s", conversation.channel, conversation.id)
            await self.delivery_failed(conversation, visible)

    async def delivery_failed(self, conversation: Conversation, messages: Sequence[Message]) -> None:
        """Records that `messages` never reached the customer: an event line the agent's console shows."""
        self._observer.delivery_failed(conversation.channel)
        await self._record(
            conversation, [MessageDraft(Sender.EVENT, custom={"delivery_failed": [m.id for m in messages]})]
        )

    async def publish_typing(self, conversation_id: str, who: str, typing: bool = True) -> None:
        await self._bus.publish(conversation_topic(conversation_id), {"type": "typing", "who": who, "on": typing})

    async def _bot_turn(
        self, conversation: Conversation, inbound: InboundMessage, payload: str | None
    ) -> tuple[str, list[Message]]:
        language = detect_language(inbound.text, default=conversation.language or "en") if inbound.text else ""
        language = language or conversation.language or "en"
        if language != conversation.language:
            await self._store.set_language(conversation.id, language)
        metadata = {
            "lang": language,
            "channel": conversation.channel,
            "customer_id": conversation.customer_id,
            **{k: v for k, v in inbound.metadata.items() if k not in {"lang", "customer_id"}},
        }
        # Typed text never reaches Rasa as an intent shortcut; only payloads of buttons we offered do, and a plain
        # request for a person, which the NLU's one intent per message would lose beside a problem ("my kettle is
        # broken, I want a human" started the issue form): it is always honoured.
        text = payload or inbound.text.lstrip("/") or inbound.text
        if not payload and asks_for_a_person(inbound.text):
            text = HUMAN_REQUEST_PAYLOAD
        started = time.perf_counter()
        try:
            replies = await self._rasa.turn(conversation.id, text, metadata)
        except BotUnavailable as exc:
            rasa_s = time.perf_counter() - started
            self._observer.rasa_called(False, rasa_s)
            log.warning("bot failed for %s: %s", conversation.id, exc, extra={"error": str(exc)})
            self._record_turn(
                conversation, language, "bot_error", turn_facts([]) | {"handoff_reason": "bot_error"}, rasa_s
            )
            messages = await self._escalate(conversation, {"reason": "bot_error", "scores": {}, "detail": str(exc)})
            return "bot_error", [m for m in messages if m.sender in CUSTOMER_VISIBLE]
        rasa_s = time.perf_counter() - started
        self._observer.rasa_called(True, rasa_s)
        drafts, handoffs = interpret_replies(replies)
        outcome = "handoff" if handoffs else "bot"
        answered_at = time.time()
        messages = await self._record(conversation, drafts)
        if self._recorder is not None:
            facts = turn_facts(replies)
            # The transcript line of the decision, so an agent's label on it (`kb_label`) finds this turn.
            kb_lines = [m.seq for m in messages if m.sender is Sender.EVENT and isinstance(m.custom.get("kb"), dict)]
            facts["kb_seq"] = kb_lines[-1] if kb_lines else None
            self._record_turn(conversation, language, outcome, facts, rasa_s, at=answered_at)
        for request in handoffs:
            messages += await self._escalate(conversation, request)
        return outcome, [m for m in messages if m.sender in CUSTOMER_VISIBLE]

    def _record_turn(
        self,
        conversation: Conversation,
        language: str,
        outcome: str,
        facts: dict[str, Any],
        rasa_s: float,
        *,
        at: float | None = None,
    ) -> None:
        if self._recorder is None:
            return
        self._recorder.emit(
            ServiceEvent(
                kind=ServiceEventKind.BOT_TURN,
                at=time.time() if at is None else at,
                actor=BOT,
                conversation_id=conversation.id,
                customer_id=conversation.customer_id,
                channel=conversation.channel,
                language=language,
                category=facts.pop("category", None),
                data={"outcome": outcome, **facts, "rasa_ms": round(rasa_s * 1000, 1)},
            )
        )

    async def _escalate(self, conversation: Conversation, request: dict[str, Any]) -> list[Message]:
        reason = str(request.get("reason") or "")
        self._observer.handoff_requested(reason)
        log.info("handoff requested", extra={"reason": reason, "category": str(request.get("category") or "")})
        drafts = [MessageDraft(Sender.EVENT, custom={"handoff": request})]
        drafts += await self._gate.escalate(conversation, request)
        return await self._record(conversation, drafts)

    async def _record(self, conversation: Conversation, drafts: Sequence[MessageDraft]) -> list[Message]:
        messages = await self._store.append(conversation.id, drafts)
        await self._publish(messages)
        return messages

    async def _publish(self, messages: Sequence[Message]) -> None:
        for message in messages:
            await self._bus.publish(
                conversation_topic(message.conversation_id), {"type": "message", "message": message.to_dict()}
            )

    async def _accepted_payload(self, conversation_id: str, payload: str | None) -> str | None:
        if not payload:
            return None
        recent = await self._store.recent(conversation_id, PAYLOAD_LOOKBACK_MESSAGES)
        offered = {b.payload for m in recent for b in m.buttons}
        if payload in offered:
            return payload
        log.info("ignored a payload that was not offered in %s", conversation_id)
        return None

    async def _numbered_choice(self, conversation_id: str, text: str) -> str | None:
        """The payload of the Nth button of the latest bot message, when the customer typed just N."""
        # isdecimal, not isdigit: "²" is a digit int() refuses; every decimal digit ("３", "٣") parses.
        if not text.strip().isdecimal():
            return None
        for message in reversed(await self._store.recent(conversation_id, PAYLOAD_LOOKBACK_MESSAGES)):
            if message.sender is Sender.BOT and message.buttons:
                index = int(text.strip()) - 1
                return message.buttons[index].payload if 0 <= index < len(message.buttons) else None
            if message.sender is Sender.CUSTOMER:
                return None
        return None


def interpret_replies(replies: Sequence[RasaReply]) -> tuple[list[MessageDraft], list[dict[str, Any]]]:
    """Turns Rasa's replies into transcript drafts; custom payloads become events, handoff signals are returned."""
    drafts: list[MessageDraft] = []
    handoffs: list[dict[str, Any]] = []
    for reply in replies:
        custom = reply.get("custom")
        if isinstance(custom, dict):
            if isinstance(custom.get("handoff"), dict):
                handoffs.append(custom["handoff"])
            elif custom.keys() != {"nlu"}:  # the classification alone is a fact of the turn (`turn_facts`), no line
                drafts.append(MessageDraft(Sender.EVENT, custom=custom))
        text = reply.get("text")
        buttons = tuple(
            Button(str(b.get("title", "")), str(b.get("payload", "")))
            for b in reply.get("buttons") or ()
            if isinstance(b, dict)
        )
        if isinstance(text, str) and (text or buttons):
            drafts.append(MessageDraft(Sender.BOT, text, buttons=buttons))
        elif reply.get("image"):
            drafts.append(MessageDraft(Sender.BOT, "", custom={"image": str(reply["image"])}))
    return drafts, handoffs


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def turn_facts(replies: Sequence[RasaReply]) -> dict[str, Any]:
    """What one turn's replies say for the service record's `bot_turn`: the intent and its confidence (the `nlu`
    beside the `kb` payload, else the handoff's), the knowledge base's last decision with its best entry, its
    confidence and the runner-up's (the `kb` payload), and the first handoff's reason and category. `kb_query` is
    the text the knowledge base was asked (the customer's words, as in the transcript), for reports on what it could
    not answer. Values missing from the replies are None; malformed ones are skipped."""
    facts: dict[str, Any] = {
        "intent": None,
        "intent_confidence": None,
        "kb_decision": None,
        "kb_entry": None,
        "kb_confidence": None,
        "kb_reason": None,
        "kb_query": None,
        "kb_runner_up": None,
        "handoff_reason": None,
    }
    for reply in replies:
        custom = reply.get("custom")
        if not isinstance(custom, dict):
            continue
        nlu, kb, handoff = custom.get("nlu"), custom.get("kb"), custom.get("handoff")
        if isinstance(nlu, dict):
            facts["intent"] = str(nlu.get("intent") or "") or None
            facts["intent_confidence"] = _number(nlu.get("confidence"))
        if isinstance(kb, dict):
            candidates = kb.get("candidates")
            best = candidates[0] if isinstance(candidates, list) and candidates else None
            facts["kb_decision"] = str(kb.get("decision") or "") or None
            facts["kb_confidence"] = _number(kb.get("confidence"))
            facts["kb_reason"] = str(kb.get("reason") or "") or None
            facts["kb_query"] = str(kb.get("query") or "") or None
            facts["kb_entry"] = str(best.get("entry_id") or "") or None if isinstance(best, dict) else None
            runner_up = candidates[1] if isinstance(candidates, list) and len(candidates) > 1 else None
            facts["kb_runner_up"] = _number(runner_up.get("confidence")) if isinstance(runner_up, dict) else None
        if isinstance(handoff, dict) and facts["handoff_reason"] is None:
            facts["handoff_reason"] = str(handoff.get("reason") or "") or None
            facts["category"] = str(handoff.get("category") or "") or None
            if facts["intent"] is None:
                facts["intent"] = str(handoff.get("intent") or "") or None
            if facts["intent_confidence"] is None and isinstance(handoff.get("scores"), dict):
                facts["intent_confidence"] = _number(handoff["scores"].get("intent_confidence"))
    return facts
