import asyncio
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from intake import (
    DemoOrderLookup,
    HttpOrderLookup,
    IntakeConfig,
    InvalidOrderNumber,
    OrderLookupFailed,
    OrderNumberFormat,
    order_lookup,
)


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


def test_an_order_with_a_known_owner_is_hidden_from_other_customers() -> None:
    from intake import Order, OrderStatus

    order = Order("1234567890", OrderStatus.PLACED, (), customer_id="c1")
    assert order.belongs_to("c1") and not order.belongs_to("c2")
    assert Order("1234567890", OrderStatus.PLACED, ()).belongs_to("anyone")


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


@pytest.fixture
async def order_system() -> AsyncIterator[tuple[OrderSystem, str]]:
    system = OrderSystem()
    app = web.Application()
    app.router.add_get("/orders/{number}", system.handle)
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
