"""A ticket's news reaches its customer without their asking, on the channel they used, and every attempt is
recorded: WeChat inside its 48-hour window by the customer-service API and outside it by the template message (the
fake API records it), email to a real local SMTP server (aiosmtpd), and a route that fails is on the ticket's
timeline for staff. (The web widget's unread badge on return: tests/widget/test_widget_unread_browser.py.)"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from bot.channels.email import EmailConfig
from bot.keys import CONVERSATIONS, DELIVERIES, TICKETS
from intake.models import EventKind, Priority, TicketDraft, TicketStatus
from staff.auth import Role
from tests.console.conftest import Running, WeChatHarness, console_app, console_settings, wechat_app
from tests.wechat.wechat_fakes import OPENID, FakeWeChatAPI

REPLY = "We are sending a replacement kettle today."
ERRCODE_OUTSIDE_WINDOW = 45015


@dataclass
class Inbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    messages: list[Envelope] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.messages.append(envelope)
        return "250 Message accepted for delivery"

    def read(self, index: int = -1) -> email.message.EmailMessage:
        content = self.messages[index].content
        assert isinstance(content, bytes)
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, email.message.EmailMessage)
        return message


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server on loopback (aiosmtpd, in its own thread)."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def mail_settings(port: int) -> EmailConfig:
    return EmailConfig(
        smtp_host="127.0.0.1", smtp_port=port, smtp_from="Acme help <help@example.com>", smtp_starttls=False
    )


@pytest.fixture
async def mailing(tmp_path: Path, rasa_url: str, smtp: tuple[Inbox, int]) -> AsyncIterator[Running]:
    settings = console_settings(tmp_path, rasa_url, "").model_copy(update={"notify": mail_settings(smtp[1])})
    async with console_app(settings) as running:
        yield running


async def web_ticket(running: Running, language: str = "en", contact: str | None = None) -> tuple[Any, str]:
    customer = await running.customer(language)
    await customer.say("hello")
    customer_id = (await running.app[CONVERSATIONS].get_conversation(customer.conversation_id)).customer_id
    draft = TicketDraft(
        customer_id, customer.conversation_id, description="kettle leaks", language=language, contact=contact
    )
    ticket = await running.app[TICKETS].create(draft, priority=Priority.NORMAL)
    return customer, ticket.number


async def wechat_ticket(wechat: WeChatHarness) -> str:
    assert await wechat.push("你好", msg_id="8001")
    app = wechat.running.app
    customer, _ = await app[CONVERSATIONS].customer_for_identity("wechat", OPENID)
    conversation = await app[CONVERSATIONS].open_conversation_for(customer.id, "wechat", 86400.0)
    assert conversation is not None
    draft = TicketDraft(customer.id, conversation.id, description="水壶漏水", language="zh")
    return (await app[TICKETS].create(draft, priority=Priority.NORMAL, channel="wechat")).number


def routes(deliveries: list[Any]) -> list[tuple[str, str, bool]]:
    return [(d.purpose, d.channel, d.ok) for d in deliveries]


async def test_a_wechat_customer_inside_the_window_gets_the_news_by_the_customer_service_api(
    tmp_path: Path, rasa_url: str, fake_api: tuple[FakeWeChatAPI, str]
) -> None:
    async with wechat_app(tmp_path, rasa_url, "", fake_api, template_id="TPL-ticket") as wechat:
        app = wechat.running.app
        number = await wechat_ticket(wechat)
        sends = len(wechat.api.sends)
        await app[TICKETS].add_reply(number, "您好，新水壶今天寄出。", actor="ann")
        await app[TICKETS].transition(number, TicketStatus.RESOLVED, actor="ann")
        await wechat.api.wait_for_sends(sends + 2)
        texts = [s["text"]["content"] for s in wechat.api.sends[sends:]]
        assert "寄出" in texts[0] and number in texts[1] and "已解决" in texts[1]
        assert wechat.api.templates == []
        assert routes(await app[DELIVERIES].for_ticket(number)) == [
            ("reply", "wechat", True),
            ("status", "wechat", True),
        ]


async def test_outside_the_48_hour_window_the_news_goes_as_the_configured_template_message(
    tmp_path: Path, rasa_url: str, fake_api: tuple[FakeWeChatAPI, str]
) -> None:
    async with wechat_app(tmp_path, rasa_url, "", fake_api, template_id="TPL-ticket") as wechat:
        app = wechat.running.app
        number = await wechat_ticket(wechat)
        sends = len(wechat.api.sends)
        wechat.api.send_errcodes.append(ERRCODE_OUTSIDE_WINDOW)  # what WeChat answers 48 hours after their last word
        await app[TICKETS].add_reply(number, "您好，新水壶今天寄出。", actor="ann")

        assert len(wechat.api.sends) == sends
        (template,) = wechat.api.templates
        assert template["touser"] == OPENID and template["template_id"] == "TPL-ticket"
        data = {key: value["value"] for key, value in template["data"].items()}
        assert data["first"] == f"您的工单 {number} 有新进展" and data["keyword1"] == number
        assert data["keyword2"] == "处理中" and "寄出" in data["remark"]
        assert routes(await app[DELIVERIES].for_ticket(number)) == [("reply", "wechat_template", True)]
        assert not [e for e in await app[TICKETS].timeline(number) if e.kind is EventKind.DELIVERY_FAILED]


async def test_a_customer_who_left_an_address_gets_the_news_by_email(mailing: Running, smtp: tuple[Inbox, int]) -> None:
    inbox, _ = smtp
    store = mailing.app[TICKETS]
    _, number = await web_ticket(mailing, "en", contact="ada@example.com")
    await store.add_note(number, "INTERNAL: fraud watch", actor="ann")
    await store.add_reply(number, REPLY, actor="ann")

    (received,) = inbox.messages  # the note sent nothing
    assert received.rcpt_tos == ["ada@example.com"] and received.mail_from == "help@example.com"
    message = inbox.read()
    assert message["Subject"] == f"Update on your ticket {number}"
    body = message.get_content()
    assert REPLY in body and "INTERNAL" not in body and "in the chat" in body
    assert routes(await mailing.app[DELIVERIES].for_ticket(number)) == [
        ("reply", "web", True),
        ("reply", "email", True),
    ]


async def test_a_chinese_customer_is_mailed_in_chinese(mailing: Running, smtp: tuple[Inbox, int]) -> None:
    inbox, _ = smtp
    _, number = await web_ticket(mailing, "zh", contact=" 李雷 <not an address>")
    await mailing.app[TICKETS].transition(number, TicketStatus.PENDING_CUSTOMER, actor="ann")
    assert inbox.messages == []  # no address, no email
    _, number = await web_ticket(mailing, "zh", contact="lilei@example.com")
    await mailing.app[TICKETS].transition(number, TicketStatus.RESOLVED, actor="ann")
    message = inbox.read()
    assert (
        message["Subject"] == f"您的工单 {number} 有新进展"
        and f"您的工单 {number} 状态已更新：已解决。" in message.get_content()
    )


async def test_a_failing_route_is_recorded_and_shown_on_the_ticket_timeline_to_staff(
    tmp_path: Path, rasa_url: str, fake_api: tuple[FakeWeChatAPI, str]
) -> None:
    dead_smtp = mail_settings(free_port())  # nothing listens there
    async with wechat_app(tmp_path, rasa_url, "", fake_api) as wechat:  # no template message configured
        app = wechat.running.app
        number = await wechat_ticket(wechat)
        wechat.api.send_errcodes.append(ERRCODE_OUTSIDE_WINDOW)
        await app[TICKETS].add_reply(number, "您好，新水壶今天寄出。", actor="ann")

        (failed,) = await app[DELIVERIES].for_ticket(number)
        assert (failed.channel, failed.ok, failed.event_seq) == ("wechat_template", False, 3)
        assert "48-hour" in failed.error and "FD_WECHAT_TEMPLATE_ID" in failed.error
        (shown,) = [e for e in await app[TICKETS].timeline(number) if e.kind is EventKind.DELIVERY_FAILED]
        assert not shown.public and shown.data["channel"] == "wechat_template" and shown.body == failed.error

        ann = await wechat.running.staff("ann", Role.AGENT)
        async with ann.session.get(f"/api/v1/tickets/{number}") as response:
            assert response.status == 200
            timeline = (await response.json())["timeline"]
        assert [e["data"]["purpose"] for e in timeline if e["kind"] == "delivery_failed"] == ["reply"]
        ticket = await app[TICKETS].get_for_staff(number)
        assert ticket is not None
        history = await app[CONVERSATIONS].history(ticket.conversation_id)
        assert any(m.custom.get("delivery_failed") for m in history)  # and the console's transcript says so

    settings = console_settings(tmp_path / "mail", rasa_url, "").model_copy(update={"notify": dead_smtp})
    (tmp_path / "mail").mkdir()
    async with console_app(settings) as running:
        _, number = await web_ticket(running, contact="ada@example.com")
        await running.app[TICKETS].add_reply(number, REPLY, actor="ann")
        deliveries = await running.app[DELIVERIES].for_ticket(number)
        assert routes(deliveries) == [("reply", "web", True), ("reply", "email", False)]
        assert deliveries[1].error  # the refused connection, for staff to read
        kinds = [e.kind for e in await running.app[TICKETS].timeline(number)]
        assert kinds[-1] is EventKind.DELIVERY_FAILED


async def test_an_offline_web_customer_finds_the_news_in_the_chat_history(mailing: Running) -> None:
    customer, number = await web_ticket(mailing)
    await mailing.app[TICKETS].add_reply(number, REPLY, actor="ann")
    await asyncio.sleep(0)
    history = await customer.history()
    assert [m["text"] for m in history if m["sender"] == "agent"] == [REPLY]
    assert routes(await mailing.app[DELIVERIES].for_ticket(number)) == [("reply", "web", True)]
