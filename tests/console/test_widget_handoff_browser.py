"""The whole handoff round trip as a customer on someone else's website sees it, in a real browser (Debian's
Chromium): a host page on another loopback port embeds the widget with one script tag; the customer chats with the
bot, reloads, asks for a person, is served by an agent working through the console API, gets the bot back and rates
the chat. The agent's `<img src=x onerror=alert(1)>` must show as text in the widget, never run."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Browser, Page

from bot.handoff_bridge import HANDOFF
from bot.keys import PIPELINE, SURVEYS
from bot.widget import create_host_app
from conversations.models import Sender
from handoff import OwnershipState
from tests.conftest import serving
from tests.console.conftest import Running
from tests.widget.browser import TIMEOUT_MS, Widget, chromium, record_dialogs

pytestmark = pytest.mark.browser

XSS_REPLY = "<img src=x onerror=alert(1)> hi"


@pytest.fixture(params=["memory"])
def backend(request: pytest.FixtureRequest) -> str:
    return ""


@pytest.fixture
async def browser(running: Running) -> AsyncIterator[Browser]:
    # Depends on the app so that the browser (and the widget's open WebSocket) goes before the server closes.
    async with chromium() as launched:
        yield launched


@pytest.fixture
async def site(running: Running) -> AsyncIterator[str]:
    """The customer's website: another origin than the front door's, embedding `{frontdoor}/widget.js`."""
    async with serving(create_host_app(f"{running.url}/widget.js", {"title": "Acme help", "lang": "en"})) as url:
        yield url


async def shadow_images(page: Page) -> int:
    """How many <img> elements the widget's shadow root holds (the widget renders there, out of the page's DOM)."""
    count: int = await page.evaluate(
        "() => document.querySelector('frontdoor-widget').shadowRoot.querySelectorAll('img').length"
    )
    return count


async def test_a_customer_on_another_site_chats_reloads_is_served_by_an_agent_and_rates_the_chat(
    running: Running, browser: Browser, site: str
) -> None:
    assert site.split("//")[1] != running.url.split("//")[1]  # two origins: the host page and the front door
    page = await browser.new_page(locale="en-US")
    page.set_default_timeout(TIMEOUT_MS)
    dialogs = record_dialogs(page)
    await page.goto(site)
    widget = Widget(page)
    log = page.locator("frontdoor-widget ol.log")

    # The bot answers, and the conversation survives a reload with its history.
    await widget.open()
    await widget.say("hello")
    assert await widget.wait_for_replies(1) == ["Assistant\necho: hello"]
    key = f"frontdoor:{running.url}:conversation"
    conversation_id = await page.evaluate("key => localStorage.getItem(key)", key)
    assert conversation_id

    await page.reload()
    await widget.open()
    await widget.items("bot").filter(has_text="echo: hello").wait_for()
    await widget.items("customer").filter(has_text="hello").wait_for()
    assert await page.evaluate("key => localStorage.getItem(key)", key) == conversation_id

    # An agent is signed in to the console but not yet online: the customer waits in the queue.
    ann = await running.staff("ann", display_name="Ann")
    await widget.say("I want a human")
    await widget.items("bot").filter(has_text="connecting you with a colleague").wait_for()
    queue_line = log.locator("li.system", has_text="You are next in the queue")
    await queue_line.wait_for()

    # The agent goes online and is assigned the waiting customer, who hears that Ann joined.
    status, _ = await ann.call("POST", "/presence", {"presence": "online"})
    assert status == 200
    await log.locator("li.system", has_text="Ann from our team has joined the chat.").wait_for()
    status, card = await ann.call("GET", f"/conversations/{conversation_id}")
    assert status == 200 and card["reason"] == "customer_request"

    # The agent's HTML arrives as literal text: no element made of it, no script run.
    status, sent = await ann.call("POST", f"/conversations/{conversation_id}/messages", {"text": XSS_REPLY})
    assert status == 200 and sent["message"]["sender"] == "agent"
    agent_line = widget.items("agent").filter(has_text="onerror")
    await agent_line.wait_for()
    assert await agent_line.locator(".bubble").inner_text() == XSS_REPLY
    assert await shadow_images(page) == 0
    assert await page.locator("frontdoor-widget img").count() == 0

    # While Ann owns the chat, the customer's message goes to her and the bot keeps quiet.
    await widget.say("my parcel has not arrived")
    await widget.items("customer").filter(has_text="my parcel has not arrived").wait_for()
    for _ in range(400):
        status, card = await ann.call("GET", f"/conversations/{conversation_id}")
        if "my parcel has not arrived" in [m["text"] for m in card["transcript"] if m["sender"] == "customer"]:
            break
        await page.wait_for_timeout(50)
    else:
        raise AssertionError(f"the agent never got the customer's message: {card['transcript']}")

    # Ann closes; the bot is back and asks for a rating, which the customer gives.
    status, closed = await ann.call("POST", f"/conversations/{conversation_id}/close", {"resolution": "located"})
    assert status == 200 and closed["state"] == "bot"
    await log.locator("li.system", has_text="You are back with the assistant.").wait_for()
    rating = log.locator("li.bot .buttons.rating")
    await rating.wait_for()
    assert await rating.get_attribute("aria-label") == "Rate this conversation"
    assert await rating.get_by_role("button").all_inner_texts() == ["1", "2", "3", "4", "5"]
    await rating.get_by_role("button", name="5").click()
    await widget.items("bot").filter(has_text="Thank you! Anything you would like to add?").wait_for()
    assert await rating.get_by_role("button", name="5").get_attribute("aria-pressed") == "true"
    for score in "1234":
        assert await rating.get_by_role("button", name=score).is_disabled()

    survey = await running.app[SURVEYS].latest(conversation_id)
    assert survey is not None and (survey.score, survey.agent_id) == (5, "ann")
    history = await running.app[PIPELINE].store.history(conversation_id)
    bot_texts = [m.text for m in history if m.sender is Sender.BOT]
    assert "echo: my parcel has not arrived" not in bot_texts
    assert not any(text.startswith("echo: 5") for text in bot_texts)  # the rating never reached Rasa
    assert await widget.items("bot").filter(has_text="echo: my parcel").count() == 0
    assert dialogs == []
    assert await shadow_images(page) == 0
    # Each handoff notice is shown once: the transcript's system line, not a second copy from the raw event.
    assert await log.locator("li", has_text="joined the chat").count() == 1
    assert await log.locator("li", has_text="left the chat").count() == 0
    await page.close()


async def test_a_waiting_customer_who_starts_a_new_conversation_leaves_the_queue(
    running: Running, browser: Browser, site: str
) -> None:
    page = await browser.new_page(locale="en-US")
    page.set_default_timeout(TIMEOUT_MS)
    await page.goto(site)
    widget = Widget(page)
    await widget.open()
    await widget.say("I want a human")  # nobody is online: the customer waits
    await page.locator("frontdoor-widget ol.log li.system", has_text="in the queue").wait_for()
    key = f"frontdoor:{running.url}:conversation"
    waiting = await page.evaluate("key => localStorage.getItem(key)", key)
    record = await running.app[HANDOFF].state_of(waiting)
    assert record is not None and record.state is OwnershipState.QUEUED

    await page.locator("frontdoor-widget").get_by_role("button", name="Start a new conversation").click()
    for _ in range(200):
        record = await running.app[HANDOFF].state_of(waiting)
        if record is not None and record.state is OwnershipState.ABANDONED:
            break
        await page.wait_for_timeout(50)
    else:
        raise AssertionError(f"the old conversation is still {record}")
    assert record.events[-1].data == {"cause": "left"}
    await widget.say("hello")
    assert await widget.wait_for_replies(1) == ["Assistant\necho: hello"]
    assert await page.evaluate("key => localStorage.getItem(key)", key) != waiting
    await page.close()
