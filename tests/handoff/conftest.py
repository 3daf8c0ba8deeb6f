"""Fixtures for the handoff tests: Redis database 3 (flushed around each test), stores over [memory, redis], a fake
clock, and a service wired to a memory bus."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
import redis.asyncio as aioredis

from backends.bus import MemoryEventBus
from handoff import AgentProfile, HandoffService, HandoffStore, MemoryHandoffStore, RedisHandoffStore, RoutingSettings
from tests.conftest import REDIS_URL, redis_database

HANDOFF_REDIS_DB = 3
T0 = 1_790_000_000.0  # a fixed epoch second (2026-09-21, a Monday, 14:13 UTC)


class FakeClock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


def new_redis_client() -> aioredis.Redis:
    """Another connection pool to the same database: a stand-in for another front-door process."""
    return aioredis.Redis.from_url(f"{REDIS_URL}/{HANDOFF_REDIS_DB}")


@pytest.fixture
async def redis_client() -> AsyncIterator[aioredis.Redis]:
    async with redis_database(HANDOFF_REDIS_DB) as client:
        yield client


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[HandoffStore]:
    """The same contract over both backends."""
    if request.param == "memory":
        yield MemoryHandoffStore()
        return
    async with redis_database(HANDOFF_REDIS_DB) as client:
        yield RedisHandoffStore(client)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def bus() -> MemoryEventBus:
    return MemoryEventBus()


@pytest.fixture
def make_service(store: HandoffStore, bus: MemoryEventBus, clock: FakeClock) -> Callable[..., HandoffService]:
    def make(settings: RoutingSettings | None = None) -> HandoffService:
        return HandoffService(store, bus, settings or RoutingSettings(), clock=clock)

    return make


def agent(agent_id: str, *skills: str, languages: tuple[str, ...] = ("zh",), capacity: int = 2) -> AgentProfile:
    return AgentProfile(
        id=agent_id, display_name=agent_id.title(), skills=skills, languages=languages, capacity=capacity
    )
