"""Handoff as the widget shows it: queue position, typing, an agent joining and leaving, the rating buttons.

The front door runs in process, so the test publishes the events handoff will publish; the full handoff round trip
is covered once the handoff integration lands.
"""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser

from bot.keys import BUS, PIPELINE
from bot.pipeline import conversation_topic
from conversations.models import Button, Sender
from conversations.store import MessageDraft
from tests.widget.browser import TIMEOUT_MS, Widget, record_dialogs

pytestmark = pytest.mark.browser

RATING = tuple(Button(str(n), f'/rate{{"score": {n}}}') for n in range(1, 6))


async def test_handoff_notices_agent_messages_and_the_rating_reach_the_customer(
    browser: Browser, site: str, frontdoor: TestServer
) -> None:
    page = await browser.new_page(locale="en-US")
    dialogs = record_dialogs(page)
    widget = Widget(page)
    assert await widget.start(site, "hi") == ["Assistant\necho: hi"]
    conversation_id = await widget.conversation_id(frontdoor)
    app = frontdoor.app
    topic = conversation_topic(conversation_id)
    notices = page.locator("frontdoor-widget li.notice .bubble")

    await app[BUS].publish(topic, {"type": "notice", "notice": "queue_position", "position": 3, "eta_s": 120})
    await notices.first.wait_for(timeout=TIMEOUT_MS)
    assert await notices.first.inner_text() == "You are number 3 in the queue. Estimated wait: about 2 min."
    await app[BUS].publish(topic, {"type": "notice", "notice": "queue_position", "position": 1, "eta_s": None})
    await page.locator("frontdoor-widget li.notice", has_text="You are next in the queue.").wait_for(timeout=TIMEOUT_MS)
    assert await notices.count() == 1  # the queue line updates in place

    await app[BUS].publish(topic, {"type": "typing", "who": "agent", "on": True})
    typing = page.locator("frontdoor-widget .typing")
    await typing.wait_for(state="visible", timeout=TIMEOUT_MS)
    assert await typing.inner_text() == "Agent is typing…"

    await app[BUS].publish(topic, {"type": "notice", "notice": "agent_joined", "display_name": "Ann"})
    await page.locator("frontdoor-widget li.notice", has_text="Ann joined the chat.").wait_for(timeout=TIMEOUT_MS)
    await app[PIPELINE].post_from_agent(conversation_id, "agent_ann", "Hi, I'm Ann. <img src=x onerror=alert(1)>")
    agent = widget.items("agent").first
    await agent.wait_for(timeout=TIMEOUT_MS)
    assert await agent.locator(".bubble").inner_text() == "Hi, I'm Ann. <img src=x onerror=alert(1)>"
    await typing.wait_for(state="hidden", timeout=TIMEOUT_MS)

    await app[BUS].publish(topic, {"type": "notice", "notice": "bot_back", "ask_satisfaction": True})
    await page.locator("frontdoor-widget li.notice", has_text="The assistant is back.").wait_for(timeout=TIMEOUT_MS)
    await app[PIPELINE].post_notice(conversation_id, [MessageDraft(Sender.SYSTEM, "How did we do?", buttons=RATING)])
    rating = page.locator("frontdoor-widget li.system .buttons.rating")
    await rating.wait_for(timeout=TIMEOUT_MS)
    assert await rating.get_attribute("aria-label") == "Rate this conversation"
    await rating.get_by_role("button", name="5").click()
    assert await widget.wait_for_replies(2) == ["Assistant\necho: hi", "Assistant\nThanks for your rating."]
    assert await rating.get_by_role("button", name="5").get_attribute("aria-pressed") == "true"
    assert await rating.get_by_role("button", name="1").is_disabled()

    history = await app[PIPELINE].store.history(conversation_id)
    rated = [m for m in history if m.sender is Sender.CUSTOMER][-1]
    assert rated.text == "5" and rated.custom["payload"] == RATING[4].payload
    assert dialogs == []
    assert await page.locator("frontdoor-widget img").count() == 0


async def test_unread_replies_show_on_the_closed_launcher(browser: Browser, site: str, frontdoor: TestServer) -> None:
    page = await browser.new_page(locale="en-US")
    widget = Widget(page)
    await widget.start(site, "hi")
    await page.keyboard.press("Escape")
    conversation_id = await widget.conversation_id(frontdoor)
    await frontdoor.app[PIPELINE].post_from_agent(conversation_id, "agent_ann", "Are you still there?")
    badge = page.locator("frontdoor-widget .badge")
    await badge.wait_for(state="visible", timeout=TIMEOUT_MS)
    assert await badge.inner_text() == "1"
    assert await widget.launcher.get_attribute("aria-label") == "Open chat (1 new)"
    await widget.open()
    await badge.wait_for(state="hidden", timeout=TIMEOUT_MS)


async def test_a_stale_stored_conversation_is_replaced_by_a_fresh_one(
    browser: Browser, site: str, frontdoor: TestServer
) -> None:
    page = await browser.new_page(locale="en-US")
    origin = str(frontdoor.make_url("")).rstrip("/")
    await page.goto(site)
    await page.evaluate(
        f"() => {{ localStorage.setItem('frontdoor:{origin}:conversation', 'conv_gone');"
        f" localStorage.setItem('frontdoor:{origin}:token', 'stale'); }}"
    )
    await page.reload()
    widget = Widget(page)
    await widget.open()
    await widget.say("anyone there?")
    assert await widget.wait_for_replies(1) == ["Assistant\necho: anyone there?"]
    assert await widget.conversation_id(frontdoor) != "conv_gone"


async def test_choices_the_customer_wrote_past_are_no_longer_clickable(
    browser: Browser, site: str, frontdoor: TestServer
) -> None:
    page = await browser.new_page(locale="en-US")
    widget = Widget(page)
    await widget.start(site, "hi")
    conversation_id = await widget.conversation_id(frontdoor)
    choices = (Button("Yes", "/affirm"), Button("No", "/deny"))
    question = MessageDraft(Sender.SYSTEM, "Still there?", buttons=choices)
    await frontdoor.app[PIPELINE].post_notice(conversation_id, [question])
    yes = page.locator("frontdoor-widget li.system .buttons").get_by_role("button", name="Yes")
    await yes.wait_for(timeout=TIMEOUT_MS)
    assert await yes.is_enabled()
    await widget.say("something else entirely")  # typed instead of choosing
    await widget.wait_for_replies(2)
    assert await yes.is_disabled() and await yes.get_attribute("aria-pressed") == "false"
    await page.reload()  # and so from the history too
    await widget.open()
    await widget.wait_for_replies(2)
    assert await page.locator("frontdoor-widget li.system .buttons button:enabled").count() == 0
