"""A customer reports a broken blender (in English and in Chinese), answers the issue form, gets a ticket number
and later asks for its status — through the real Rasa, the real actions and the front door's API."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import Customer

pytestmark = pytest.mark.e2e

TICKET = re.compile(r"FD-\d{6}")


def answer_for(prompt: str, language: str) -> str:
    """What a cooperative customer types for a question that offers no buttons."""
    lowered = prompt.lower()
    if "order" in lowered or "订单" in prompt:
        return "1234567890"
    if "email" in lowered or "phone" in lowered or "contact" in lowered or "联系" in prompt or "邮箱" in prompt:
        return "buyer@example.com"
    if "product" in lowered or "商品" in prompt or "产品" in prompt:
        return "blender" if language == "en" else "搅拌机"
    return "It does not turn on at all" if language == "en" else "完全无法开机"


async def report_and_follow_the_form(customer: Customer, opening: str, language: str) -> str:
    replies = await customer.say(opening)
    for _ in range(12):
        text = " ".join(str(m["text"]) for m in replies)
        found = TICKET.search(text)
        if found:
            return found.group(0)
        buttons = [b for m in replies for b in m["buttons"]]
        if buttons:  # the suggested category / urgency comes first: confirm it
            replies = await customer.say(buttons[0]["title"], payload=buttons[0]["payload"])
        else:
            replies = await customer.say(answer_for(text, language))
    raise AssertionError(f"no ticket number after the form: {await customer.history()}")


@pytest.mark.parametrize(
    ("opening", "language", "status_question"),
    [
        ("My blender arrived broken", "en", "where is my ticket {number}"),
        ("我的搅拌机到货就坏了", "zh", "我的工单{number}进度怎么样"),
    ],
)
async def test_a_reported_problem_becomes_a_ticket_whose_status_the_customer_can_ask(
    customer: Customer, opening: str, language: str, status_question: str
) -> None:
    number = await report_and_follow_the_form(customer, opening, language)
    replies = await customer.say(status_question.format(number=number))
    text = " ".join(str(m["text"]) for m in replies)
    assert number in text, text
    if language == "zh":
        assert re.search(r"[\u4e00-\u9fff]", text)


@pytest.mark.parametrize(
    ("opening", "cancel", "asks_order_number", "cancelled"),
    [
        ("My blender arrived broken", "never mind", "order number", "Nothing was filed"),
        ("我的搅拌机到货就坏了", "取消", "订单号", "已取消"),
    ],
)
async def test_a_report_after_a_cancel_asks_its_questions_again(
    customer: Customer, opening: str, cancel: str, asks_order_number: str, cancelled: str
) -> None:
    async def text_of(said: str) -> str:
        return " ".join(str(m["text"]) for m in await customer.say(said))

    assert asks_order_number in await text_of(opening)
    assert asks_order_number not in await text_of("1000000001")  # the order also names the product: next question
    assert cancelled in await text_of(cancel)
    again = await text_of(opening)
    assert asks_order_number in again, await customer.history()
