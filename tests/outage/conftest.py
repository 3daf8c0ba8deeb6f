"""A Redis server of the test's own, on a free loopback port, that the test stops and starts (an outage), and the
front door over it with a scripted Rasa."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import serving
from tests.wechat.wechat_fakes import FakeWeChatAPI

STARTUP_WAIT_S = 10.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class RedisServer:
    """`redis-server` without persistence: `stop()` kills it (kill -9, so nothing is saved), `start()` brings up an
    empty one on the same port: Redis back after an outage with its data gone."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}"
        self._workdir = workdir
        self._process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self._process = await asyncio.create_subprocess_exec(
            *("redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no"),
            cwd=self._workdir,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        deadline = asyncio.get_running_loop().time() + STARTUP_WAIT_S
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                if asyncio.get_running_loop().time() > deadline:
                    raise
                await asyncio.sleep(0.05)
                continue
            writer.close()
            await writer.wait_closed()
            return

    async def stop(self) -> None:
        if self._process is None:
            return
        self._process.kill()
        await self._process.wait()
        self._process = None


@pytest.fixture
async def redis_server(tmp_path: Path) -> AsyncIterator[RedisServer]:
    server = RedisServer(tmp_path)
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
async def fake_api() -> AsyncIterator[tuple[FakeWeChatAPI, str]]:
    """WeChat's API (a fake on loopback) and its URL, for a front door with a WeChat account."""
    fake = FakeWeChatAPI()
    async with serving(fake.app()) as url:
        yield fake, url
