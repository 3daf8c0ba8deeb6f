"""The calibration report: decisions joined with their evidence from the record, the four estimates at the thresholds
in force (hand-computed), the proposal, its refusal, and thresholds an editor applies (kept, served, reset)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from backends.sql import Database
from kb.abstention import Thresholds
from kb.calibration import decide, decide_many
from kb.decision import Decision
from kb.evidence import Evidence, RecordedDecision, decisions_with_evidence, read_decisions
from kb.exceptions import InvalidThresholds
from kb.overrides import ThresholdOverrides, checked_thresholds
from kb.proposal import ONE_SIDED_LABELS, TOO_FEW_LABELS, build_report, right_probability
from kb.settings import CalibrationSettings, RetrievalSettings
from kb.store import EntryDraft
from record import CUSTOMER, ServiceEvent, ServiceEventKind, SQLServiceRecord, agent_actor
from tests.kb.conftest import Factory

K = ServiceEventKind
RETRIEVAL = RetrievalSettings()


def turn(
    cid: str, at: float, decision: str, confidence: float, *, seq: int, entry: str = "e1", **data: Any
) -> ServiceEvent:
    return ServiceEvent(
        kind=K.BOT_TURN,
        at=at,
        actor="bot",
        conversation_id=cid,
        language="en",
        data={"kb_decision": decision, "kb_entry": entry, "kb_confidence": confidence, "kb_seq": seq, **data},
    )


def label(cid: str, at: float, seq: int, verdict: str) -> ServiceEvent:
    return ServiceEvent(
        kind=K.KB_LABEL, at=at, actor=agent_actor("ann"), conversation_id=cid, data={"seq": seq, "label": verdict}
    )


def feedback(cid: str, at: float, helpful: bool, entry: str = "e1") -> ServiceEvent:
    return ServiceEvent(
        kind=K.KB_FEEDBACK, at=at, actor=CUSTOMER, conversation_id=cid, data={"helpful": helpful, "kb_entry": entry}
    )


def handoff(cid: str, at: float, **data: Any) -> ServiceEvent:
    return ServiceEvent(kind=K.HANDOFF_REQUESTED, at=at, actor="bot", conversation_id=cid, data=data)


# -- evidence -----------------------------------------------------------------------------------------------------


def test_an_agents_label_beats_the_customers_feedback_which_beats_a_handoff() -> None:
    events = [
        turn("c1", 10, "answer", 0.9, seq=2),
        handoff("c1", 20, reason="customer_request"),
        feedback("c1", 15, True),
        label("c1", 30, 2, "handoff"),
        turn("c2", 10, "answer", 0.8, seq=2),
        handoff("c2", 20),
        feedback("c2", 25, True),
        turn("c3", 10, "answer", 0.7, seq=2),
        handoff("c3", 100),
    ]
    one, two, three = decisions_with_evidence(events, handoff_window_s=300)
    assert (one.right, one.evidence) == (False, Evidence.AGENT)
    assert (two.right, two.evidence) == (True, Evidence.FEEDBACK)  # feedback after the handoff still wins
    assert (three.right, three.evidence) == (False, Evidence.HANDOFF)


def test_evidence_finds_its_own_decision_and_nothing_else() -> None:
    events = [
        turn("c1", 10, "answer", 0.9, seq=2, entry="e1"),
        turn("c1", 20, "answer", 0.8, seq=5, entry="e2"),
        feedback("c1", 25, False, entry="e1"),  # the latest answer *of e1*
        label("c1", 26, 5, "right"),
        label("c1", 27, 9, "wrong"),  # a line that held no decision: dropped
        turn("c2", 10, "clarify", 0.5, seq=2),
        handoff("c2", 20),  # after a clarify question: no evidence about an answer
        turn("c3", 10, "answer", 0.9, seq=2),
        handoff("c3", 400),  # too late
        turn("c4", 10, "answer", 0.9, seq=2),
        handoff("c4", 20, duplicate=True),
        label("c4", 30, 2, "right"),
        label("c4", 40, 2, "wrong"),  # an agent who changed their mind: the later label counts
    ]
    c1e1, c1e2, c2, c3, c4 = decisions_with_evidence(events, handoff_window_s=300)
    assert (c1e1.right, c1e1.evidence, c1e2.right, c1e2.evidence) == (False, Evidence.FEEDBACK, True, Evidence.AGENT)
    assert (c2.right, c3.right) == (None, None)
    assert (c4.right, c4.evidence) == (False, Evidence.AGENT)


def test_a_turn_recorded_without_its_runner_up_reads_it_from_the_reason_code() -> None:
    events = [
        turn("c1", 1, "clarify", 0.9, seq=1, kb_reason="close_runner_up"),
        turn("c2", 1, "answer", 0.9, seq=1, kb_reason="confident"),
        turn("c3", 1, "answer", 0.9, seq=1, kb_runner_up=0.2),
        ServiceEvent(kind=K.BOT_TURN, at=1, actor="bot", conversation_id="c4", data={"kb_decision": None}),
    ]
    assert [d.runner_up for d in decisions_with_evidence(events, 300)] == [0.9, 0.0, 0.2]


def test_the_replayed_decision_is_the_live_one() -> None:
    rng = np.random.default_rng(3)
    best = rng.uniform(0, 1, 500)
    runner_up = best * rng.uniform(0, 1.05, 500)
    for answer, clarify in ((0.7, 0.3), (0.5, 0.5), (0.9, 0.1)):
        fast = decide_many(best, runner_up, RETRIEVAL, answer, clarify)
        thresholds = Thresholds(answer, clarify, "fixed")
        slow = [decide([b, r], RETRIEVAL, thresholds)[0].value for b, r in zip(best, runner_up, strict=True)]
        assert list(fast) == slow


# -- estimates ----------------------------------------------------------------------------------------------------


def test_the_chance_of_being_right_never_falls_as_confidence_rises() -> None:
    knots, values = right_probability([0.1, 0.2, 0.3, 0.4, 0.5, 0.6], [False, True, False, False, True, True])
    # Blocks: {0.1} 0, {0.2, 0.3, 0.4} 1/3, {0.5, 0.6} 1.
    assert list(knots) == [0.1, 0.2, 0.5]
    assert list(values) == pytest.approx([0.0, 1 / 3, 1.0])


def decision(confidence: float, right: bool | None, runner_up: float = 0.0) -> RecordedDecision:
    return RecordedDecision(
        conversation_id=f"c{confidence}",
        at=0.0,
        language="en",
        decision=Decision.ANSWER,
        entry="e1",
        confidence=confidence,
        runner_up=runner_up,
        right=right,
        evidence=Evidence.NONE if right is None else Evidence.AGENT,
    )


SMALL = CalibrationSettings(min_labelled=4, min_each=1)


def test_the_estimates_at_the_thresholds_in_force_by_hand() -> None:
    decisions = [
        decision(0.95, True),
        decision(0.92, None),  # unlabelled: read off the fit at 0.92 → the {0.90, 0.95} block, 1.0
        decision(0.90, True),
        decision(0.85, False),
        decision(0.85, None, runner_up=0.84),  # close runner-up: a clarify question at any answer threshold
        decision(0.60, False),
        decision(0.40, None),
        decision(0.10, None),
    ]
    report = build_report("en", decisions, Thresholds(0.8, 0.5, "kb"), RETRIEVAL, SMALL)
    now = report.current
    # Answered: 0.95, 0.92, 0.90, 0.85 (right 1 + 1 + 1 + 0 = 3 of 8; wrong 1 of 8); clarify: 0.85 (close), 0.60;
    # not found: 0.40, 0.10.
    assert (now.answered, now.answered_labelled) == (4, 3)
    assert (now.answered_correctly, now.answered_wrongly, now.clarified, now.not_found) == (0.375, 0.125, 0.25, 0.25)
    assert (report.decisions, report.labelled, report.labelled_right, report.labelled_wrong) == (8, 4, 2, 2)
    assert report.by_evidence == {"agent": 4, "feedback": 0, "handoff": 0}
    assert now.meets_target is False and report.target_wrong_rate == 0.10
    # The lowest labelled confidence whose wrong share is within 10 %: 0.90 (0.85 answers the wrong one).
    proposal = report.proposal
    assert proposal is not None and proposal.answer == 0.9
    assert (proposal.answered_correctly, proposal.answered_wrongly, proposal.meets_target) == (0.375, 0.0, True)
    assert proposal.clarify <= proposal.answer


def test_too_few_labels_or_labels_of_one_kind_give_no_proposal() -> None:
    few = [decision(0.9, True), decision(0.5, False), decision(0.7, None)]
    report = build_report("en", few, Thresholds(0.8, 0.5, "kb"), RETRIEVAL, CalibrationSettings(min_labelled=3))
    assert (report.refusal, report.proposal, report.min_labelled) == (TOO_FEW_LABELS, None, 3)
    assert report.current.answered_correctly is not None  # the estimate is still shown, with its two labels
    happy = [decision(0.5 + i / 100, True) for i in range(10)]
    report = build_report("en", happy, Thresholds(0.8, 0.5, "kb"), RETRIEVAL, CalibrationSettings(min_labelled=5))
    assert (report.refusal, report.proposal) == (ONE_SIDED_LABELS, None)
    # Every labelled decision has a close runner-up: nothing could be answered at any threshold, nothing wrongly.
    torn = [decision(0.5 + i / 100, i % 2 == 0, runner_up=0.5 + i / 100) for i in range(10)]
    report = build_report("en", torn, Thresholds(0.8, 0.5, "kb"), RETRIEVAL, CalibrationSettings(min_labelled=5))
    assert report.proposal is not None and report.proposal.answered == 0 and report.proposal.meets_target
    empty = build_report("en", [], Thresholds(0.8, 0.5, "kb"), RETRIEVAL, CalibrationSettings())
    assert (empty.current.answered_correctly, empty.current.clarified, empty.refusal) == (None, 0.0, TOO_FEW_LABELS)


async def test_decisions_are_read_from_the_record_page_by_page(database: Database) -> None:
    record = SQLServiceRecord(database)
    events = [turn(f"c{i}", 1000 + i, "answer", 0.9, seq=1) for i in range(25)]
    await record.append([*events, label("c3", 2000, 1, "wrong"), turn("old", 10, "answer", 0.9, seq=1)])
    decisions = await read_decisions(record, 500, CalibrationSettings(max_events=30))
    assert len(decisions) == 25
    assert [d.conversation_id for d in decisions if d.right is False] == ["c3"]


# -- applying thresholds ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "clarify"), [(1.5, 0.2), (0.5, 0.6), ("0.5", 0.2), (True, 0.1), (float("nan"), 0.1), (0.5, None)]
)
def test_a_pair_outside_the_rules_is_refused(answer: object, clarify: object) -> None:
    with pytest.raises(InvalidThresholds):
        checked_thresholds(answer, clarify)


RETURNS = EntryDraft(
    "How do I return an item?", "Open Orders and press Return.", "en", "returns", ("Can I send it back?",)
)


async def test_applied_thresholds_decide_now_survive_a_restart_and_reset_to_the_fit(
    make_service: Factory, database: Database
) -> None:
    service = make_service()
    await service.create(RETURNS, "ed", publish=True)
    fitted = (await service.thresholds())["en"]
    best = (await service.search("How do I return an item?", "en")).confidence
    assert (await service.search("How do I return an item?", "en")).decision is Decision.ANSWER

    assert best < 1.0
    before, after = await service.apply_thresholds("en", 1.0, 1.0, "ed", {"labelled": 40})
    assert before == fitted and after.source == "record"
    assert (await service.search("How do I return an item?", "en")).decision is Decision.NOT_FOUND
    assert (await ThresholdOverrides(database).all())["en"] == after

    restarted = make_service()  # a new process reads them from SQL
    assert (await restarted.thresholds())["en"] == after
    assert (await restarted.thresholds(fitted=True))["en"] == fitted
    assert (await restarted.search("How do I return an item?", "en")).decision is not Decision.ANSWER

    assert await restarted.reset_thresholds("en") == (after, fitted)
    assert await restarted.reset_thresholds("en") is None
    assert (await restarted.search("How do I return an item?", "en")).decision is Decision.ANSWER
    await service.check_version()  # the first process hears of it on its next check even without the bus
    assert (await service.thresholds())["en"] == fitted
    await restarted.apply_thresholds("en", 0.99, 0.5, "ed", {})
    assert await service.apply_event({"type": "kb_thresholds", "origin": restarted.instance_id})  # or at once by bus
    assert (await service.thresholds())["en"].answer == 0.99
