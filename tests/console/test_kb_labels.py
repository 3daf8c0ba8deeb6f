"""Agents label the bot's KB decisions in the console; editors read the calibration report and apply its thresholds.

Over the real app (memory and Redis): the label is a `kb_label` fact of the service record, shown again on the case
card; its edges answer 400 / 403 / 404; the editor's report counts it, applying thresholds is a setting annotation
on the analytics charts, and only editors may apply, from the page's own origin."""

from __future__ import annotations

import datetime as dt
from typing import Any

from analytics.annotations import in_range
from analytics.query import ReportQuery
from bot.keys import DATABASE, KB, RECORD, SERVICE_RECORD
from record import EventQuery, ServiceEventKind
from staff.auth import Role
from tests.console.conftest import Running, Staff


async def handed_off(running: Running) -> tuple[Staff, str, int]:
    """Ann, online, owns a conversation whose KB decision (not found) is on transcript line `seq`."""
    customer = await running.customer("en")
    ann = await running.staff("ann")
    await ann.call("POST", "/presence", {"presence": "online"})
    await customer.say("human please")
    status, card = await ann.call("GET", f"/conversations/{customer.conversation_id}")
    assert status == 200 and card["kb_labels"] == {}
    (line,) = [m for m in card["transcript"] if m["sender"] == "event" and "kb" in m["custom"]]
    return ann, customer.conversation_id, line["seq"]


async def test_an_agent_labels_a_kb_decision_and_the_card_shows_the_last_label(running: Running) -> None:
    ann, cid, seq = await handed_off(running)
    base = f"/conversations/{cid}"
    assert await ann.call("POST", f"{base}/kb-labels", {"seq": seq, "label": "wrong"}) == (
        200,
        {"seq": seq, "label": "wrong"},
    )
    assert (await ann.call("POST", f"{base}/kb-labels", {"seq": seq, "label": "handoff"}))[0] == 200
    assert (await ann.call("GET", base))[1]["kb_labels"] == {str(seq): "handoff"}
    labels = await running.app[SERVICE_RECORD].read(EventQuery(conversation_id=cid, kinds=[ServiceEventKind.KB_LABEL]))
    assert [(e.actor, e.agent, e.data["label"], e.data["kb_decision"]) for e in labels] == [
        ("agent:ann", "ann", "wrong", "not_found"),
        ("agent:ann", "ann", "handoff", "not_found"),
    ]


async def test_bad_labels_are_refused_with_a_code(running: Running) -> None:
    ann, cid, seq = await handed_off(running)
    base = f"/conversations/{cid}/kb-labels"
    for body, code in (
        ({"seq": seq, "label": "maybe"}, "bad_label"),
        ({"seq": seq}, "bad_label"),
        ({"seq": "3", "label": "right"}, "bad_seq"),
        ({"seq": True, "label": "right"}, "bad_seq"),
        ({"seq": 0, "label": "right"}, "bad_seq"),
    ):
        status, answer = await ann.call("POST", base, body)
        assert (status, answer["error"]["code"]) == (400, code), body
    assert (await ann.call("POST", base, {"seq": 1, "label": "right"}))[0] == 404  # the customer's line
    assert (await ann.call("POST", base, {"seq": 999, "label": "right"}))[0] == 404
    assert (await ann.call("POST", "/conversations/conv_unknown/kb-labels", {"seq": 1, "label": "right"}))[0] == 404
    bob = await running.staff("bob")
    assert (await bob.call("POST", base, {"seq": seq, "label": "right"}))[0] == 403  # not his case
    eve = await running.staff("eve", Role.EDITOR)
    assert (await eve.call("POST", base, {"seq": seq, "label": "right"}))[0] == 403  # not an agent
    async with ann.session.post(
        f"/api/v1/console{base}", json={"seq": seq, "label": "right"}, headers={"Origin": "https://evil.example"}
    ) as response:
        assert response.status == 403


async def editor_call(editor: Staff, method: str, path: str, body: Any = None, **headers: str) -> tuple[int, Any]:
    async with editor.session.request(method, f"/api/v1/kb{path}", json=body, headers=headers) as response:
        return response.status, await response.json()


async def test_the_editor_reads_the_report_applies_thresholds_and_the_charts_show_it(running: Running) -> None:
    ann, cid, seq = await handed_off(running)
    await ann.call("POST", f"/conversations/{cid}/kb-labels", {"seq": seq, "label": "handoff"})
    await running.app[RECORD].flush()  # the bot turn went through the buffered writer
    await running.app[KB].wait_ready()
    eve = await running.staff("eve", Role.EDITOR)

    status, report = await editor_call(eve, "GET", "/calibration?language=en")
    assert status == 200, report
    assert (report["language"], report["decisions"], report["labelled"], report["labelled_wrong"]) == ("en", 1, 1, 1)
    assert report["by_evidence"] == {"agent": 1, "feedback": 0, "handoff": 0}
    assert (report["refusal"], report["proposal"], report["days"]) == ("too_few_labels", None, 30)
    assert report["current"]["not_found"] == 1.0 and report["current"]["answered_wrongly"] == 0.0

    status, applied = await editor_call(eve, "POST", "/calibration/en/apply", {"answer": 0.97, "clarify": 0.8})
    assert status == 200, applied
    assert (applied["after"]["answer"], applied["after"]["clarify"], applied["after"]["source"]) == (
        0.97,
        0.8,
        "record",
    )
    assert applied["annotation"]["kind"] == "setting" and "answer" in applied["annotation"]["label"]
    assert (await running.app[KB].overrides.all())["en"].answer == 0.97  # served: tests/kb/test_calibration_report
    day = dt.date.fromisoformat(applied["annotation"]["day"])
    notes = await in_range(running.app[DATABASE], ReportQuery(start=day, end=day, tz="Asia/Shanghai"))
    assert [(n["kind"], n["label"]) for n in notes] == [("setting", applied["annotation"]["label"])]

    assert (await editor_call(eve, "POST", "/calibration/en/reset"))[0] == 200
    assert (await editor_call(eve, "POST", "/calibration/en/reset"))[0] == 404
    assert await running.app[KB].overrides.all() == {}


async def test_only_an_editor_applies_thresholds_and_bad_ones_are_refused(running: Running) -> None:
    eve = await running.staff("eve", Role.EDITOR)
    ann = await running.staff("ann")
    assert (await editor_call(ann, "GET", "/calibration?language=en"))[0] == 403
    assert (await editor_call(ann, "POST", "/calibration/en/apply", {"answer": 0.9, "clarify": 0.5}))[0] == 403
    for body in ({"answer": 0.5, "clarify": 0.9}, {"answer": "high", "clarify": 0.1}, {"answer": 2, "clarify": 0.1}):
        status, answer = await editor_call(eve, "POST", "/calibration/en/apply", body)
        assert (status, answer["error"]["code"]) == (400, "bad_thresholds"), body
    assert (await editor_call(eve, "GET", "/calibration?language=fr"))[1]["error"]["code"] == "bad_language"
    assert (await editor_call(eve, "POST", "/calibration/fr/apply", {"answer": 0.9, "clarify": 0.5}))[0] == 400
    status, _ = await editor_call(
        eve, "POST", "/calibration/en/apply", {"answer": 0.9, "clarify": 0.5}, Origin="https://evil.example"
    )
    assert status == 403
