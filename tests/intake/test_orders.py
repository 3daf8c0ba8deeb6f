import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from conversations.identity import IdentityKey, contact_key
from intake import (
    DEMO_ORDERS,
    DemoOrderLookup,
    HttpOrderLookup,
    IntakeConfig,
    InvalidOrderNumber,
    Order,
    OrderLookupFailed,
    OrderNumberFormat,
    OrderStatus,
    order_lookup,
)
from server.demo_orders import demo_order_service


@pytest.mark.parametrize(
    "text", ["1234567890", "12345678901234567890", "１２３４５６７８９０", "1234-5678-90", "#1234567890"]
)
def test_ten_to_twenty_digits_are_an_order_number(text: str) -> None:
    assert OrderNumberFormat().is_valid(text)


@pytest.mark.parametrize("text", ["123456789", "123456789012345678901", "abcdefghij", "12345abcde", "", "🙂🙂"])
def test_other_text_is_not_an_order_number(text: str) -> None:
    assert not OrderNumberFormat().is_valid(text)
    with pytest.raises(InvalidOrderNumber):
        OrderNumberFormat().parse(text)


def test_an_order_number_is_found_inside_a_sentence_but_not_inside_a_longer_number() -> None:
    fmt = OrderNumberFormat()
    assert fmt.find("my order is 1234567890, thanks") == "1234567890"
    assert fmt.find("订单号1000000001") == "1000000001"
    assert fmt.find("call 123456789012345678901234") is None


def test_the_format_is_configurable() -> None:
    fmt = OrderNumberFormat(r"[A-Z]{2}\d{6}")
    assert fmt.is_valid("AB123456") and not fmt.is_valid("1234567890")


async def test_the_demo_knows_the_blender_order_and_generates_others_deterministically() -> None:
    lookup = DemoOrderLookup()
    blender = await lookup.lookup("1000000001")
    assert blender is not None and "Blender" in blender.product_names()[0]
    assert blender.find_product("the blender is broken") is not None
    assert blender.find_product("搅拌机坏了") is not None
    first, again = await lookup.lookup("5550001234"), await lookup.lookup("5550001234")
    assert first is not None and first == again
    assert await lookup.lookup("0001234567") is None
    assert await lookup.lookup("12") is None


def test_an_order_with_a_known_owner_is_shown_only_to_a_customer_holding_one_of_its_keys() -> None:
    order = Order("1234567890", OrderStatus.PLACED, (), customer_id="c1", customer_phone="+86 138 0013 8001")
    assert order.owned_by({IdentityKey("shop", "c1")}) and order.owned_by({IdentityKey("phone", "13800138001")})
    assert not order.owned_by({IdentityKey("shop", "c2"), IdentityKey("phone", "13800138002")})
    assert Order("1234567890", OrderStatus.PLACED, ()).owned_by(set())  # an order that names nobody


def test_the_order_number_and_the_phone_on_it_prove_the_phone_and_the_shop_account() -> None:
    order = DEMO_ORDERS["1000000001"]
    proven = order.proven_by(contact_key("138 0013 8001"))
    assert set(proven) == {IdentityKey("phone", "13800138001"), IdentityKey("shop", "shop-1001")}
    assert set(order.proven_by(contact_key("Alex.Chen@example.com"))) == {
        IdentityKey("email", "alex.chen@example.com"),
        IdentityKey("shop", "shop-1001"),
    }
    assert order.proven_by(contact_key("13800138009")) == () and order.proven_by(None) == ()
    assert order.proven_by(IdentityKey("shop", "shop-1001")) == ()  # the shop's id is not something you prove with


class OrderSystem:
    """A loopback order system: real orders, a missing one, failures, slowness and garbage, by order number."""

    def __init__(self) -> None:
        self.headers: list[str] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.headers.append(request.headers.get("Authorization", ""))
        number = request.match_info["number"]
        answers: dict[str, web.StreamResponse] = {
            "1111111111": web.json_response(
                {"number": number, "status": "shipped", "customer_id": "c9", "items": [{"sku": "X", "name": "Lamp"}]}
            ),
            "2222222222": web.Response(status=500),
            "4444444444": web.Response(text="<html>maintenance</html>", content_type="text/html"),
            "5555555555": web.Response(text="{not json", content_type="application/json"),
            "6666666666": web.json_response(["a", "list"]),
            "7777777777": web.json_response({"number": number, "status": "teleported", "items": []}),
            "8888888888": web.json_response({"number": number, "items": ["not an item"]}),
        }
        if number == "9999999999":
            await asyncio.sleep(5)
        return answers.get(number) or web.Response(status=404)

    async def history(self, request: web.Request) -> web.StreamResponse:
        """Order histories by customer id: a good one, and the ways one goes wrong."""
        self.headers.append(request.headers.get("Authorization", ""))
        who = request.query.get("customer_id", "")
        good = {"number": "1111111111", "status": "shipped", "customer_id": who, "items": []}
        answers: dict[str, web.StreamResponse] = {
            "good": web.json_response({"orders": [good]}),
            "list": web.json_response([good]),
            "no-key": web.json_response({"order": good}),
            "bad-item": web.json_response({"orders": [{"status": "shipped"}]}),
            "html": web.Response(text="<html>oops</html>", content_type="text/html"),
            "error": web.Response(status=502),
        }
        if who == "slow":
            await asyncio.sleep(5)
        return answers.get(who) or web.Response(status=404)


@pytest.fixture
async def order_system() -> AsyncIterator[tuple[OrderSystem, str]]:
    system = OrderSystem()
    app = web.Application()
    app.router.add_get("/orders/{number}", system.handle)
    app.router.add_get("/orders", system.history)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield system, str(server.make_url("/"))
    finally:
        await server.close()


@pytest.fixture
def order_api(order_system: tuple[OrderSystem, str]) -> str:
    return order_system[1]


async def test_the_http_lookup_reads_orders_and_tells_missing_from_failing(order_api: str) -> None:
    async with aiohttp.ClientSession() as session:
        lookup = HttpOrderLookup(session, order_api)
        order = await lookup.lookup("1111111111")
        assert order is not None and order.customer_id == "c9" and order.product_names() == ["Lamp"]
        assert await lookup.lookup("3333333333") is None
        with pytest.raises(OrderLookupFailed):
            await lookup.lookup("2222222222")


@pytest.mark.parametrize(
    ("number", "why"),
    [
        ("4444444444", "not JSON"),
        ("5555555555", "broken JSON"),
        ("6666666666", "a list, not an order"),
        ("7777777777", "an unknown status"),
        ("8888888888", "an item that is not an object"),
    ],
)
async def test_a_garbage_answer_is_a_lookup_failure_not_a_crash(order_api: str, number: str, why: str) -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(OrderLookupFailed):
            await HttpOrderLookup(session, order_api).lookup(number)


async def test_a_slow_order_system_fails_after_the_configured_timeout(order_api: str) -> None:
    config = IntakeConfig.from_env({"FD_INTAKE_ORDER_API_URL": order_api, "FD_INTAKE_ORDER_API_TIMEOUT_S": "0.2"})
    async with aiohttp.ClientSession() as session:
        lookup = order_lookup(config, session)
        assert isinstance(lookup, HttpOrderLookup)
        started = time.monotonic()
        with pytest.raises(OrderLookupFailed):
            await lookup.lookup("9999999999")
        assert time.monotonic() - started < 2


async def test_an_unreachable_order_system_is_a_lookup_failure() -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(OrderLookupFailed):
            await HttpOrderLookup(session, "http://127.0.0.1:9", timeout_s=1).lookup("1111111111")


async def test_the_settings_choose_the_lookup(order_system: tuple[OrderSystem, str]) -> None:
    system, url = order_system
    async with aiohttp.ClientSession() as session:
        api = order_lookup(IntakeConfig(order_api_url=url, order_api_token="t0k"), session)
        assert api is not None and await api.lookup("1111111111") is not None
        assert system.headers == ["Bearer t0k"]
        demo = order_lookup(IntakeConfig(demo_orders=True), session)
        assert isinstance(demo, DemoOrderLookup)
        # Neither: there is no order system, and nothing pretends to be one.
        assert order_lookup(IntakeConfig(), session) is None


@pytest.mark.parametrize("who", ["list", "no-key", "bad-item", "html", "error", "slow"])
async def test_a_garbage_or_slow_order_history_is_a_lookup_failure(order_api: str, who: str) -> None:
    async with aiohttp.ClientSession() as session:
        lookup = HttpOrderLookup(session, order_api, timeout_s=0.3)
        with pytest.raises(OrderLookupFailed):
            await lookup.orders_of([IdentityKey("shop", who)])
        assert [o.number for o in await lookup.orders_of([IdentityKey("shop", "good")])] == ["1111111111"]
        assert await lookup.orders_of([IdentityKey("shop", "nobody")]) == []  # a 404: no such customer
        assert await lookup.orders_of([IdentityKey("web", "visitor")]) == []  # nothing to ask the order system


@pytest.fixture
async def demo_service() -> AsyncIterator[str]:
    async with demo_order_service() as url:
        yield url


async def test_the_http_adapter_reads_the_demo_order_service_end_to_end(demo_service: str) -> None:
    config = IntakeConfig(order_api_url=demo_service, order_api_timeout_s=2)
    async with aiohttp.ClientSession() as session:
        orders = order_lookup(config, session)
        assert isinstance(orders, HttpOrderLookup)
        blender = await orders.lookup("1000000001")
        assert blender == DEMO_ORDERS["1000000001"]  # every field survives the trip, owner and items included
        assert blender.customer_email == "alex.chen@example.com" and blender.product_names() == ["PowerMix 900 Blender"]
        assert await orders.lookup("0001234567") is None
        generated = await orders.lookup("5550001234")
        assert generated is not None and generated.owner_keys() == ()
        alex = await orders.orders_of([IdentityKey("email", "alex.chen@example.com")])
        assert [o.number for o in alex] == ["1000000001", "1000000005"]  # newest first
        by_phone = await orders.orders_of([contact_key("+86 139 0013 9002"), IdentityKey("shop", "shop-1004")])
        assert [o.number for o in by_phone] == ["1000000004", "1000000002"]
        assert [o.number for o in await orders.orders_of([IdentityKey("shop", "shop-1001")], limit=1)] == ["1000000001"]
