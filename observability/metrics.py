"""The front door's Prometheus metrics: one definition each, in one registry owned by the app.

Owns the metric names, units, labels and buckets (docs/operations.md lists them), and the small recording methods
the pipeline, the actions webhook and the HTTP middleware call. Must never use prometheus-client's module-global
default registry (several apps in one test process would collide), and never label by anything unbounded (ids,
raw paths, free text).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

log = logging.getLogger(__name__)

TURN_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 20.0)
KB_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
QUEUE_WAIT_BUCKETS_S = (5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0, 3600.0)
EXPOSITION_CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    """Every metric the front door exports. Methods are cheap and synchronous: they are called on the request path."""

    def __init__(self) -> None:
        # Refreshers of the gauges read from shared state (queue lengths), awaited before each scrape.
        self.before_scrape: list[Callable[[], Awaitable[None]]] = []
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.turn_seconds = Histogram(
            "frontdoor_turn_seconds",
            "One customer message through the front door (ConversationPipeline.receive), by channel and outcome.",
            ["channel", "outcome"],
            buckets=TURN_BUCKETS_S,
            registry=r,
        )
        self.rasa_seconds = Histogram(
            "frontdoor_rasa_call_seconds",
            "One REST turn to Rasa (including the custom actions it calls), by outcome (ok, failed).",
            ["outcome"],
            buckets=TURN_BUCKETS_S,
            registry=r,
        )
        self.kb_seconds = Histogram(
            "frontdoor_kb_decision_seconds",
            "One knowledge-base search for a customer's question, by language.",
            ["language"],
            buckets=KB_BUCKETS_S,
            registry=r,
        )
        self.kb_decisions = Counter(
            "frontdoor_kb_decisions",
            "Knowledge-base decisions for customers' questions, by decision (answer, clarify, not_found) and language.",
            ["decision", "language"],
            registry=r,
        )
        self.handoffs = Counter(
            "frontdoor_handoffs",
            "Handoff requests the bot or the front door raised, by reason code.",
            ["reason"],
            registry=r,
        )
        self.queue_length = Gauge(
            "frontdoor_handoff_queue_length",
            "Conversations waiting in each skill queue (read when scraped; shared state under Redis).",
            ["skill"],
            registry=r,
        )
        self.queue_oldest_wait_seconds = Gauge(
            "frontdoor_handoff_queue_oldest_wait_seconds",
            "How long the longest-waiting conversation of each skill queue has waited (read when scraped).",
            ["skill"],
            registry=r,
        )
        self.queue_wait_seconds = Histogram(
            "frontdoor_handoff_queue_wait_seconds",
            "Wall-clock wait from entering a skill queue to assignment (auto, claim or pull; agent-to-agent transfers "
            "excluded; a requeued conversation keeps its original entry time), observed at assignment.",
            ["skill"],
            buckets=QUEUE_WAIT_BUCKETS_S,
            registry=r,
        )
        self.http_responses = Counter(
            "frontdoor_http_responses",
            "HTTP responses, by method, route template (not the raw path) and status code.",
            ["method", "route", "status"],
            registry=r,
        )
        self.http_seconds = Histogram(
            "frontdoor_http_request_seconds",
            "Time to answer an HTTP request (a WebSocket counts until it closes), by method and route template.",
            ["method", "route"],
            registry=r,
        )
        self.rasa_turns_waiting = Gauge(
            "frontdoor_rasa_turns_waiting",
            "Turns waiting for a free slot on their Rasa server (FD_RASA_MAX_TURNS): the queue a peak builds, in "
            "arrival order (read when scraped).",
            registry=r,
        )
        self.open_chats = Gauge(
            "frontdoor_open_chats",
            "Conversations with a customer's chat window open on this replica: a widget WebSocket or a Socket.IO "
            "session (read when scraped).",
            registry=r,
        )
        self.errors = Counter(
            "frontdoor_errors",
            "Failures, by kind: unhandled (HTTP 5xx), rasa (turn failed), delivery (channel send failed), "
            "kb_search (search raised), metrics_refresh (a gauge could not be read).",
            ["kind"],
            registry=r,
        )

    # ----- the pipeline (bot.pipeline.TurnObserver) -----
    def turn_finished(self, channel: str, outcome: str, seconds: float) -> None:
        self.turn_seconds.labels(channel or "unknown", outcome).observe(seconds)

    def rasa_called(self, ok: bool, seconds: float) -> None:
        self.rasa_seconds.labels("ok" if ok else "failed").observe(seconds)
        if not ok:
            self.errors.labels("rasa").inc()

    def handoff_requested(self, reason: str) -> None:
        self.handoffs.labels(reason or "unknown").inc()

    def delivery_failed(self, channel: str) -> None:
        self.errors.labels("delivery").inc()

    # ----- the knowledge base, as the actions call it -----
    def kb_decided(self, decision: str, language: str, seconds: float) -> None:
        self.kb_seconds.labels(language or "unknown").observe(seconds)
        self.kb_decisions.labels(decision, language or "unknown").inc()

    def kb_failed(self) -> None:
        self.errors.labels("kb_search").inc()

    # ----- HTTP -----
    def http_answered(self, method: str, route: str, status: int, seconds: float) -> None:
        self.http_responses.labels(method, route, str(status)).inc()
        self.http_seconds.labels(method, route).observe(seconds)
        if status >= 500:
            self.errors.labels("unhandled").inc()

    # ----- handoff queues -----
    def queue_waited(self, skill: str, seconds: float) -> None:
        self.queue_wait_seconds.labels(skill or "unknown").observe(max(0.0, seconds))

    def set_queues(self, queues: Iterable[tuple[str, int, float | None]]) -> None:
        """(skill, length, oldest wait in seconds or None) for every queue; queues no longer listed disappear."""
        self.queue_length.clear()
        self.queue_oldest_wait_seconds.clear()
        for skill, length, oldest_wait_s in queues:
            self.queue_length.labels(skill).set(length)
            self.queue_oldest_wait_seconds.labels(skill).set(oldest_wait_s or 0.0)

    async def exposition(self) -> bytes:
        """The text exposition; a refresher that fails leaves its gauges as they were and is logged, so an outage of
        shared state (Redis) never hides the rest of the metrics."""
        for refresh in self.before_scrape:
            try:
                await refresh()
            except Exception:
                log.exception("a metrics refresher failed")
                self.errors.labels("metrics_refresh").inc()
        return generate_latest(self.registry)
