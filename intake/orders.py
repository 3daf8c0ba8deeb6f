"""Order numbers and the shop's order system: the format check, the `OrderLookup` and `OrderHistory` seams, a demo
order set and the HTTP adapter.

Owns what an order looks like to the front door — its items, and whose it is (the shop's customer id, email and
phone, which make an order number plus that phone or email a proof of identity: `Order.proven_by`) — and
`order_lookup`, which picks what the settings ask for: the shop's order system over HTTP (`FD_INTAKE_ORDER_API_URL`;
`frontdoor run` points it at a demo order service on loopback), the in-process demo orders only when
`FD_INTAKE_DEMO_ORDERS` says so, else none (order numbers are then checked by format only). Must never decide about
tickets or priority, and must never treat "the order system is down" or "it answered garbage" as "no such order"
(both raise `OrderLookupFailed`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol
from urllib.parse import quote

import aiohttp

from conversations.identity import IdentityKey, IdentityKind, email_key, phone_key
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
    customer_id: str = ""  # the shop's customer id; empty: the order system does not say whose it is
    customer_name: str = ""
    placed_at: float = 0.0  # epoch s
    customer_email: str = ""
    customer_phone: str = ""

    def owner_keys(self) -> tuple[IdentityKey, ...]:
        """Who the order system says placed it: the shop's customer id, email and phone, as identity keys."""
        keys = [IdentityKey(IdentityKind.SHOP.value, self.customer_id)] if self.customer_id else []
        keys += [k for k in (email_key(self.customer_email), phone_key(self.customer_phone)) if k is not None]
        return tuple(keys)

    def owned_by(self, keys: Collection[IdentityKey]) -> bool:
        """Whether a customer holding `keys` may see this order's details. Unknown owners are trusted (an order
        that names nobody is whoever gives its number); otherwise one of the owner's keys must be among `keys`."""
        owner = self.owner_keys()
        return not owner or any(key in keys for key in owner)

    def proven_by(self, contact: IdentityKey | None) -> tuple[IdentityKey, ...]:
        """The keys a customer proves by giving this order's number and `contact`: when `contact` is the order's
        email or phone, that contact and the shop's customer id; else nothing."""
        owner = self.owner_keys()
        if contact is None or contact.kind == IdentityKind.SHOP.value or contact not in owner:
            return ()
        return tuple(k for k in owner if k == contact or k.kind == IdentityKind.SHOP.value)

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
            "customer_email": self.customer_email,
            "customer_phone": self.customer_phone,
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
            customer_email=str(data.get("customer_email") or ""),
            customer_phone=str(data.get("customer_phone") or ""),
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


class OrderHistory(Protocol):
    async def orders_of(self, keys: Sequence[IdentityKey], limit: int = ...) -> list[Order]:
        """Orders placed by whoever holds any of `keys` (shop customer ids, emails, phones; other kinds are
        ignored), newest first, at most `limit`. Raises OrderLookupFailed when the order system cannot tell."""


class OrderSystem(OrderLookup, OrderHistory, Protocol):
    """Both: what the HTTP adapter and the demo orders offer."""


ORDER_HISTORY_LIMIT = 20
OWNER_QUERY = {
    IdentityKind.SHOP.value: "customer_id",
    IdentityKind.EMAIL.value: "email",
    IdentityKind.PHONE.value: "phone",
}


def owner_query(keys: Sequence[IdentityKey]) -> list[tuple[str, str]]:
    """The order system's query parameters for `keys` (`customer_id`, `email`, `phone`; repeated for several)."""
    return [(OWNER_QUERY[k.kind], k.value) for k in keys if k.kind in OWNER_QUERY]


BLENDER = Product("BL-900", "PowerMix 900 Blender", "PowerMix 900 搅拌机")
KETTLE = Product("KT-17", "AquaBoil 1.7L Electric Kettle", "AquaBoil 1.7L 电热水壶")
TOASTER = Product("TS-2", "CrispUp 2-Slice Toaster", "CrispUp 双片烤面包机")
HEADPHONES = Product("HP-Q3", "QuietWave Q3 Headphones", "QuietWave Q3 降噪耳机")
VACUUM = Product("VC-R5", "RoboClean R5 Vacuum", "RoboClean R5 扫地机器人")
COFFEE = Product("CM-B1", "BrewMaster Coffee Machine", "BrewMaster 咖啡机")

DEMO_CATALOGUE = (BLENDER, KETTLE, TOASTER, HEADPHONES, VACUUM, COFFEE)


def _demo(
    number: str, status: OrderStatus, items: tuple[OrderItem, ...], owner: tuple[str, str, str, str], day: int
) -> Order:
    shop_id, name, email, phone = owner
    # Placed in November 2026 (day of the month), noon UTC.
    return Order(number, status, items, shop_id, name, 1_793_534_400.0 + (day - 1) * 86400, email, phone)


ALEX = ("shop-1001", "Alex Chen", "alex.chen@example.com", "+86 138 0013 8001")
WANG_FANG = ("shop-1002", "王芳", "wang.fang@example.cn", "139 0013 9002")
SAM = ("shop-1003", "Sam Lee", "sam.lee@example.com", "")
LI_LEI = ("shop-1004", "李雷", "", "137 0013 7004")

# The demo customers' orders: numbers and phones to try the proof with (an order number plus its email or phone).
DEMO_ORDERS: Mapping[str, Order] = {
    "1000000001": _demo("1000000001", OrderStatus.DELIVERED, (OrderItem(BLENDER),), ALEX, 20),
    "1000000002": _demo("1000000002", OrderStatus.DELIVERED, (OrderItem(KETTLE), OrderItem(TOASTER)), WANG_FANG, 18),
    "1000000003": _demo("1000000003", OrderStatus.SHIPPED, (OrderItem(HEADPHONES),), SAM, 25),
    "1000000004": _demo("1000000004", OrderStatus.PLACED, (OrderItem(VACUUM, 1),), LI_LEI, 27),
    "1000000005": _demo("1000000005", OrderStatus.DELIVERED, (OrderItem(COFFEE),), ALEX, 3),
}


class DemoOrderLookup:
    """A deterministic stand-in for an order system: the demo order service (`server/demo_orders.py`) serves it
    over HTTP, and `FD_INTAKE_DEMO_ORDERS` uses it in process.

    The fixed `DEMO_ORDERS` (the demo customers' own) come first; any other well-formed number maps to a generated
    one-item order that names no owner (same number, same product every time), except numbers starting with '000',
    which do not exist — so demos and tests can show every outcome.
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

    async def orders_of(self, keys: Sequence[IdentityKey], limit: int = ORDER_HISTORY_LIMIT) -> list[Order]:
        wanted = set(keys)
        found = [o for o in self._orders.values() if wanted.intersection(o.owner_keys())]
        return sorted(found, key=lambda o: (-o.placed_at, o.number))[:limit]


class HttpOrderLookup:
    """Asks a deployment's order system over HTTP:

    - `GET {base_url}/orders/{number}` -> 200 JSON (`Order.from_dict`) or 404 (no such order);
    - `GET {base_url}/orders?customer_id=…&email=…&phone=…&limit=N` (any of them, each may repeat) -> 200
      `{"orders": [Order JSON, …]}`: the orders of whoever holds any of them, newest first.

    Every request gives up after `timeout_s`; a timeout, a refused connection, another status, or a body that is
    not an order all raise OrderLookupFailed with what went wrong. The session belongs to the caller (an aiohttp
    `cleanup_ctx` in the front door), so this class never opens or closes connections.
    """

    def __init__(
        self, session: aiohttp.ClientSession, base_url: str, *, timeout_s: float = 5.0, token: str = ""
    ) -> None:
        self._session = session
        self._base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}

    async def lookup(self, order_number: str) -> Order | None:
        data = await self._get(f"/orders/{quote(order_number, safe='')}", ())
        return None if data is None else _order(data)

    async def orders_of(self, keys: Sequence[IdentityKey], limit: int = ORDER_HISTORY_LIMIT) -> list[Order]:
        query = owner_query(keys)
        if not query:
            return []
        data = await self._get("/orders", [*query, ("limit", str(limit))])
        if data is None:
            return []  # the order system knows no such customer
        orders = data.get("orders") if isinstance(data, dict) else None
        if not isinstance(orders, list):
            raise OrderLookupFailed("order system sent no 'orders' list")
        return [_order(item) for item in orders][:limit]

    async def _get(self, path: str, params: Sequence[tuple[str, str]]) -> Any:
        """The JSON body of a 200, None for a 404; OrderLookupFailed otherwise."""
        url = self._base_url + path
        try:
            async with self._session.get(url, params=params, timeout=self._timeout, headers=self._headers) as response:
                if response.status == 404:
                    return None
                if response.status != 200:
                    raise OrderLookupFailed(f"order system answered {response.status} for {url}")
                return await response.json()
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise OrderLookupFailed(f"order system failed: {exc!r}") from exc


def _order(data: Any) -> Order:
    try:
        return Order.from_dict(data)
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise OrderLookupFailed(f"order system sent an unreadable order: {exc!r}") from exc


def order_lookup(config: IntakeConfig, session: aiohttp.ClientSession) -> OrderSystem | None:
    """The lookup `config` asks for; None: there is no order system, numbers are accepted by their format alone."""
    if config.order_api_url:
        return HttpOrderLookup(
            session, config.order_api_url, timeout_s=config.order_api_timeout_s, token=config.order_api_token
        )
    if config.demo_orders:
        return DemoOrderLookup(OrderNumberFormat(config.order_pattern))
    return None
