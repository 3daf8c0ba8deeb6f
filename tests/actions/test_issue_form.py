from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import ActionAskCategory, ActionAskUrgency, ActionResetIssueForm, ActionServices, ValidateIssueForm
from intake.exceptions import OrderLookupFailed
from intake.orders import Order

from .conftest import DOMAIN, FORM_SLOTS, buttons, make_tracker, slot_sets, texts, user_event


async def validate(services: ActionServices, tracker: Any) -> tuple[CollectingDispatcher, dict[str, Any]]:
    """One form turn the way Rasa runs it: the whole validation action, extraction included."""
    dispatcher = CollectingDispatcher()
    events = await ValidateIssueForm(services).run(dispatcher, tracker, DOMAIN)
    return dispatcher, slot_sets(events)


def answer(slot: str, text: str, *, language: str = "en", slots: dict[str, Any] | None = None, **kwargs: Any) -> Any:
    """The customer answers the question for `slot`; a from_text mapping makes the whole text the candidate."""
    return make_tracker(
        text,
        slots={"requested_slot": slot, "language": language, **(slots or {})},
        candidates={slot: text},
        active_loop="issue_form",
        **kwargs,
    )


# -- pre-filling ------------------------------------------------------------------------------------------------------


async def test_the_report_message_prefills_description_and_the_order_fills_the_product(
    services: ActionServices,
) -> None:
    tracker = make_tracker(
        "My blender arrived broken, order 1000000001",
        intent="report_issue",
        entities=[{"entity": "order_number", "value": "1000000001"}],
        candidates={"order_number": "1000000001"},
        active_loop="issue_form",
    )
    _, slots = await validate(services, tracker)
    assert slots["order_number"] == "1000000001"
    assert slots["product"] == "PowerMix 900 Blender"
    assert slots["description"] == "My blender arrived broken, order 1000000001"
    assert slots["requested_slot"] == "category"  # described already: the category comes next


async def test_a_bare_report_message_prefills_nothing(services: ActionServices) -> None:
    tracker = make_tracker("I want to report a problem", intent="report_issue", active_loop="issue_form")
    _, slots = await validate(services, tracker)
    assert "description" not in slots and slots.get("requested_slot") == "order_number"


async def test_a_contact_on_the_channel_identity_means_we_never_ask(services: ActionServices) -> None:
    tracker = answer("urgency", "normal", metadata={"email": "Alex@Example.com"}, slots={"category": "delivery"})
    _, slots = await validate(services, tracker)
    assert slots["contact"] == "alex@example.com"
    tracker = answer("urgency", "normal", metadata={"customer_id": "plain-1"})
    _, slots = await validate(services, tracker)
    assert slots["contact"] == "+8613800138000"


# -- order number -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["1000000001", "my order is 1000000001", "订单号：１００００００００１"])
async def test_an_order_number_is_read_from_the_answer(services: ActionServices, text: str) -> None:
    # Alex's own order, and the form already holds Alex's email: the order's only item is the product.
    _, slots = await validate(services, answer("order_number", text, slots={"contact": "alex.chen@example.com"}))
    assert slots["order_number"] == "1000000001" and slots["product"] == "PowerMix 900 Blender"


async def test_an_order_someone_else_placed_is_taken_but_shows_nothing_of_itself(services: ActionServices) -> None:
    dispatcher, slots = await validate(services, answer("order_number", "1000000001"))
    assert slots["order_number"] == "1000000001" and "product" not in slots and texts(dispatcher) == []
    assert slots["requested_slot"] == "product"


async def test_a_two_item_order_leaves_the_product_to_ask(services: ActionServices) -> None:
    _, slots = await validate(services, answer("order_number", "1000000002"))
    assert slots["order_number"] == "1000000002" and "product" not in slots
    assert slots["requested_slot"] == "product"


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("12345", "en", "That doesn't look like an order number."),
        ("abcdefghijk", "en", "That doesn't look like an order number."),
        ("🙂🙂🙂", "zh", "这看起来不是订单号。"),
        ("<script>alert(1)</script>", "en", "Please send plain text only"),
        ("1" * 500, "en", "That's a bit long"),
        ("Мой заказ не пришёл", "zh", "抱歉，我只能用中文或英文为您服务"),
        ("0001234567", "en", "I couldn't find order 0001234567"),
        ("0001234567", "zh", "没有在您的账户中找到订单 0001234567"),
    ],
)
async def test_a_bad_order_number_is_re_asked_in_the_customers_language(
    services: ActionServices, text: str, language: str, expected: str
) -> None:
    dispatcher, slots = await validate(services, answer("order_number", text, language=language))
    assert texts(dispatcher)[0].startswith(expected)
    assert slots["order_number"] is None
    assert slots["form_retries"] == {"order_number": 1}
    assert slots.get("requested_slot", "order_number") == "order_number"


async def test_an_order_of_another_shop_customer_never_names_its_product(services: ActionServices) -> None:
    class OwnedOrders:
        async def lookup(self, order_number: str) -> Order | None:
            from intake.orders import BLENDER, OrderItem, OrderStatus

            return Order(order_number, OrderStatus.PLACED, (OrderItem(BLENDER),), customer_id="someone-else")

    services.orders = OwnedOrders()
    dispatcher, slots = await validate(services, answer("order_number", "1234567890"))
    assert slots["order_number"] == "1234567890" and "product" not in slots and texts(dispatcher) == []


async def test_an_order_system_outage_accepts_the_number_unverified(services: ActionServices) -> None:
    class Down:
        async def lookup(self, order_number: str) -> Order | None:
            raise OrderLookupFailed("503")

    services.orders = Down()
    dispatcher, slots = await validate(services, answer("order_number", "1234567890"))
    assert slots["order_number"] == "1234567890"
    assert texts(dispatcher) == [
        "I couldn't check order 1234567890 with our order system just now, so I've noted it as you gave it."
    ]


async def test_without_an_order_system_a_well_formed_number_is_taken_as_given(services: ActionServices) -> None:
    services.orders = None  # no FD_INTAKE_ORDER_API_URL and no demo orders
    dispatcher, slots = await validate(services, answer("order_number", "0001234567"))
    assert slots["order_number"] == "0001234567" and texts(dispatcher) == []
    assert slots["requested_slot"] == "product"  # nothing known about the order: the customer names the product
    dispatcher, slots = await validate(services, answer("order_number", "12ab"))
    assert slots["order_number"] is None and texts(dispatcher)  # the format is still checked


# -- free-text slots --------------------------------------------------------------------------------------------------

BAD_TEXT = [
    ("asdfgh qwerty", "en", "Sorry, I couldn't understand that."),
    ("😡😡😡", "en", "Sorry, I couldn't read that."),
    ("😡😡😡", "zh", "抱歉，我没能看懂。"),
    ("x" * 1500, "en", "That's a bit long for this answer."),
    ("<b>broken</b>", "zh", "请只发送纯文字"),
    ("<script>document.cookie</script> it broke", "en", "Please send plain text only"),
    ("Mi licuadora no funciona y está rota", "en", "Sorry, I can only help in English or Chinese."),
    ("Мой блендер сломался", "zh", "抱歉，我只能用中文或英文为您服务"),
    ("啊啊啊啊啊", "zh", "抱歉，我没能理解。"),
]


@pytest.mark.parametrize(("text", "language", "expected"), BAD_TEXT)
@pytest.mark.parametrize("slot", ["description", "product"])
async def test_bad_free_text_is_re_asked_and_nothing_collected_is_lost(
    services: ActionServices, slot: str, text: str, language: str, expected: str
) -> None:
    collected = {"order_number": "1000000002", "contact": "a@b.cn"}
    dispatcher, slots = await validate(services, answer(slot, text, language=language, slots=collected))
    assert texts(dispatcher)[0].startswith(expected)
    assert slots[slot] is None
    assert slots["form_retries"] == {slot: 1}
    assert not ({"order_number", "contact"} & {k for k, v in slots.items() if v is None})


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("It makes a loud noise and then stops", "en"),
        ("开机后有异响然后停止", "zh"),
        ("The HDTV stand wobbles", "en"),
        ("Canon DSLR shutter jams", "en"),
    ],
)
async def test_a_real_description_is_kept(services: ActionServices, text: str, language: str) -> None:
    dispatcher, slots = await validate(services, answer("description", text, language=language))
    assert slots["description"] == text and texts(dispatcher) == []


@pytest.mark.parametrize("product", ["Canon DSLR", "HDTV stand", "LCD TV", "iPhone"])
async def test_real_product_names_are_not_gibberish(services: ActionServices, product: str) -> None:
    dispatcher, slots = await validate(services, answer("product", product))
    assert slots["product"] == product and texts(dispatcher) == []


async def test_a_one_word_description_asks_for_a_little_more(services: ActionServices) -> None:
    dispatcher, slots = await validate(services, answer("description", "broken"))
    assert slots["description"] is None and "few more words" in texts(dispatcher)[0]


async def test_a_product_named_in_the_order_is_normalised_to_the_ordered_item(services: ActionServices) -> None:
    _, slots = await validate(services, answer("product", "the kettle", slots={"order_number": "1000000002"}))
    assert slots["product"] == "AquaBoil 1.7L Electric Kettle"
    _, slots = await validate(
        services, answer("product", "烤面包机", language="zh", slots={"order_number": "1000000002"})
    )
    assert slots["product"] == "CrispUp 双片烤面包机"


# -- cancelling ------------------------------------------------------------------------------------------------------


async def test_a_report_after_a_cancel_asks_every_question_again(services: ActionServices) -> None:
    left_over = {
        "order_number": "1000000001",
        "product": "PowerMix 900 Blender",
        "description": "it smokes when I switch it on",
        "category": "product_fault",
        "urgency": "high",
        "contact": "alex@example.com",
        "form_retries": {"urgency": 1},
    }
    cancel = make_tracker("never mind", intent="cancel", slots={**left_over, "requested_slot": "urgency"})
    dispatcher = CollectingDispatcher()
    reset = slot_sets(await ActionResetIssueForm(services).run(dispatcher, cancel, DOMAIN))
    assert reset == {
        **dict.fromkeys(FORM_SLOTS),
        "form_stuck": False,
        "form_retries": None,
        "requested_slot": None,
    }
    assert dispatcher.messages == []  # utter_issue_cancelled already told the customer

    def report(slots: dict[str, Any]) -> Tracker:
        return make_tracker("I want to report a problem", intent="report_issue", slots=slots, active_loop="issue_form")

    _, stale = await validate(services, report(left_over))
    assert stale["requested_slot"] is None  # without the reset the old answers would submit a ticket at once
    _, fresh = await validate(services, report({**left_over, **reset}))
    assert fresh["requested_slot"] == "order_number"


# -- retries and form_stuck -------------------------------------------------------------------------------------------


async def test_a_slot_is_re_asked_twice_then_the_form_gives_up_and_submits(services: ActionServices) -> None:
    collected = {"product": "Blender", "description": "it smokes"}
    _, first = await validate(services, answer("order_number", "nope", slots=collected))
    _, second = await validate(
        services, answer("order_number", "still no", slots={**collected, "form_retries": first["form_retries"]})
    )
    assert second["form_retries"] == {"order_number": 2} and "form_stuck" not in second
    dispatcher, third = await validate(
        services, answer("order_number", "???", slots={**collected, "form_retries": second["form_retries"]})
    )
    assert third["form_stuck"] is True
    assert third["requested_slot"] is None  # no required slots left: the form submits
    assert texts(dispatcher) == ["Let's not get stuck on this. I'll pass what we have to a colleague."]
    assert "product" not in third and "description" not in third  # untouched


async def test_a_stuck_form_requires_no_more_slots(services: ActionServices) -> None:
    tracker = make_tracker("x", slots={"form_stuck": True}, active_loop="issue_form")
    assert (
        await ValidateIssueForm(services).required_slots(
            DOMAIN["forms"]["issue_form"]["required_slots"], CollectingDispatcher(), tracker, DOMAIN
        )
        == []
    )


async def test_an_interrupting_intent_is_not_counted_as_a_bad_answer(services: ActionServices) -> None:
    tracker = answer("order_number", "how do returns work?", intent="ask_question")
    dispatcher, slots = await validate(services, tracker)
    assert slots["order_number"] is None and "form_retries" not in slots and texts(dispatcher) == []


async def test_an_invalid_value_arriving_unasked_keeps_the_earlier_one(services: ActionServices) -> None:
    history = [{"event": "slot", "name": "order_number", "value": "1000000001"}, user_event("earlier")]
    tracker = make_tracker(
        "call me on 12345",
        slots={"requested_slot": "contact", "order_number": "12345"},
        candidates={"order_number": "12345", "contact": "call me on 12345"},
        history=history,
        active_loop="issue_form",
    )
    _, slots = await validate(services, tracker)
    assert slots["order_number"] == "1000000001"


# -- category ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "intent", "expected"),
    [
        ('/inform{"category":"delivery"}', "inform", "delivery"),
        ("billing", "inform", "billing"),
        ("退货退款", "inform", "refund_return"),
        ("yes", "affirm", "product_fault"),
        ("对", "affirm", "product_fault"),
        ("1", "inform", "product_fault"),
        ("it's really about the late delivery", "inform", "delivery"),
    ],
)
async def test_the_category_is_confirmed_from_buttons_words_or_a_yes(
    services: ActionServices, text: str, intent: str, expected: str
) -> None:
    tracker = answer("category", text, intent=intent, slots={"description": "the blender is broken"})
    dispatcher, slots = await validate(services, tracker)
    assert slots["category"] == expected and texts(dispatcher) == []


async def test_saying_no_to_the_suggestion_asks_again_without_counting(services: ActionServices) -> None:
    tracker = answer("category", "no", intent="deny", slots={"description": "the blender is broken"})
    dispatcher, slots = await validate(services, tracker)
    assert slots["category"] is None and "form_retries" not in slots and texts(dispatcher) == []


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("purple", "en", "Please pick one of the categories below."),
        ("紫色", "zh", "请从下面的类别中选择一个。"),
        ("<img src=x onerror=alert(1)>", "en", "Please send plain text only"),
    ],
)
async def test_an_unknown_category_is_re_asked(
    services: ActionServices, text: str, language: str, expected: str
) -> None:
    dispatcher, slots = await validate(services, answer("category", text, language=language))
    assert slots["category"] is None and texts(dispatcher)[0].startswith(expected)


async def test_asking_the_category_offers_the_suggestion_first_with_its_cues(services: ActionServices) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("x", slots={"description": "I was charged twice for my order", "language": "en"})
    await ActionAskCategory(services).run(dispatcher, tracker, DOMAIN)
    assert "billing and payment" in texts(dispatcher)[0] and "charged twice" in texts(dispatcher)[0]
    payloads = [b["payload"] for b in buttons(dispatcher)]
    assert payloads[0] == '/inform{"category":"billing"}' and len(payloads) == 6


async def test_asking_the_category_in_chinese_without_cues_lists_every_category(services: ActionServices) -> None:
    dispatcher = CollectingDispatcher()
    await ActionAskCategory(services).run(dispatcher, make_tracker("x", slots={"language": "zh"}), DOMAIN)
    assert texts(dispatcher) == ["请问您的问题属于哪一类？请选择："]
    assert [b["title"] for b in buttons(dispatcher)][:2] == ["产品故障", "物流配送"]


# -- urgency ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "intent", "description", "expected"),
    [
        ('/inform{"urgency":"high"}', "inform", "", "high"),
        ("非常紧急", "inform", "", "urgent"),
        ("not urgent", "inform", "", "normal"),
        ("yes", "affirm", "the kettle is smoking", "urgent"),
        ("是的", "affirm", "我要投诉", "high"),
        ("1", "inform", "the kettle is smoking", "urgent"),
        ("there are sparks", "inform", "", "urgent"),
    ],
)
async def test_urgency_is_confirmed_from_buttons_words_or_a_yes(
    services: ActionServices, text: str, intent: str, description: str, expected: str
) -> None:
    tracker = answer("urgency", text, intent=intent, slots={"description": description or None})
    _, slots = await validate(services, tracker)
    assert slots["urgency"] == expected


@pytest.mark.parametrize(("text", "language"), [("whenever lol", "en"), ("🔥", "zh"), ("x" * 300, "en")])
async def test_an_unreadable_urgency_is_re_asked(services: ActionServices, text: str, language: str) -> None:
    dispatcher, slots = await validate(services, answer("urgency", text, language=language))
    assert slots["urgency"] is None and slots["form_retries"] == {"urgency": 1} and texts(dispatcher)


async def test_asking_the_urgency_suggests_from_safety_cues(services: ActionServices) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("x", slots={"description": "电热水壶冒烟了", "language": "zh"})
    await ActionAskUrgency(services).run(dispatcher, tracker, DOMAIN)
    assert "非常紧急" in texts(dispatcher)[0] and "冒烟" in texts(dispatcher)[0]
    assert buttons(dispatcher)[0]["payload"] == '/inform{"urgency":"urgent"}'
    dispatcher = CollectingDispatcher()
    await ActionAskUrgency(services).run(dispatcher, make_tracker("x", slots={"description": "slow"}), DOMAIN)
    assert texts(dispatcher) == ["How urgent is this for you?"]


# -- contact ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("alex@example.com", "alex@example.com"),
        ("you can mail me at Alex.Chen@Example.co.uk thanks", "alex.chen@example.co.uk"),
        ("+86 138-0013-8000", "+8613800138000"),
        ("我的手机 13800138000", "13800138000"),
    ],
)
async def test_a_phone_or_email_is_accepted_and_normalised(services: ActionServices, text: str, expected: str) -> None:
    _, slots = await validate(services, answer("contact", text))
    assert slots["contact"] == expected


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("call me maybe", "en", "Please give a phone number or an email address"),
        ("123", "zh", "请提供一个能联系到您的手机号或邮箱"),
        ("<a href=x>me</a>", "en", "Please send plain text only"),
    ],
)
async def test_a_bad_contact_is_re_asked(services: ActionServices, text: str, language: str, expected: str) -> None:
    dispatcher, slots = await validate(services, answer("contact", text, language=language))
    assert slots["contact"] is None and texts(dispatcher)[0].startswith(expected)
