"""Which messages plainly ask for a person (handoff/requests.py), in both languages, mixed with a problem or not."""

from __future__ import annotations

import pytest

from handoff.requests import asks_for_a_person

ASKING = [
    "my kettle is broken, I want to talk to a human",
    "The blender arrived cracked. Can I speak with a real person?",
    "transfer me to an agent please",
    "connect me with customer service",
    "you're not helping, give me an agent",
    "I need a live agent about order 1234567890",
    "agent",
    "Human please!",
    "let me chat with a human agent",
    "I'd like to speak with a manager",
    "why can't I talk to a person",
    "我的电水壶坏了，我要转人工",
    "转人工",
    "订单1234567890还没到，帮我找人工客服",
    "有没有真人客服",
    "麻烦转接客服",
    "我不想跟机器人聊，转人工",
]
NOT_ASKING = [
    "my kettle is broken",
    "I don't need a human, just tell me the return policy",
    "no need to talk to an agent, thanks",
    "I want someone to fix my blender",
    "the delivery person left it outside",
    "the agent said I would get a refund",
    "how long does shipping take?",
    "不用转人工，我自己看看",
    "不需要人工客服",
    "快递员把东西弄坏了",
    "我的订单什么时候到",
    "",
]


@pytest.mark.parametrize("text", ASKING)
def test_a_plain_request_for_a_person_is_seen_whatever_else_the_message_says(text: str) -> None:
    assert asks_for_a_person(text)


@pytest.mark.parametrize("text", NOT_ASKING)
def test_problems_negations_and_people_merely_mentioned_are_not_requests(text: str) -> None:
    assert not asks_for_a_person(text)
