import asyncio

import pytest

from backends.sql import Database
from conversations import ConversationStore, MessageDraft, Sender, UnknownConversation
from conversations.models import Button


@pytest.fixture
async def store(database: Database) -> ConversationStore:
    store = ConversationStore(database)
    return store


async def test_a_new_identity_creates_a_customer_and_a_second_visit_recognises_them(store: ConversationStore) -> None:
    first, returning = await store.customer_for_identity("wechat", "openid-1", language="zh")
    again, returned = await store.customer_for_identity("wechat", "openid-1")
    assert (returning, returned) == (False, True)
    assert again.id == first.id
    assert again.language == "zh"


async def test_transcript_keeps_every_sender_in_order_with_buttons_and_events(store: ConversationStore) -> None:
    customer, _ = await store.customer_for_identity("web", "v")
    conv = await store.create_conversation(customer.id, "web", "en")
    await store.append(conv.id, [MessageDraft(Sender.CUSTOMER, "hi")])
    await store.append(
        conv.id,
        [
            MessageDraft(Sender.BOT, "Hello!", buttons=(Button("Talk to a human", "/request_human"),)),
            MessageDraft(Sender.EVENT, custom={"handoff": {"reason": "customer_request"}}),
        ],
    )
    await store.append(conv.id, [MessageDraft(Sender.AGENT, "I'm Ann", sender_id="ann")])
    history = await store.history(conv.id)
    assert [(m.seq, m.sender) for m in history] == [
        (1, Sender.CUSTOMER),
        (2, Sender.BOT),
        (3, Sender.EVENT),
        (4, Sender.AGENT),
    ]
    assert history[1].buttons[0].payload == "/request_human"
    assert history[2].custom == {"handoff": {"reason": "customer_request"}}
    assert [m.seq for m in await store.history(conv.id, after_seq=2)] == [3, 4]
    assert await store.last_customer_message_at(conv.id) == history[0].created_at


async def test_concurrent_appends_never_share_a_seq(store: ConversationStore) -> None:
    customer, _ = await store.customer_for_identity("web", "v")
    conv = await store.create_conversation(customer.id, "web")
    await asyncio.gather(*(store.append(conv.id, [MessageDraft(Sender.CUSTOMER, str(i))]) for i in range(30)))
    seqs = [m.seq for m in await store.history(conv.id)]
    assert seqs == list(range(1, 31))


async def test_appending_to_an_unknown_conversation_is_refused(store: ConversationStore) -> None:
    with pytest.raises(UnknownConversation):
        await store.append("conv_missing", [MessageDraft(Sender.CUSTOMER, "x")])


async def test_open_conversation_lookup_skips_closed_ones(store: ConversationStore) -> None:
    customer, _ = await store.customer_for_identity("wechat", "o")
    conv = await store.create_conversation(customer.id, "wechat", external_id="o")
    assert (await store.open_conversation_for(customer.id, "wechat")) == conv
    await store.close_conversation(conv.id)
    assert await store.open_conversation_for(customer.id, "wechat") is None


async def test_a_conversation_idle_past_the_limit_is_closed_on_lookup(database: Database) -> None:
    now = [1_000.0]
    store = ConversationStore(database, clock=lambda: now[0])
    customer, _ = await store.customer_for_identity("wechat", "o")
    conv = await store.create_conversation(customer.id, "wechat", external_id="o")
    now[0] += 50
    await store.append(conv.id, [MessageDraft(Sender.CUSTOMER, "hi")])
    now[0] += 99
    assert await store.open_conversation_for(customer.id, "wechat", idle_close_s=100) == conv
    now[0] += 1  # 100 s since the customer's last message
    assert await store.open_conversation_for(customer.id, "wechat", idle_close_s=100) is None
    assert (await store.get_conversation(conv.id)).closed_at == now[0]
    fresh = await store.create_conversation(customer.id, "wechat", external_id="o")
    assert await store.open_conversation_for(customer.id, "wechat", idle_close_s=100) == fresh
