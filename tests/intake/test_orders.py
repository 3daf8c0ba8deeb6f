from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from intake import DemoOrderLookup, HttpOrderLookup, InvalidOrderNumber, OrderLookupFailed, OrderNumberFormat


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


@pytest.fixture
async def order_api() -> AsyncIterator[str]:
    async def handler(request: web.Request) -> web.Response:
        number = request.match_info["number"]
        if number == "1111111111":
            return web.json_response(
                {"number": number, "status": "shipped", "customer_id": "c9", "items": [{"sku": "X", "name": "Lamp"}]}
            )
        if number == "2222222222":
            return web.Response(status=500)
        return web.Response(status=404)

    app = web.Application()
    app.router.add_get("/orders/{number}", handler)
    server = TestServer(app)
    await server.start_server()
    try:
        yield str(server.make_url("/"))
    finally:
        await server.close()


async def test_the_http_lookup_reads_orders_and_tells_missing_from_failing(order_api: str) -> None:
    async with aiohttp.ClientSession() as session:
        lookup = HttpOrderLookup(session, order_api)
        order = await lookup.lookup("1111111111")
        assert order is not None and order.customer_id == "c9" and order.product_names() == ["Lamp"]
        assert await lookup.lookup("3333333333") is None
        with pytest.raises(OrderLookupFailed):
            await lookup.lookup("2222222222")
