"""One customer turn carries one request id and its conversation id through every log line: the channel's, the
pipeline's and those of the action calls Rasa makes back into the front door."""

from __future__ import annotations

import io
import logging

import aiohttp
import pytest
import structlog

from observability import bind_turn, configure_logging, correlation, sane_request_id
from tests.observability.conftest import CapturedLogs, FrontDoor


async def test_an_action_call_logs_the_request_and_conversation_ids_of_the_turn(
    running: FrontDoor, logs: CapturedLogs
) -> None:
    async with aiohttp.ClientSession() as session:
        conversation_id, headers = await running.conversation(session)
        path = f"{running.url}/api/v1/conversations/{conversation_id}/messages"
        async with session.post(path, json={"text": "hello"}, headers=headers | {"X-Request-ID": "req-42"}) as resp:
            assert resp.status == 200
            assert resp.headers["X-Request-ID"] == "req-42"
    (turn,) = logs.find("turn")
    (action,) = logs.find("action ran")
    for line in (turn, action):
        assert line["request_id"] == "req-42"
        assert line["conversation_id"] == conversation_id
    assert action["logger"] == "bot.actions_endpoint"
    assert action["action"] == "action_reset_issue_form"
    assert turn["logger"] == "bot.pipeline"
    assert turn["channel"] == "web"
    assert turn["outcome"] == "bot"
    # Rasa got them as the user message's metadata and the request id as a header too.
    assert running.rasa.turns[0]["metadata"]["request_id"] == "req-42"
    assert running.rasa.turns[0]["metadata"]["conversation_id"] == conversation_id
    assert running.rasa.headers[0]["X-Request-ID"] == "req-42"


async def test_a_request_without_a_sane_id_gets_a_new_one(running: FrontDoor) -> None:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{running.url}/healthz", headers={"X-Request-ID": "bad id\twith spaces"}) as resp:
            generated = resp.headers["X-Request-ID"]
        async with session.get(f"{running.url}/healthz") as resp:
            other = resp.headers["X-Request-ID"]
    assert generated != "bad id\twith spaces"
    assert sane_request_id(generated) == generated
    assert other != generated


async def test_error_responses_echo_the_request_id(running: FrontDoor) -> None:
    headers = {"X-Request-ID": "req-404"}
    async with aiohttp.ClientSession() as session, session.get(f"{running.url}/nope", headers=headers) as resp:
        assert resp.status == 404
        assert resp.headers["X-Request-ID"] == "req-404"


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("3f2a9c1e-7b7d-4c1a-9d0e-1234567890ab", True),
        ("req-42", True),
        ("", False),
        ("x" * 129, False),
        ("a b", False),
        ('"quoted"', False),
        ("line\nbreak", False),
    ],
)
def test_only_short_plain_request_ids_are_kept(given: str, kept: bool) -> None:
    assert (sane_request_id(given) == given) is kept


async def test_bound_ids_are_restored_after_the_block() -> None:
    with bind_turn(request_id="outer"):
        with bind_turn(request_id="inner", conversation_id="conv-1"):
            assert correlation() == {"request_id": "inner", "conversation_id": "conv-1"}
        assert correlation() == {"request_id": "outer"}
    assert correlation() == {}


def test_a_log_line_is_one_json_object_with_the_documented_fields(logs: CapturedLogs) -> None:
    with bind_turn(request_id="req-7", conversation_id="conv-7"):
        logging.getLogger("frontdoor.test").warning("something %s", "odd", extra={"reason": "test"})
    (line,) = logs.find("something odd")
    assert line["level"] == "warning"
    assert line["logger"] == "frontdoor.test"
    assert line["timestamp"].endswith("Z")
    assert line["request_id"] == "req-7"
    assert line["conversation_id"] == "conv-7"
    assert line["reason"] == "test"


def test_an_exception_is_logged_with_its_traceback(logs: CapturedLogs) -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("frontdoor.test").exception("failed")
    (line,) = logs.find("failed")
    assert "RuntimeError: boom" in line["exception"]


def test_console_format_is_readable_text_not_json() -> None:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    stream = io.StringIO()
    try:
        configure_logging("INFO", "console", stream)
        with bind_turn(request_id="req-c"):
            logging.getLogger("frontdoor.test").info("hello there")
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)
        structlog.reset_defaults()
    line = stream.getvalue().strip()
    assert "hello there" in line
    assert "request_id=req-c" in line
    assert not line.startswith("{")
