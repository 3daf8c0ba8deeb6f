"""A ticket's news reaches a web customer who is not there: on their next visit the widget shows it, with an unread
badge on the closed launcher until they open the chat."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestServer
from playwright.async_api import Browser

from bot.keys import CONVERSATIONS, DELIVERIES, TICKETS
from intake.models import Priority, TicketDraft, TicketStatus
from tests.widget.browser import TIMEOUT_MS, Widget

pytestmark = pytest.mark.browser

REPLY = "A replacement kettle is on its way."


async def test_news_that_came_while_the_customer_was_away_is_unread_on_their_next_visit(
    browser: Browser, site: str, frontdoor: TestServer
) -> None:
    context = await browser.new_context(locale="en-US")  # one browser profile: its localStorage outlives the page
    page = await context.new_page()
    widget = Widget(page)
    await widget.start(site, "my kettle leaks")
    conversation_id = await widget.conversation_id(frontdoor)
    await page.close()  # the customer leaves

    app = frontdoor.app
    conversation = await app[CONVERSATIONS].get_conversation(conversation_id)
    draft = TicketDraft(conversation.customer_id, conversation_id, description="kettle leaks", language="en")
    number = (await app[TICKETS].create(draft, priority=Priority.NORMAL)).number
    await app[TICKETS].add_reply(number, REPLY, actor="ann")
    await app[TICKETS].transition(number, TicketStatus.RESOLVED, actor="ann")

    page = await context.new_page()  # they come back
    await page.goto(site)
    widget = Widget(page)
    badge = page.locator("frontdoor-widget .badge")
    await badge.wait_for(state="visible", timeout=TIMEOUT_MS)
    assert await badge.inner_text() == "2"  # the reply and the status notice; the old history is not news
    assert await widget.launcher.get_attribute("aria-label") == "Open chat (2 new)"

    await widget.open()
    await badge.wait_for(state="hidden", timeout=TIMEOUT_MS)
    assert await widget.items("agent").locator(".bubble").inner_text() == REPLY
    notice = widget.items("system").filter(has_text=f"Your ticket {number} is now resolved.")
    await notice.wait_for(timeout=TIMEOUT_MS)

    await page.keyboard.press("Escape")  # they close the chat, having read it
    await page.reload()  # seen now: nothing is new on the next visit
    widget = Widget(page)
    await widget.items("agent").first.wait_for(state="attached", timeout=TIMEOUT_MS)
    assert await page.locator("frontdoor-widget .badge").is_hidden()
    assert [(d.purpose, d.channel, d.ok) for d in await app[DELIVERIES].for_ticket(number)] == [
        ("reply", "web", True),
        ("status", "web", True),
    ]
    await context.close()
