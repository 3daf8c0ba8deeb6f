"""Serves the Rasa custom actions inside the front-door process, at `POST /webhook`.

Rasa's action endpoint points here, so actions share this process's knowledge-base index, stores and handoff
state with no extra hop or cache. The request and response shapes are rasa-sdk's, handled by its `ActionExecutor`.
Only Rasa may call this: every request must carry the shared action token (Rasa's `action_endpoint.token`), from
loopback too (anything on this host could otherwise forge a tracker). Without `FD_ACTIONS_TOKEN` the token is
generated on first start and kept in `var/actions-token`, which `frontdoor run` hands to the Rasa it starts.
Customers can never reach their tracker through it.

The actions run with the deployment's settings: the order system `FD_INTAKE_*` asks for (`bot.app` builds it: the
shop's order system over HTTP, the demo orders only when `FD_INTAKE_DEMO_ORDERS` is set, else none: numbers are
checked by format), the customer records (proofs link identities, a form's contact is saved), the handoff
thresholds of `FD_HANDOFF_*` and the ticket numbering of `FD_INTAKE_TICKET_PREFIX`.
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

from aiohttp import web
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import ActionExecutionRejection, ActionMissingDomainException, ActionNotFoundException

from actions import ActionServices, build_executor
from actions.feedback import RecordedFeedback
from actions.services import ActionSettings
from bot.keys import CONVERSATIONS, CUSTOMERS, INTAKE, KB, ORDERS, RECORD, SETTINGS, TICKETS
from bot.settings import Settings
from bot.telemetry import METRICS, MeteredKnowledgeSearch
from handoff.triggers import HandoffPolicy
from observability import bind_turn, sane_request_id
from web.exceptions import BadRequest, Forbidden
from web.http import parse_json_object

log = logging.getLogger(__name__)

ACTION_EXECUTOR = web.AppKey("action_executor", ActionExecutor)
# Rasa sends the whole tracker and domain with every call: far larger than a customer message.
MAX_ACTION_CALL_BYTES = 16 * 1024 * 1024


ACTIONS_TOKEN = web.AppKey("actions_token", str)
# Under FD_VAR_DIR: the generated token, when FD_ACTIONS_TOKEN sets none.
ACTIONS_TOKEN_FILE = "actions-token"  # noqa: S105 - a file name, not a secret


def actions_token(settings: Settings) -> str:
    """The token Rasa must send: `FD_ACTIONS_TOKEN`, else the one kept in `var/actions-token`, made (readable by
    this user only) on first call. Replicas sharing a var directory share it; others must set FD_ACTIONS_TOKEN."""
    if settings.actions_token:
        return settings.actions_token
    path = settings.var_dir / ACTIONS_TOKEN_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: of two processes starting together, one writes the token and the other reads it.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_token(path)
    with os.fdopen(fd, "w", encoding="ascii") as file:
        file.write(secrets.token_urlsafe(32))
    return _read_token(path)


def _read_token(path: Path) -> str:
    # The writer may be between creating and writing it: wait for it briefly rather than start with no token.
    for _ in range(50):
        token = path.read_text(encoding="ascii").strip()
        if token:
            return token
        time.sleep(0.01)
    raise RuntimeError(f"{path} is empty: delete it, or set FD_ACTIONS_TOKEN")


def caller_allowed(request: web.Request, token: str) -> bool:
    given = request.query.get("token", "").encode("utf-8", "surrogatepass")
    return bool(token) and hmac.compare_digest(given, token.encode())


async def read_action_call(request: web.Request) -> dict[str, object]:
    # aiohttp inflates a deflate-encoded body (Rasa may compress) and counts the limit after inflating.
    raw = await request.clone(client_max_size=MAX_ACTION_CALL_BYTES).read()
    call = parse_json_object(raw, "action call")
    if not isinstance(call.get("tracker"), dict):
        raise BadRequest("an action call needs 'next_action' and 'tracker'", "bad_action_call")
    return call


def call_correlation(call: Mapping[str, object]) -> tuple[str | None, str | None]:
    """(request id, conversation id) of the turn this call belongs to: the front door sent the request id as the
    user message's metadata (bot/rasa_client.py), and the tracker's sender is the conversation."""
    tracker = call.get("tracker")
    if not isinstance(tracker, Mapping):
        return None, None
    sender = tracker.get("sender_id")
    latest = tracker.get("latest_message")
    metadata = latest.get("metadata") if isinstance(latest, Mapping) else None
    request_id = metadata.get("request_id") if isinstance(metadata, Mapping) else None
    return (
        sane_request_id(request_id) if isinstance(request_id, str) else None,
        sender if isinstance(sender, str) and sender else None,
    )


async def run_action(request: web.Request) -> web.Response:
    if not caller_allowed(request, request.app[ACTIONS_TOKEN]):
        log.warning("actions webhook refused a call from %s without the right token", request.remote)
        raise Forbidden("only Rasa may call actions")
    call = await read_action_call(request)
    request_id, conversation_id = call_correlation(call)
    # Log lines of this call carry the customer turn's ids, not the webhook request's own.
    with bind_turn(request_id=request_id, conversation_id=conversation_id):
        return await _run_action(request, call)


async def _run_action(request: web.Request, call: dict[str, object]) -> web.Response:
    started = time.perf_counter()
    try:
        result = await request.app[ACTION_EXECUTOR].run(call)
    except ActionExecutionRejection as exc:
        return web.json_response({"error": exc.message, "action_name": exc.action_name}, status=400)
    except ActionNotFoundException as exc:
        log.error("Rasa asked for an unknown action: %s", exc.action_name)
        return web.json_response({"error": exc.message, "action_name": exc.action_name}, status=404)
    except ActionMissingDomainException as exc:
        return web.json_response({"error": exc.message, "action_name": exc.action_name}, status=449)
    body = result.model_dump() if result is not None else {"events": [], "responses": []}
    log.info(
        "action ran",
        extra={
            "action": str(call.get("next_action") or ""),
            "events": len(body.get("events") or []),
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )
    return web.json_response(body)


async def _actions_context(app: web.Application) -> AsyncIterator[None]:
    """Builds the actions with this process's services; runs after the KB context (tickets come with storage)."""
    settings = app[SETTINGS]
    app[ACTIONS_TOKEN] = actions_token(settings)
    intake_settings = app[INTAKE]
    recorder = app.get(RECORD)
    services = ActionServices(
        knowledge_base=MeteredKnowledgeSearch(app[KB], app[METRICS]),
        tickets=app[TICKETS],
        orders=app.get(ORDERS),  # built with the app's client session (bot.app's _rasa); None: no order system
        handoff_policy=HandoffPolicy(settings.handoff.policy()),
        feedback=RecordedFeedback(app[KB], recorder) if recorder is not None else app[KB],
        customers=app[CONVERSATIONS],
        records=app[CUSTOMERS],
        settings=ActionSettings(intake=intake_settings),
    )
    app[ACTION_EXECUTOR] = build_executor(services)
    yield


def setup_actions(app: web.Application) -> None:
    app.router.add_post("/webhook", run_action)
    app.cleanup_ctx.append(_actions_context)
