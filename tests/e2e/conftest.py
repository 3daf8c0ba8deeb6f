"""A real Rasa server with the trained model and a real front door, started once per test session."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.stack import Stack, running_stack

ROOT = Path(__file__).resolve().parents[2]
CJK = re.compile(r"[\u4e00-\u9fff]")


def add_agent(username: str, password: str, **settings: str) -> None:
    """Add an agent account through the real CLI, with ``settings`` (``FD_*`` variables) naming the stack's database.

    ``--password=`` keeps a generated password that starts with ``-`` from being read as an option.
    """
    command = [sys.executable, "-m", "server.cli", "users", "add", username, "--role", "agent"]
    command.append(f"--password={password}")
    subprocess.run(command, cwd=ROOT, env={**os.environ, **settings}, check=True, capture_output=True)


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    var_dir = tmp_path_factory.mktemp("stack")
    # The dialogue tests use the demo orders (1000000001 is a blender); production has an order system or none.
    with running_stack(ROOT, var_dir, os.environ, {"FD_INTAKE_DEMO_ORDERS": "1"}) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


class Customer:
    """A customer of the JSON API: starts a conversation and talks."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str) -> None:
        self.http = http
        self.base_url = base_url
        self.conversation_id = ""
        self.token = ""
        self.visitor_token = ""

    async def start(self, **body: Any) -> dict[str, Any]:
        async with self.http.post(f"{self.base_url}/api/v1/conversations", json=body) as response:
            assert response.status == 201, await response.text()
            data: dict[str, Any] = await response.json()
        self.conversation_id, self.token = data["conversation_id"], data["customer_token"]
        self.visitor_token = data["visitor_token"]
        return data

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def say(self, text: str, payload: str | None = None) -> list[dict[str, Any]]:
        body: dict[str, Any] = {"text": text}
        if payload:
            body["payload"] = payload
        url = f"{self.base_url}/api/v1/conversations/{self.conversation_id}/messages"
        async with self.http.post(url, json=body, headers=self.headers) as response:
            assert response.status == 200, await response.text()
            messages: list[dict[str, Any]] = (await response.json())["messages"]
            return messages

    async def leave(self) -> None:
        """Ends the chat (the widget's "start a new conversation"): a handoff still waiting leaves the queue, so the
        tests that share the stack never find it ahead of their own customer."""
        url = f"{self.base_url}/api/v1/conversations/{self.conversation_id}/close"
        async with self.http.post(url, headers=self.headers) as response:
            assert response.status == 200, await response.text()

    async def history(self) -> list[dict[str, Any]]:
        url = f"{self.base_url}/api/v1/conversations/{self.conversation_id}/messages"
        async with self.http.get(url, headers=self.headers) as response:
            assert response.status == 200
            messages: list[dict[str, Any]] = (await response.json())["messages"]
            return messages


@pytest.fixture
async def customer(http: aiohttp.ClientSession, stack: Stack) -> Customer:
    customer = Customer(http, stack.frontdoor_url)
    await customer.start()
    return customer
