"""The ticket workspace in a real Chromium (Debian's), as an agent in English and a supervisor in Chinese: the list
with its saved views, search and filters; a ticket's timeline, where an internal note is marked and never reaches
the customer while a public reply does; assignment, transfer to another team, merge, an illegal move refused with a
clear error, and resolving with 'save as FAQ draft', which lands in the editor's drafts. Customer text (an HTML tag
in a description) must show as text. Screenshots go to var/screenshots/ for a person to look at."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect
from playwright.async_api import TimeoutError as PlaywrightTimeout

from bot.keys import CONVERSATIONS, CUSTOMERS, KB, TICKETS
from conversations.profile import checked_changes
from intake.models import Category, EventKind, Priority, TicketDraft, TicketStatus
from intake.teams import Team, parse_targets
from kb.store import EntryStatus
from staff.auth import Role
from tests.conftest import scripted_rasa
from tests.console.conftest import PASSWORD, ChatCustomer, Running, console_app, console_settings, scripted_rasa_turn
from tests.staff.test_shell_browser import ILLEGIBLE
from tests.widget.browser import TIMEOUT_MS, record_dialogs

pytestmark = pytest.mark.browser

SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
XSS = "<img src=x onerror=alert(1)> smokes when switched on"
ORDER = "1234567890"


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    """The whole front door (memory handoff backend) with the demo's teams and staff."""
    async with (
        scripted_rasa(scripted_rasa_turn) as rasa_url,
        console_app(console_settings(tmp_path, rasa_url, "")) as harness,
    ):
        await harness.staff("ann", Role.AGENT, display_name="Ann")
        await harness.staff("bob", Role.AGENT, display_name="Bob")
        await harness.staff("sam", Role.SUPERVISOR, display_name="Sam")
        await harness.staff("eve", Role.EDITOR, display_name="Eve")
        teams = harness.app[TICKETS].teams
        await teams.put(Team("support", "Customer support", ("general",), "sam", ("ann", "bob")))
        await teams.put(Team("technical", "Technical support", ("product_fault",), None, ("ann",)))
        await teams.put(Team("logistics", "Logistics", ("delivery",), None, ("bob",)))
        yield harness


async def make_ticket(
    running: Running,
    customer: ChatCustomer | None,
    description: str,
    *,
    priority: Priority = Priority.NORMAL,
    category: Category = Category.PRODUCT_FAULT,
    order_number: str | None = None,
    language: str = "en",
) -> str:
    customer_id = "walk-in"
    if customer is not None:
        customer_id = (await running.app[CONVERSATIONS].get_conversation(customer.conversation_id)).customer_id
    draft = TicketDraft(
        customer_id=customer_id,
        conversation_id=customer.conversation_id if customer else "",
        order_number=order_number,
        category=category,
        description=description,
        language=language,
    )
    ticket = await running.app[TICKETS].create(draft, priority=priority, team_id="support", channel="web")
    return ticket.number


async def staff_page(browser: Browser, running: Running, username: str, language: str) -> tuple[Page, list[str]]:
    """A logged-in page in `language`; the list collects script errors and dialogs (injected script that ran)."""
    context = await browser.new_context(
        locale="zh-CN" if language == "zh" else "en-US", viewport={"width": 1400, "height": 1000}
    )
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    problems = record_dialogs(page)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    await page.goto(f"{running.url}/console/tickets")
    assert "/login" in page.url
    await page.fill("#username", username)
    await page.fill("#password", PASSWORD)
    await page.click("#login")
    await page.wait_for_url(f"{running.url}/console/tickets")
    await page.locator("nav.fd-shell").wait_for()
    return page, problems


ROWS = "() => Array.from(document.querySelectorAll('#tickets tbody tr')).map((r) => r.dataset.number)"


async def shows(page: Page, numbers: list[str]) -> None:
    """Waits until the list shows exactly these tickets, in this order (a search answers after the click)."""
    try:
        await page.wait_for_function(f"(want) => JSON.stringify(({ROWS})()) === JSON.stringify(want)", arg=numbers)
    except PlaywrightTimeout:
        assert await page.evaluate(ROWS) == numbers


async def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


async def test_an_agent_works_tickets_in_english(running: Running, browser: Browser) -> None:
    customer = await running.customer("en")
    customer_id = (await running.app[CONVERSATIONS].get_conversation(customer.conversation_id)).customer_id
    await running.app[CUSTOMERS].update(customer_id, checked_changes({"display_name": f"Alex {XSS}"}))
    broken = await make_ticket(running, customer, f"The blender {XSS}", order_number=ORDER)
    duplicate = await make_ticket(running, customer, "my blender is still broken")
    urgent = await make_ticket(running, None, "Charged twice", priority=Priority.URGENT, category=Category.BILLING)
    page, problems = await staff_page(browser, running, "ann", "en")

    # The list: every open ticket, the nearest deadline first; saved views count; search and filters narrow it.
    await shows(page, [urgent, broken, duplicate])
    await expect(page.locator("#views [data-count=unassigned]")).to_have_text("3")
    await expect(page.locator("#views [data-count=my_team]")).to_have_text("3")
    await expect(page.locator("#views [data-count=mine]")).to_have_text("0")
    assert await page.evaluate(ILLEGIBLE) == []
    await shot(page, "workspace-list-en")
    await page.fill("#q", ORDER)
    await page.click("#search")
    await shows(page, [broken])
    assert "q=1234567890" in page.url  # a search can be bookmarked
    await page.click("#reset")
    await page.select_option("#f-priority", "urgent")
    await shows(page, [urgent])
    await page.click("#views [data-view=unassigned]")
    await shows(page, [urgent, broken, duplicate])

    # One ticket: the customer's words are text, never markup.
    await page.click(f"#tickets a.number:text('{broken}')")
    await page.wait_for_url(f"{running.url}/console/tickets/{broken}")
    await expect(page.locator("#number")).to_have_text(broken)
    await expect(page.locator("#status")).to_have_text("new")
    await expect(page.locator("#clocks [data-metric=first_response] .sla")).to_contain_text("left")
    # The customer by name (set as text: it is what they typed), not by id.
    await expect(page.locator("#details dd").first).to_have_text(f"Alex {XSS}")
    description = page.locator("#details dd", has_text="blender")
    await expect(description).to_have_text(f"The blender {XSS}")
    assert await page.locator("main img").count() == 0
    await expect(page.locator("#transcripts details")).to_have_count(1)

    # An internal note is marked as such and never reaches the customer; a public reply does.
    await page.click("#mode-note")
    await expect(page.locator("#composer-hint")).to_have_text("Internal — not visible to the customer")
    await page.fill("#composer-text", "Supplier confirms lot 7 is faulty")
    await page.click("#composer-send")
    note = page.locator("#timeline li[data-kind=note]")
    await expect(note).to_contain_text("Internal — not visible to the customer")
    await expect(note).to_contain_text("Supplier confirms lot 7 is faulty")
    await page.click("#mode-reply")
    await page.fill("#composer-text", "Sorry! A replacement is on its way.")
    await page.click("#composer-send")
    await expect(page.locator("#timeline li[data-kind=reply]")).to_contain_text("Public reply — sent to the customer")
    await customer.wait_for(lambda m: m["sender"] == "agent" and m["text"] == "Sorry! A replacement is on its way.")
    assert not any("lot 7" in m["text"] for m in await customer.history())
    await expect(page.locator("#status")).to_have_text("open")
    await expect(page.locator("#clocks [data-metric=first_response] .sla")).to_have_text("met")

    # Only legal moves are offered: from open, never back to new or open.
    buttons = page.locator("#status-actions button")
    assert await buttons.evaluate_all("(bs) => bs.map((b) => b.dataset.to)") == [
        "pending_customer",
        "pending_internal",
        "resolved",
        "closed",
    ]

    # Assignment and a transfer to another team, recorded with who and why.
    await page.click("#assign-me")
    await expect(page.locator("#assignee")).to_have_text("Ann (ann)")
    await page.select_option("#transfer-team", "technical")
    await page.fill("#transfer-reason", "A fault for the technicians")
    await page.click("#transfer")
    await expect(page.locator("#team")).to_have_text("Technical support")
    moved = page.locator("#timeline li[data-kind=transferred]")
    await expect(moved).to_contain_text("ann transferred it from Customer support to Technical support")
    await expect(moved).to_contain_text("A fault for the technicians")
    await expect(page.locator("#clocks [data-metric=next_reply]")).to_be_visible()
    assert await page.evaluate(ILLEGIBLE) == []
    await shot(page, "workspace-ticket-en")

    # Merge the duplicate into this ticket.
    await page.goto(f"{running.url}/console/tickets/{duplicate}")
    await page.fill("#merge-into", broken)
    await page.click("#merge")
    await expect(page.locator("#status")).to_have_text("closed")
    await expect(page.locator("#merged")).to_have_text(f"merged into {broken}")
    await expect(page.locator("#status-actions")).to_contain_text("Closed tickets do not change.")
    await page.click("#merged")
    await page.wait_for_url(f"{running.url}/console/tickets/{broken}")
    await expect(page.locator("#timeline li[data-kind=merged_from]")).to_contain_text(f"merged {duplicate} into this")

    # Resolve: the FAQ draft offer, the question in the customer's words and the answer from the reply.
    await page.click("#status-actions button[data-to=resolved]")
    await expect(page.locator("#faq-panel")).to_be_visible()
    await expect(page.locator("#faq-question")).to_have_value(f"The blender {XSS}")
    await expect(page.locator("#faq-answer")).to_have_value("Sorry! A replacement is on its way.")
    await page.fill("#faq-question", "What if my blender smokes when switched on?")
    await shot(page, "workspace-resolved-en")
    await page.click("#faq-save")
    await expect(page.locator("#done")).to_have_text("Saved as a FAQ draft for the editors to review.")
    assert await buttons.evaluate_all("(bs) => bs.map((b) => b.dataset.to)") == ["open", "closed"]
    await expect(page.locator("#status-actions button[data-to=open]")).to_have_text("Reopen")

    # The customer writes again within 7 days: the ticket reopens, and the page says whose doing it was.
    await customer.say("It still smokes when I switch it on")
    await page.reload()
    await expect(page.locator("#status")).to_have_text("open")
    await expect(page.locator("#timeline li[data-kind=status]").last).to_contain_text("The customer's message moved it")
    assert problems == []

    # The editor finds it among the drafts.
    editor_context = await browser.new_context(locale="en-US")
    editor = await editor_context.new_page()
    editor.set_default_timeout(TIMEOUT_MS)
    await editor.goto(f"{running.url}/editor")
    await editor.fill("#username", "eve")
    await editor.fill("#password", PASSWORD)
    await editor.click("#login")
    await editor.wait_for_url(f"{running.url}/editor")
    await editor.select_option("#filter-status", "draft")
    await expect(editor.locator("#entries tbody tr", has_text="What if my blender smokes")).to_have_count(1)
    await shot(editor, "workspace-editor-drafts-en")


async def test_a_supervisor_sets_team_targets_and_works_a_ticket_in_chinese(running: Running, browser: Browser) -> None:
    customer = await running.customer("zh")
    number = await make_ticket(running, customer, "快递三天没有更新", category=Category.DELIVERY, language="zh")
    await make_ticket(running, None, "另一个客户的问题", priority=Priority.HIGH, language="zh")
    page, problems = await staff_page(browser, running, "sam", "zh")

    # Teams: the technical team's own urgent targets.
    await page.goto(f"{running.url}/console/teams")
    await page.click("#teams tbody tr[data-team=technical]")
    await expect(page.locator("#form-title")).to_have_text("编辑团队 Technical support")
    urgent = page.locator("#t-targets tr[data-priority=urgent]")
    await urgent.locator("input[name=first_response_hours]").fill("0.5")
    await urgent.locator("input[name=resolution_hours]").fill("4")
    await page.check("#member-bob")
    await page.click("#t-save")
    await expect(page.locator("#done")).to_have_text("团队 Technical support 已保存。")
    await expect(page.locator("#teams tbody tr[data-team=technical]")).to_contain_text("紧急 0.5/4")
    technical = await running.app[TICKETS].teams.get("technical")
    assert technical is not None and technical.members == ("ann", "bob")
    assert technical.targets == parse_targets({"urgent": "0.5/4"})
    assert await page.evaluate(ILLEGIBLE) == []
    await shot(page, "workspace-teams-zh")

    # The list in Chinese: views, statuses and priorities in words.
    await page.goto(f"{running.url}/console/tickets")
    await expect(page.locator("#views [data-view=mine]")).to_contain_text("我的工单")
    await expect(page.locator(f"#tickets tr[data-number='{number}']")).to_contain_text("新建")
    await expect(page.locator("#tickets tbody tr")).to_have_count(2)
    await page.select_option("#f-category", "delivery")
    await shows(page, [number])
    assert await page.evaluate(ILLEGIBLE) == []
    await shot(page, "workspace-list-zh")

    await page.goto(f"{running.url}/console/tickets/{number}")
    await expect(page.locator("#status")).to_have_text("新建")
    # Another tab resolved it meanwhile: the move this page still offers is refused with a clear error.
    resolved = await running.app[TICKETS].transition(number, TicketStatus.RESOLVED, actor="bob")
    assert resolved is not None
    await page.click("#status-actions button[data-to=pending_internal]")
    await expect(page.locator("#flash")).to_contain_text("当前状态下不允许此操作")
    await expect(page.locator("#status")).to_have_text("已解决")  # the page re-read the ticket
    await expect(page.locator("#status-actions button[data-to=open]")).to_have_text("重新打开")
    await page.click("#status-actions button[data-to=open]")
    await expect(page.locator("#status")).to_have_text("处理中")

    # Assign to an agent, transfer with a reason, reply in Chinese, resolve and save a FAQ draft.
    await page.select_option("#assign-to", "bob")
    await page.click("#assign")
    await expect(page.locator("#assignee")).to_have_text("Bob (bob)")
    await page.select_option("#transfer-team", "logistics")
    await page.fill("#transfer-reason", "物流问题，转物流组处理")
    await page.click("#transfer")
    await expect(page.locator("#timeline li[data-kind=transferred]")).to_contain_text(
        "sam 将工单由 Customer support 转交给 Logistics"
    )
    await expect(page.locator("#timeline li[data-kind=assigned]")).to_contain_text("sam 将工单分配给 Bob (bob)")
    await page.click("#mode-note")
    await expect(page.locator("#composer-hint")).to_have_text("内部备注 — 客户不可见")
    await page.fill("#composer-text", "已联系快递公司")
    await page.click("#composer-send")
    await expect(page.locator("#timeline li[data-kind=note]")).to_contain_text("内部备注 — 客户不可见")
    await page.click("#mode-reply")
    await page.fill("#composer-text", "您的包裹明天送达。")
    await page.click("#composer-send")
    await customer.wait_for(lambda m: m["sender"] == "agent" and m["text"] == "您的包裹明天送达。")
    assert not any("快递公司" in m["text"] for m in await customer.history())
    await page.click("#status-actions button[data-to=resolved]")
    await expect(page.locator("#faq-question")).to_have_value("快递三天没有更新")
    await expect(page.locator("#faq-answer")).to_have_value("您的包裹明天送达。")
    assert await page.evaluate(ILLEGIBLE) == []
    await shot(page, "workspace-ticket-zh")
    await page.click("#faq-save")
    await expect(page.locator("#done")).to_have_text("已保存为 FAQ 草稿，等待编辑审核。")
    drafts, _ = await running.app[KB].store.list_entries(status=EntryStatus.DRAFT, language="zh")
    assert [e.question for e in drafts] == ["快递三天没有更新"]
    assert problems == []


async def test_an_agent_makes_a_ticket_of_a_console_chat_with_its_transcript(
    running: Running, browser: Browser
) -> None:
    context = await browser.new_context(locale="en-US")
    page = await context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    problems = record_dialogs(page)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    await page.goto(f"{running.url}/console")
    await page.fill("#username", "ann")
    await page.fill("#password", PASSWORD)
    await page.click("#login")
    await page.wait_for_url(f"{running.url}/console")
    await page.wait_for_selector("#conn:text('live')")
    customer = await running.customer("en")
    await customer.say("I want a human, my kettle leaks")
    await page.wait_for_selector(f"#inbox li[data-cid='{customer.conversation_id}']")
    await page.wait_for_selector("#case:not([hidden])")

    await page.click("#case summary:text('Create ticket')")
    await page.select_option("#ticket-category", "product_fault")
    await page.click("#make-ticket")
    link = page.locator("#ticket-made a")
    await expect(link).to_have_text(re.compile(r"^FD-\d+$"))
    number = await link.inner_text()
    await shot(page, "workspace-console-ticket-en")
    await page.goto(f"{running.url}/console/tickets/{number}")
    await expect(page.locator("#team")).to_have_text("Technical support")  # its skill covers product faults
    await expect(page.locator("#timeline li[data-kind=linked_conversation]")).to_contain_text(customer.conversation_id)
    transcript = page.locator(f"#transcripts details[data-conversation='{customer.conversation_id}']")
    await expect(transcript.locator("li[data-sender=customer]")).to_have_text(
        re.compile("I want a human, my kettle leaks")
    )
    await expect(page.locator("#details dd", has_text="kettle")).to_have_text("I want a human, my kettle leaks")
    assert problems == []
    await context.close()


async def test_deliveries_and_follow_ups_read_as_words_in_both_languages(running: Running, browser: Browser) -> None:
    """What happened on the way to the customer and back — a route that failed, the follow-up's answers, a
    supervisor's task — is shown to staff on the timeline in their language, never as codes."""
    store = running.app[TICKETS]
    number = await make_ticket(running, None, "Kettle leaks")
    await store.record_event(number, EventKind.DELIVERY_FAILED, {"channel": "wechat_template", "purpose": "reply"})
    await store.record_event(number, EventKind.DELIVERY_FAILED, {"channel": "email", "purpose": "status"})
    await store.record_event(number, EventKind.FOLLOW_UP, {"answer": "rated", "score": 2})
    await store.record_event(number, EventKind.FOLLOW_UP_TASK, {"reason": "low_score", "score": 2})
    expected = {
        "en": [
            "Could not reach the customer by WeChat template message",
            "Could not reach the customer by email",
            "Follow-up: the customer rated the help 2 of 5",
            "Supervisor follow-up: a low score (2 of 5)",
        ],
        "zh": [
            "未能通过微信模板消息联系到客户",
            "未能通过邮箱联系到客户",
            "回访：客户评分 2/5",
            "主管跟进：低分（2/5）",
        ],
    }
    for language, lines in expected.items():
        page, problems = await staff_page(browser, running, "sam", language)
        await page.goto(f"{running.url}/console/tickets/{number}")
        items = page.locator("#timeline li[data-kind=delivery_failed], #timeline li[data-kind^=follow_up]")
        await expect(items).to_have_count(4)
        texts = await items.all_inner_texts()
        for text, line in zip(texts, lines, strict=True):
            assert line in text, (language, texts)
        assert not any(code in " ".join(texts) for code in ("wechat_template", "low_score", "follow_up"))
        await shot(page, f"workspace-deliveries-{language}")
        assert problems == []
        await page.context.close()
