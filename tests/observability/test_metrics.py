"""/metrics: the expected metrics after a turn, and who may read them (token, loopback, internal port)."""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

import observability
from bot.handoff_bridge import HandoffMeter
from bot.settings import Settings
from bot.telemetry import MeteredKnowledgeSearch
from kb.decision import Decision, KBResult
from observability import Metrics
from tests.observability.conftest import FrontDoor, front_door

TOKEN = "metrics-secret"


async def say(running: FrontDoor, text: str) -> None:
    async with aiohttp.ClientSession() as session:
        conversation_id, headers = await running.conversation(session)
        path = f"{running.url}/api/v1/conversations/{conversation_id}/messages"
        async with session.post(path, json={"text": text}, headers=headers) as response:
            assert response.status == 200


async def scrape(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session, session.get(f"{url}/metrics", headers=headers) as response:
        return response.status, await response.text()


async def test_metrics_after_a_turn_name_the_turn_rasa_http_and_handoff(running: FrontDoor) -> None:
    await say(running, "hello")
    await say(running, "a human please")
    status, text = await scrape(running.url)
    assert status == 200
    assert 'frontdoor_turn_seconds_count{channel="web",outcome="bot"} 1.0' in text
    assert 'frontdoor_turn_seconds_count{channel="web",outcome="handoff"} 1.0' in text
    assert 'frontdoor_rasa_call_seconds_count{outcome="ok"} 2.0' in text
    assert 'frontdoor_handoffs_total{reason="customer_request"} 1.0' in text
    assert re.search(r'^frontdoor_handoff_queue_length\{skill="[^"]+"\} 1\.0$', text, re.MULTILINE)
    assert "frontdoor_handoff_queue_oldest_wait_seconds{" in text
    assert "frontdoor_rasa_turns_waiting 0.0" in text and "frontdoor_open_chats 0.0" in text
    route = "/api/v1/conversations/{conversation_id}/messages"
    assert f'frontdoor_http_responses_total{{method="POST",route="{route}",status="200"}} 2.0' in text
    assert 'frontdoor_http_responses_total{method="POST",route="/webhook",status="200"} 2.0' in text
    for name in ("frontdoor_http_request_seconds", "frontdoor_kb_decision_seconds", "frontdoor_kb_decisions"):
        assert f"# TYPE {name}" in text


async def test_unmatched_paths_share_one_route_label(running: FrontDoor) -> None:
    async with aiohttp.ClientSession() as session:
        for path in ("/nope/1", "/nope/2"):
            async with session.get(f"{running.url}{path}") as response:
                assert response.status == 404
    _, text = await scrape(running.url)
    assert 'frontdoor_http_responses_total{method="GET",route="unmatched",status="404"} 2.0' in text
    assert "/nope/" not in text


async def test_a_bot_failure_counts_as_a_rasa_error_and_a_bot_error_handoff(tmp_path: Path) -> None:
    async for running in front_door({"rasa_url": f"http://127.0.0.1:{free_port()}"}, tmp_path):
        await say(running, "hello")
        _, text = await scrape(running.url)
        assert 'frontdoor_errors_total{kind="rasa"} 1.0' in text
        assert 'frontdoor_rasa_call_seconds_count{outcome="failed"} 1.0' in text
        assert 'frontdoor_turn_seconds_count{channel="web",outcome="bot_error"} 1.0' in text
        assert 'frontdoor_handoffs_total{reason="bot_error"} 1.0' in text


@pytest.fixture
async def with_token(tmp_path: Path) -> AsyncIterator[FrontDoor]:
    async for harness in front_door({"metrics_token": TOKEN}, tmp_path):
        yield harness


async def test_a_configured_token_is_required(with_token: FrontDoor) -> None:
    assert (await scrape(with_token.url))[0] == 403
    assert (await scrape(with_token.url, {"Authorization": "Bearer wrong"}))[0] == 403
    assert (await scrape(with_token.url, {"Authorization": f"Basic {TOKEN}"}))[0] == 403
    status, text = await scrape(with_token.url, {"Authorization": f"Bearer {TOKEN}"})
    assert status == 200
    assert "frontdoor_http_responses_total" in text


def from_address(remote: str) -> Callable[..., Awaitable[web.StreamResponse]]:
    @web.middleware
    async def pretend(
        request: web.Request, handler: Callable[..., Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        return await handler(request.clone(remote=remote))

    return pretend


async def test_without_a_token_only_loopback_callers_are_answered(tmp_path: Path) -> None:
    def from_elsewhere(app: web.Application) -> None:
        app.middlewares.insert(0, from_address("203.0.113.9"))

    async for running in front_door({}, tmp_path, before_start=from_elsewhere):
        assert (await scrape(running.url))[0] == 403
        async with aiohttp.ClientSession() as session, session.get(f"{running.url}/healthz") as response:
            assert response.status in (200, 503)  # the rest of the app still answers remote callers


async def test_without_a_token_a_proxied_request_is_refused(running: FrontDoor) -> None:
    # A reverse proxy on this host makes every caller look like loopback; its headers give it away.
    assert (await scrape(running.url, {"X-Forwarded-For": "203.0.113.9"}))[0] == 403
    assert (await scrape(running.url, {"Forwarded": "for=203.0.113.9"}))[0] == 403


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_an_internal_port_serves_metrics_instead_of_the_public_one(tmp_path: Path) -> None:
    port = free_port()
    async for running in front_door({"metrics_port": port, "metrics_host": "127.0.0.1"}, tmp_path):
        await say(running, "hello")
        assert (await scrape(running.url))[0] == 404
        status, text = await scrape(f"http://127.0.0.1:{port}")
        assert status == 200
        assert 'frontdoor_turn_seconds_count{channel="web",outcome="bot"} 1.0' in text


class FixedSearch:
    def __init__(self, decision: Decision) -> None:
        self.decision = decision

    async def search(self, query: str, language: str) -> KBResult:
        if query == "raise":
            raise RuntimeError("index gone")
        return KBResult(query=query, language=language, decision=self.decision, confidence=0.5)


@pytest.mark.parametrize("decision", list(Decision))
async def test_kb_decisions_are_counted_by_outcome(decision: Decision) -> None:
    metrics = Metrics()
    metered = MeteredKnowledgeSearch(FixedSearch(decision), metrics)
    await metered.search("where is my order", "en")
    text = (await metrics.exposition()).decode()
    assert f'frontdoor_kb_decisions_total{{decision="{decision.value}",language="en"}} 1.0' in text
    assert 'frontdoor_kb_decision_seconds_count{language="en"} 1.0' in text


async def test_a_failed_kb_search_counts_as_an_error() -> None:
    metrics = Metrics()
    with pytest.raises(RuntimeError):
        await MeteredKnowledgeSearch(FixedSearch(Decision.ANSWER), metrics).search("raise", "en")
    assert 'frontdoor_errors_total{kind="kb_search"} 1.0' in (await metrics.exposition()).decode()


async def test_two_registries_do_not_collide() -> None:
    first, second = Metrics(), Metrics()
    first.handoff_requested("complaint")
    assert "complaint" in (await first.exposition()).decode()
    assert "complaint" not in (await second.exposition()).decode()


def assigned(via: str, enqueued_at: float, assigned_at: float) -> dict[str, Any]:
    record = {"skill": "general_en", "enqueued_at": enqueued_at, "assigned_at": assigned_at}
    return {"type": "assigned", "via": via, "record": record}


async def test_a_queue_wait_is_observed_when_the_conversation_is_assigned() -> None:
    metrics = Metrics()
    meter = HandoffMeter(metrics)
    meter.offer("agent:ann", assigned("claim", 1000.0, 1042.0))
    meter.offer("agent:bob", assigned("transfer", 1000.0, 1900.0))  # agent to agent: not a queue wait
    meter.offer("handoff", {"type": "assigned", "via": "auto", "agent_id": "ann"})  # the summary event: no record
    text = (await metrics.exposition()).decode()
    assert 'frontdoor_handoff_queue_wait_seconds_count{skill="general_en"} 1.0' in text
    assert 'frontdoor_handoff_queue_wait_seconds_sum{skill="general_en"} 42.0' in text


def test_every_exported_name_exists_once() -> None:
    for name in observability.__all__:
        assert hasattr(observability, name), name
    assert len(set(observability.__all__)) == len(observability.__all__)


def test_metrics_and_log_settings_come_from_the_environment() -> None:
    env = {"FD_METRICS_TOKEN": "t", "FD_METRICS_HOST": "10.0.0.2", "FD_METRICS_PORT": "9100", "FD_LOG_FORMAT": "json"}
    settings = Settings.from_env(env)
    assert (settings.metrics_token, settings.metrics_host, settings.metrics_port) == ("t", "10.0.0.2", 9100)
    assert settings.log_format == "json"
    defaults = Settings.from_env({})
    assert (defaults.metrics_token, defaults.metrics_port, defaults.log_format) == ("", 0, "")


async def test_a_failing_refresher_leaves_the_other_metrics_readable() -> None:
    metrics = Metrics()

    async def broken() -> None:
        raise ConnectionError("redis is down")

    metrics.before_scrape.append(broken)
    metrics.handoff_requested("complaint")
    text = (await metrics.exposition()).decode()
    assert 'frontdoor_handoffs_total{reason="complaint"} 1.0' in text
    assert 'frontdoor_errors_total{kind="metrics_refresh"} 1.0' in text
