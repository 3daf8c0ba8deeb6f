"""What the service record says about the knowledge base's decisions: each decision with the best evidence of
whether its best entry was right.

Owns `Verdict` (an agent's label), `Evidence` (where a decision's verdict came from), `RecordedDecision` and
`decisions_with_evidence(events)`, a pure fold of `record.ServiceEvent`s (`bot_turn`, `kb_feedback`, `kb_label`,
`handoff_requested`) in the record's order. Evidence, strongest first: an agent's label in the console (`kb_label`:
right / wrong / should have handed off), the customer's "was this helpful?" (`kb_feedback`), a handoff requested
soon after an answer (within `handoff_window_s`, before the bot decided anything else in that conversation: a weak
sign the answer did not help), else none. `read_decisions` reads those facts from a `record.ServiceRecord`; the fold
itself never reads storage or the clock. `label_event` makes an agent's `kb_label`; `labels_in` reads one
conversation's back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from kb.decision import Decision, Reason
from kb.settings import CalibrationSettings
from record import MAX_LIMIT, EventQuery, ServiceEvent, ServiceEventKind, ServiceRecord, agent_actor

K = ServiceEventKind
log = logging.getLogger(__name__)
# The facts a decision's evidence comes from.
EVIDENCE_KINDS = (K.BOT_TURN, K.KB_FEEDBACK, K.KB_LABEL, K.HANDOFF_REQUESTED)


class Verdict(StrEnum):
    """An agent's label on one KB decision in the console: was the bot's best entry the answer?"""

    RIGHT = "right"  # the best entry answers the question
    WRONG = "wrong"  # another entry would have, or none
    HANDOFF = "handoff"  # nothing in the KB answers it: the bot should have handed off


class Evidence(StrEnum):
    """Where a decision's verdict came from, strongest first."""

    AGENT = "agent"
    FEEDBACK = "feedback"
    HANDOFF = "handoff"
    NONE = "none"


_STRENGTH = {Evidence.AGENT: 3, Evidence.FEEDBACK: 2, Evidence.HANDOFF: 1, Evidence.NONE: 0}


@dataclass(frozen=True)
class RecordedDecision:
    """One KB decision of a bot turn: its best and runner-up confidence (0 when it had one candidate), and whether
    its best entry was right (None: no evidence) with where that came from."""

    conversation_id: str
    at: float
    language: str
    decision: Decision
    entry: str | None
    confidence: float
    runner_up: float
    seq: int | None = None  # the transcript line of its `kb` payload (agents label that line)
    right: bool | None = None
    evidence: Evidence = Evidence.NONE

    def judged(self, right: bool, evidence: Evidence) -> RecordedDecision:
        """This decision with `evidence`, unless it already has stronger (an equal one: the later counts)."""
        if _STRENGTH[evidence] < _STRENGTH[self.evidence]:
            return self
        return replace(self, right=right, evidence=evidence)


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def recorded_decision(event: ServiceEvent) -> RecordedDecision | None:
    """The KB decision a `bot_turn` fact carries, without evidence; None when the turn made none."""
    data = event.data
    confidence = _number(data.get("kb_confidence"))
    try:
        decision = Decision(str(data.get("kb_decision") or ""))
    except ValueError:
        return None
    if confidence is None or event.conversation_id is None:
        return None
    runner_up = _number(data.get("kb_runner_up"))
    if runner_up is None:
        # Turns recorded before the runner-up was kept: a close runner-up is all the reason code says.
        runner_up = confidence if data.get("kb_reason") == Reason.CLOSE_RUNNER_UP.value else 0.0
    seq = data.get("kb_seq")
    return RecordedDecision(
        conversation_id=event.conversation_id,
        at=event.at,
        language=event.language or "",
        decision=decision,
        entry=str(data.get("kb_entry") or "") or None,
        confidence=confidence,
        runner_up=runner_up,
        seq=seq if isinstance(seq, int) and not isinstance(seq, bool) else None,
    )


def decisions_with_evidence(events: Iterable[ServiceEvent], handoff_window_s: float) -> list[RecordedDecision]:
    """Every KB decision among `events` (oldest first, as the record reads), each with its strongest evidence.

    A `kb_label` names its decision by transcript line (`seq`); a `kb_feedback` goes to the conversation's latest
    answer of that entry before it (any latest answer when it names none); a non-duplicate `handoff_requested`
    within `handoff_window_s` seconds of the conversation's latest decision, when that was an answer, marks it
    wrong. Evidence about a decision outside `events` is dropped."""
    decisions: list[RecordedDecision] = []
    of_conversation: dict[str, list[int]] = {}  # conversation -> indexes of its decisions, oldest first
    by_line: dict[tuple[str, int], int] = {}
    for event in events:
        cid = event.conversation_id
        if cid is None:
            continue
        data = event.data
        if event.kind is K.BOT_TURN:
            decision = recorded_decision(event)
            if decision is None:
                continue
            of_conversation.setdefault(cid, []).append(len(decisions))
            if decision.seq is not None:
                by_line[(cid, decision.seq)] = len(decisions)
            decisions.append(decision)
        elif event.kind is K.KB_LABEL:
            seq = data.get("seq")
            index = by_line.get((cid, seq)) if isinstance(seq, int) else None
            try:
                verdict = Verdict(str(data.get("label")))
            except ValueError:
                continue
            if index is not None:
                decisions[index] = decisions[index].judged(verdict is Verdict.RIGHT, Evidence.AGENT)
        elif event.kind is K.KB_FEEDBACK:
            entry = str(data.get("kb_entry") or "") or None
            index = _latest_answer(decisions, of_conversation.get(cid, []), entry)
            if index is not None:
                decisions[index] = decisions[index].judged(bool(data.get("helpful")), Evidence.FEEDBACK)
        elif event.kind is K.HANDOFF_REQUESTED and not data.get("duplicate"):
            indexes = of_conversation.get(cid)
            if not indexes:
                continue
            index = indexes[-1]
            decision = decisions[index]
            if decision.decision is Decision.ANSWER and event.at - decision.at <= handoff_window_s:
                decisions[index] = decision.judged(False, Evidence.HANDOFF)
    return decisions


def label_event(
    conversation_id: str, seq: int, kb: Mapping[str, Any], verdict: Verdict, agent: str, at: float, language: str
) -> ServiceEvent:
    """The `kb_label` fact of agent `agent` judging the decision whose `kb` payload (`KBResult.to_dict()`) is line
    `seq` of the conversation's transcript."""
    candidates = kb.get("candidates")
    best = candidates[0] if isinstance(candidates, list) and candidates and isinstance(candidates[0], Mapping) else {}
    return ServiceEvent(
        kind=K.KB_LABEL,
        at=at,
        actor=agent_actor(agent),
        conversation_id=conversation_id,
        agent=agent,
        language=language or None,
        data={
            "seq": seq,
            "label": verdict.value,
            "kb_entry": str(best.get("entry_id") or "") or None,
            "kb_decision": str(kb.get("decision") or "") or None,
            "kb_confidence": _number(kb.get("confidence")),
        },
    )


async def labels_in(record: ServiceRecord, conversation_id: str) -> dict[int, str]:
    """Transcript line → the label agents gave its KB decision last, for one conversation."""
    events = await record.read(EventQuery(conversation_id=conversation_id, kinds=(K.KB_LABEL,)), limit=MAX_LIMIT)
    labels: dict[int, str] = {}
    for event in events:
        seq, verdict = event.data.get("seq"), event.data.get("label")
        if isinstance(seq, int) and isinstance(verdict, str):
            labels[seq] = verdict
    return labels


async def read_decisions(record: ServiceRecord, since: float, settings: CalibrationSettings) -> list[RecordedDecision]:
    """The KB decisions recorded since `since` (epoch seconds) with their evidence, every language; reads at most
    `settings.max_events` events (page by page, oldest first) and says so in the log when it stops there."""
    events: list[ServiceEvent] = []
    query = EventQuery(since=since, kinds=EVIDENCE_KINDS)
    while len(events) < settings.max_events:
        page = await record.read(query, limit=min(MAX_LIMIT, settings.max_events - len(events)))
        events.extend(page)
        if len(page) < MAX_LIMIT:
            break
        query = EventQuery(since=since, kinds=EVIDENCE_KINDS, after=(page[-1].at, page[-1].id))
    else:
        log.warning("calibration read the first %d record events only", settings.max_events)
    return decisions_with_evidence(events, settings.handoff_window_s)


def _latest_answer(decisions: list[RecordedDecision], indexes: list[int], entry: str | None) -> int | None:
    """The latest of `indexes` that is an answer of `entry` (of any entry when None)."""
    for index in reversed(indexes):
        decision = decisions[index]
        if decision.decision is Decision.ANSWER and (entry is None or decision.entry == entry):
            return index
    return None


__all__ = [
    "EVIDENCE_KINDS",
    "Evidence",
    "RecordedDecision",
    "Verdict",
    "decisions_with_evidence",
    "label_event",
    "labels_in",
    "read_decisions",
    "recorded_decision",
]
