"""The follow-up after resolution (回访) in the running front door: who asks, on which channel, within which window,
and what the customer's answers do to the ticket.

`follow_up_context` builds the `FollowUpScheduler` (`intake.follow_ups`: the due-time table and its exactly-once
pass), registers it on the ticket store, runs its pass every `FD_FOLLOW_UP_CHECK_S` seconds, and gives the survey
dialogue its outcomes. The question and its one reminder go out through the `CustomerMessenger` on the ticket's
chat, inside the channel's window (WeChat: 48 hours after the customer's last message). The answers come back
through the pipeline to `bot.surveys`; `TicketOutcomes` records them on the ticket's timeline, reopens the ticket
on "not solved", and turns a score of 1–2 into a supervisor's follow-up task (a timeline event and a staff alert).

Must never decide when a step is due (the scheduler does) or read an answer (the dialogue does).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from aiohttp import web

from alerts import SUPERVISORS, AlertKind, AlertStore
from backends.locks import leader_lock
from backends.periodic import PeriodicJob
from bot.channels.wechat.constants import SERVICE_WINDOW_S
from bot.deliveries import CustomerMessenger, CustomerNotice
from bot.keys import CONVERSATIONS, DATABASE, FOLLOW_UPS, MESSENGER, REDIS, SETTINGS, TICKETS
from bot.surveys import SURVEY_DIALOGUE, Answer, SurveyDialogue
from bot.ticket_notices import status_name
from conversations.exceptions import UnknownConversation
from conversations.store import ConversationStore, MessageDraft
from conversations.surveys import Survey
from i18n import N_
from intake.follow_ups import FollowUpScheduler
from intake.models import EventKind, Ticket, TicketStatus
from intake.tickets import TicketStore

log = logging.getLogger(__name__)

# Scores at or below this make the follow-up a supervisor's task.
LOW_SCORE = 2
# The staff alert's kind (alerts.AlertKind names the SLA ones, each with its titles per clock; this one is not).
LOW_SCORE_TITLE = N_("Ticket {number}: the customer scored our help {score} of 5 in the follow-up; please follow up")
NOT_SOLVED_TITLE = N_("Ticket {number} is closed, but the customer says the problem is not solved; please follow up")
# Channels whose free-form messages stop some time after the customer's last message, and how long after.
CHANNEL_WINDOWS_S: Mapping[str, float] = {"wechat": float(SERVICE_WINDOW_S)}


class ChatWindows:
    """`ChannelWindow` over the transcript: WeChat's window closes 48 hours after the customer's last message in the
    ticket's chat or in their thread open now, whichever is later; web chats have none."""

    def __init__(self, store: ConversationStore) -> None:
        self._store = store

    async def closes_at(self, conversation_id: str) -> float | None:
        try:
            conversation = await self._store.get_conversation(conversation_id)
        except UnknownConversation:
            return None
        window_s = CHANNEL_WINDOWS_S.get(conversation.channel)
        if window_s is None:
            return None
        times = [await self._store.last_customer_message_at(conversation_id)]
        current = await self._store.open_conversation_for(conversation.customer_id, conversation.channel)
        if current is not None and current.id != conversation_id:
            times.append(await self._store.last_customer_message_at(current.id))
        last = max((t for t in times if t is not None), default=conversation.created_at)
        return last + window_s


class FollowUpMessenger:
    """`FollowUpSender`: the question and the reminder, posted in the ticket's chat and delivered on its channel."""

    def __init__(
        self, dialogue: SurveyDialogue, store: ConversationStore, messenger: Callable[[], CustomerMessenger]
    ) -> None:
        self._dialogue = dialogue
        self._store = store
        self._messenger = messenger

    async def ask(self, ticket: Ticket, conversation_id: str) -> str | None:
        try:
            conversation = await self._store.get_conversation(conversation_id)
        except UnknownConversation:
            return None
        language = ticket.language or conversation.language or "en"
        survey, draft = await self._dialogue.ask_follow_up(conversation, ticket.number, language)
        await self._send(ticket, conversation_id, draft, "follow_up", language)
        return survey.id

    async def remind(self, ticket: Ticket, conversation_id: str, survey_id: str) -> bool:
        language = ticket.language or "en"
        draft = await self._dialogue.reminder(survey_id, language)
        if draft is None:
            return False
        await self._send(ticket, conversation_id, draft, "follow_up_reminder", language)
        return True

    async def _send(
        self, ticket: Ticket, conversation_id: str, draft: MessageDraft, purpose: str, language: str
    ) -> None:
        notice = CustomerNotice(
            ticket,
            [draft],
            purpose,
            status_name(TicketStatus.RESOLVED, language),
            conversation_id=conversation_id,
            by_email=False,  # answers come back in the chat: the question goes there only
        )
        await self._messenger().send(notice)


class TicketOutcomes:
    """`SurveyOutcomes` for a ticket's follow-up: the timeline records each answer; "not solved" reopens the
    ticket; a score of 1–2 is a supervisor's follow-up task, on the timeline and as a staff alert."""

    def __init__(self, tickets: TicketStore, alerts: AlertStore | None = None) -> None:
        self._tickets = tickets
        self._alerts = alerts

    async def answered(self, survey: Survey, answer: Answer) -> None:
        number = survey.ticket
        if number is None:
            return  # a live chat's survey: nothing to do to a ticket
        data: dict[str, Any] = {"survey": survey.id}
        if answer.kind == "solved":
            data["answer"] = "solved" if answer.solved else "not_solved"
            await self._tickets.record_event(number, EventKind.FOLLOW_UP, data, actor="customer")
            if not answer.solved:
                await self._reopen(number, survey)
        elif answer.kind == "rate" and survey.score is not None:
            data |= {"answer": "rated", "score": survey.score}
            await self._tickets.record_event(number, EventKind.FOLLOW_UP, data, actor="customer")
            if survey.score <= LOW_SCORE:
                await self._task(number, survey, "low_score", LOW_SCORE_TITLE, {"score": survey.score})
        elif answer.kind == "comment":
            data["answer"] = "comment"
            await self._tickets.record_event(number, EventKind.FOLLOW_UP, data, body=answer.text, actor="customer")

    async def _reopen(self, number: str, survey: Survey) -> None:
        """On "not solved" a resolved ticket reopens (the customer's doing); a closed one cannot, so a supervisor
        follows up."""
        reopened = await self._tickets.transition(
            number,
            TicketStatus.OPEN,
            actor="customer",
            note="follow-up: not solved",
            expected_from=TicketStatus.RESOLVED,
        )
        if reopened is not None:
            return
        ticket = await self._tickets.get_for_staff(number)
        if ticket is not None and ticket.status is TicketStatus.CLOSED:
            await self._task(number, survey, "not_solved", NOT_SOLVED_TITLE, {})

    async def _task(self, number: str, survey: Survey, reason: str, title: str, params: dict[str, Any]) -> None:
        """A supervisor's follow-up task: a timeline event and a staff alert, once per survey and reason (a customer
        changing a low score to another does not make a second one)."""
        timeline = await self._tickets.timeline(number)
        if any(
            e.kind is EventKind.FOLLOW_UP_TASK and e.data.get("survey") == survey.id and e.data.get("reason") == reason
            for e in timeline
        ):
            return
        data = {"survey": survey.id, "reason": reason, "for": SUPERVISORS, **params}
        await self._tickets.record_event(number, EventKind.FOLLOW_UP_TASK, data)
        if self._alerts is None:
            return
        try:
            await self._alerts.add(
                [SUPERVISORS],
                AlertKind.FOLLOW_UP_TASK,
                title,
                {"number": number, **params},
                f"/console/tickets/{number}",
            )
        except Exception:
            # The task is on the timeline; only the alert is lost.
            log.exception("follow-up alert for %s failed", number)


async def follow_up_context(app: web.Application) -> AsyncIterator[None]:
    """After the messenger (`tell_customers`) and the survey dialogue: schedules follow-ups and runs their pass."""
    config = app[SETTINGS].follow_up
    tickets = app[TICKETS]
    dialogue = app[SURVEY_DIALOGUE]

    def messenger() -> CustomerMessenger:
        return app[MESSENGER]

    scheduler = FollowUpScheduler(
        app[DATABASE],
        tickets,
        FollowUpMessenger(dialogue, app[CONVERSATIONS], messenger),
        ChatWindows(app[CONVERSATIONS]),
        delay_s=config.delay_s,
        reminder_s=config.reminder_s,
    )
    app[FOLLOW_UPS] = scheduler
    dialogue.outcomes = TicketOutcomes(tickets, AlertStore(app[DATABASE]))
    if not config.enabled:
        yield
        return
    tickets.add_listener(scheduler.on_ticket_event)
    # Every replica runs the loop, one at a time does a pass (each step is claimed once anyway: the lock saves work).
    lock = leader_lock(FOLLOW_UP_LOCK, db=app[DATABASE], redis=app.get(REDIS))
    job = PeriodicJob("follow-ups", scheduler.run_pass, interval_s=config.check_s, lock=lock)
    async with job.running():
        yield
    tickets.remove_listener(scheduler.on_ticket_event)


# The leader lock's name: the Redis key `fd:lock:follow-ups`, or the advisory key of "<schema>/follow-ups".
FOLLOW_UP_LOCK = "follow-ups"

__all__ = ["LOW_SCORE", "ChatWindows", "FollowUpMessenger", "TicketOutcomes", "follow_up_context"]
