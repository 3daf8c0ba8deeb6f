"""A started program moves what its startup made out of the garbage collector's reach (`gc.freeze`), so full
collections during requests walk only what requests made (docs/benchmarks.md §8)."""

from __future__ import annotations

import gc

from aiohttp import web

from server.cli import start_runner


async def test_what_startup_made_is_frozen_once_the_services_have_started() -> None:
    app = web.Application()
    made: list[object] = []

    async def start_a_service(_app: web.Application) -> None:
        made.append({"a long-lived": ["structure"]})

    app.on_startup.append(start_a_service)
    gc.unfreeze()
    runner = await start_runner(web.AppRunner(app))
    try:
        assert made  # the services started first
        assert gc.get_freeze_count() > 0
    finally:
        await runner.cleanup()
        gc.unfreeze()  # the test process collects as before
