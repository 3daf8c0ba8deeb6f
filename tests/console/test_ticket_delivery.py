"""What a ticket's customer receives, on their own channel: public replies, status notices and one apology per SLA
breach — and never an internal note (web chat and WeChat through the fake customer-service API)."""

from __future__ import annotations

import asyncio
import time

from bot.keys import CONVERSATIONS, TICKETS
from intake.models import Priority, TicketDraft, TicketStatus
from intake.sla import SlaDeadlines
from intake.sla_watch import SlaWatcher
from tests.console.conftest import Running, WeChatHarness
from tests.wechat.wechat_fakes import OPENID

NOTE = "INTERNAL: customer is on the fraud watch list"
REPLY = "We are sending a replacement today."


async def ticket_for(running: Running, conversation_id: str, customer_id: str, language: str, **kw: object) -> str:
    draft = TicketDraft(customer_id, conversation_id, description="kettle leaks", language=language)
    ticket = await running.app[TICKETS].create(draft, priority=Priority.NORMAL, **kw)  # type: ignore[arg-type]
    return ticket.number


async def test_a_web_customer_gets_replies_and_notices_never_notes_and_reopens_by_writing(running: Running) -> None:
    customer = await running.customer("en")
    await customer.say("hello")
    store = running.app[TICKETS]
    customer_id = (await running.app[CONVERSATIONS].get_conversation(customer.conversation_id)).customer_id
    number = await ticket_for(running, customer.conversation_id, customer_id, "en")

    await store.add_note(number, NOTE, actor="ann")
    await store.add_reply(number, REPLY, actor="ann")
    await customer.wait_for(lambda m: m["sender"] == "agent" and m["text"] == REPLY)
    await store.transition(number, TicketStatus.RESOLVED, actor="ann", note=NOTE)  # a note with the change
    notice = await customer.wait_for(lambda m: m["sender"] == "system" and "resolved" in m["text"])
    assert number in notice["text"]
    assert all(NOTE not in m["text"] for m in await customer.history())
    assert all(NOTE not in e.body for e in await store.timeline(number, customer_id=customer_id))

    await customer.say("it is still leaking")
    reopened = await store.get_for_staff(number)
    assert reopened is not None and reopened.status is TicketStatus.OPEN and reopened.next_reply_due is not None


async def test_a_wechat_customer_gets_the_reply_and_one_apology_per_breach_but_never_the_note(
    wechat: WeChatHarness,
) -> None:
    running = wechat.running
    raw = await wechat.push("你好", msg_id="7001")
    assert raw  # the bot answered
    store = running.app[TICKETS]
    customer, _ = await running.app[CONVERSATIONS].customer_for_identity("wechat", OPENID)
    conversation = await running.app[CONVERSATIONS].open_conversation_for(customer.id, "wechat", 86400.0)
    assert conversation is not None
    now = time.time()
    # Deadlines already past: the watcher's first pass finds the first response breached.
    number = await ticket_for(
        running, conversation.id, customer.id, "zh", deadlines=SlaDeadlines(now - 60, now + 86400)
    )
    sends = len(wechat.api.sends)
    await store.add_note(number, NOTE, actor="ann")
    watcher = SlaWatcher(store)
    fired = await watcher.run_pass()
    assert [f.kind.value for f in fired] == ["sla_breached"]
    assert await watcher.run_pass() == []
    await wechat.api.wait_for_sends(sends + 1)
    await store.add_reply(number, "您好，我们今天寄出新水壶。", actor="ann")
    await wechat.api.wait_for_sends(sends + 2)
    await asyncio.sleep(0.2)  # nothing else follows
    texts = [s["text"]["content"] for s in wechat.api.sends[sends:]]
    assert len(texts) == 2 and "很抱歉" in texts[0] and number in texts[0] and "寄出" in texts[1]
    assert all(NOTE not in s["text"]["content"] for s in wechat.api.sends)
