"""Order numbers and order lookup: the format check, the `OrderLookup` seam, a demo order set and an HTTP client.

Owns what an order looks like to the bot and `order_lookup`, which picks the lookup the settings ask for: the shop's
order system (`FD_INTAKE_ORDER_API_URL`), the demo orders only when `FD_INTAKE_DEMO_ORDERS` says so, else none
(order numbers are then checked by format only). Must never decide about tickets or priority, and must never treat
"the order system is down" as "no such order" (that raises `OrderLookupFailed`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol
from urllib.parse import quote

import aiohttp

from intake.exceptions import InvalidOrderNumber, OrderLookupFailed
from intake.settings import DEFAULT_ORDER_NUMBER_PATTERN, IntakeConfig


class OrderStatus(StrEnum):
    PLACED = "placed"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    RETURNED = "returned"


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    name_zh: str = ""

    def display_name(self, language: str) -> str:
        return self.name_zh if language == "zh" and self.name_zh else self.name


@dataclass(frozen=True)
class OrderItem:
    product: Product
    quantity: int = 1


@dataclass(frozen=True)
class Order:
    number: str
    status: OrderStatus
    items: tuple[OrderItem, ...]
    customer_id: str = ""  # empty: the order system does not say whose it is
    customer_name: str = ""
    placed_at: float = 0.0

    def belongs_to(self, customer_id: str) -> bool:
        """Unknown owners are trusted: only a known, different owner hides an order."""
        return not self.customer_id or not customer_id or self.customer_id == customer_id

    def product_names(self, language: str = "en") -> list[str]:
        return [item.product.display_name(language) for item in self.items]

    def find_product(self, text: str) -> Product | None:
        """The ordered product the customer's words name, in either language (e.g. 'blender' / '搅拌机')."""
        lowered = text.lower()
        for item in self.items:
            # Brand words and model numbers rarely appear in complaints; 'blender' and '搅拌机' do.
            words = re.findall(r"[a-z]{4,}", item.product.name.lower())
            cjk_words = re.findall(r"[\u4e00-\u9fff]{2,}", item.product.name_zh)
            if any(re.search(rf"\b{w}s?\b", lowered) for w in words) or any(
                w in text or w[-2:] in text for w in cjk_words
            ):
                return item.product
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "status": self.status.value,
            "customer_id": self.customer_id,
            "customer_name": self.customer_name,
            "placed_at": self.placed_at,
            "items": [
                {"sku": i.product.sku, "name": i.product.name, "name_zh": i.product.name_zh, "quantity": i.quantity}
                for i in self.items
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Order:
        return cls(
            number=str(data["number"]),
            status=OrderStatus(data.get("status", OrderStatus.PLACED.value)),
            items=tuple(
                OrderItem(
                    Product(str(i.get("sku", "")), str(i["name"]), str(i.get("name_zh", ""))),
                    int(i.get("quantity", 1)),
                )
                for i in data.get("items", [])
            ),
            customer_id=str(data.get("customer_id") or ""),
            customer_name=str(data.get("customer_name") or ""),
            placed_at=float(data.get("placed_at") or 0.0),
        )


class OrderNumberFormat:
    """The configurable order-number rule (default: 10 to 20 digits)."""

    def __init__(self, pattern: str = DEFAULT_ORDER_NUMBER_PATTERN) -> None:
        self._full = re.compile(rf"(?:{pattern})")
        # Searching inside free text: the number must not be glued to more digits.
        self._inside = re.compile(rf"(?<!\d)(?:{pattern})(?!\d)")

    def is_valid(self, text: str) -> bool:
        return self._full.fullmatch(self.normalise(text)) is not None

    def find(self, text: str) -> str | None:
        """The first order number in a sentence ('my order is 1234567890'), else None."""
        match = self._inside.search(text.translate(_FULLWIDTH_DIGITS))
        return match.group(0) if match else None

    def parse(self, text: str) -> str:
        number = self.normalise(text)
        if self._full.fullmatch(number) is None:
            raise InvalidOrderNumber(text)
        return number

    @staticmethod
    def normalise(text: str) -> str:
        """Full-width digits (１２３) to ASCII; spaces, dashes and a leading '#' dropped."""
        return re.sub(r"[\s\-#]", "", text.translate(_FULLWIDTH_DIGITS))


_FULLWIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


class OrderLookup(Protocol):
    async def lookup(self, order_number: str) -> Order | None:
        """The order, or None when there is no such order. Raises OrderLookupFailed when it cannot tell."""


BLENDER = Product("BL-900", "PowerMix 900 Blender", "PowerMix 900 搅拌机")
KETTLE = Product("KT-17", "AquaBoil 1.7L Electric Kettle", "AquaBoil 1.7L 电热水壶")
TOASTER = Product("TS-2", "CrispUp 2-Slice Toaster", "CrispUp 双片烤面包机")
HEADPHONES = Product("HP-Q3", "QuietWave Q3 Headphones", "QuietWave Q3 降噪耳机")
VACUUM = Product("VC-R5", "RoboClean R5 Vacuum", "RoboClean R5 扫地机器人")
COFFEE = Product("CM-B1", "BrewMaster Coffee Machine", "BrewMaster 咖啡机")

DEMO_CATALOGUE = (BLENDER, KETTLE, TOASTER, HEADPHONES, VACUUM, COFFEE)

DEMO_ORDERS: Mapping[str, Order] = {
    "1000000001": Order("1000000001", OrderStatus.DELIVERED, (OrderItem(BLENDER),), customer_name="Alex Chen"),
    "1000000002": Order(
        "1000000002", OrderStatus.DELIVERED, (OrderItem(KETTLE), OrderItem(TOASTER)), customer_name="王芳"
    ),
    "1000000003": Order("1000000003", OrderStatus.SHIPPED, (OrderItem(HEADPHONES),), customer_name="Sam Lee"),
    "1000000004": Order("1000000004", OrderStatus.PLACED, (OrderItem(VACUUM, 1),), customer_name="李雷"),
}


class DemoOrderLookup:
    """A deterministic stand-in for an order system.

    The fixed `DEMO_ORDERS` come first; any other well-formed number maps to a generated one-item order (same
    number, same product every time), except numbers starting with '000', which do not exist — so demos and tests
    can show both outcomes.
    """

    def __init__(self, number_format: OrderNumberFormat | None = None, orders: Mapping[str, Order] = DEMO_ORDERS):
        self._format = number_format or OrderNumberFormat()
        self._orders = dict(orders)

    async def lookup(self, order_number: str) -> Order | None:
        number = self._format.normalise(order_number)
        if number in self._orders:
            return self._orders[number]
        if not self._format.is_valid(number) or number.startswith("000"):
            return None
        digest = int(hashlib.sha256(number.encode()).hexdigest(), 16)
        product = DEMO_CATALOGUE[digest % len(DEMO_CATALOGUE)]
        status = (OrderStatus.DELIVERED, OrderStatus.SHIPPED, OrderStatus.PLACED)[digest // 7 % 3]
        return Order(number, status, (OrderItem(product),))


class HttpOrderLookup:
    """Asks a deployment's order system: `GET {base_url}/orders/{number}` -> 200 JSON (`Order.from_dict`) or 404.

    The session belongs to the caller (an aiohttp `cleanup_ctx` in the front door), so this class never opens or
    closes connections.
    """

    def __init__(
        self, session: aiohttp.ClientSession, base_url: str, *, timeout_s: float = 5.0, token: str = ""
    ) -> None:
        self._session = session
        self._base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def lookup(self, order_number: str) -> Order | None:
        url = f"{self._base_url}/orders/{quote(order_number, safe='')}"
        try:
            async with self._session.get(url, timeout=self._timeout, headers=self._headers) as response:
                if response.status == 404:
                    return None
                if response.status != 200:
                    raise OrderLookupFailed(f"order system answered {response.status} for {url}")
                data = await response.json()
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise OrderLookupFailed(f"order system failed: {exc!r}") from exc
        try:
            return Order.from_dict(data)
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise OrderLookupFailed(f"order system sent an unreadable order: {exc!r}") from exc


def order_lookup(config: IntakeConfig, session: aiohttp.ClientSession) -> OrderLookup | None:
    """The lookup `config` asks for; None: there is no order system, numbers are accepted by their format alone."""
    if config.order_api_url:
        return HttpOrderLookup(
            session, config.order_api_url, timeout_s=config.order_api_timeout_s, token=config.order_api_token
        )
    if config.demo_orders:
        return DemoOrderLookup(OrderNumberFormat(config.order_pattern))
    return None
