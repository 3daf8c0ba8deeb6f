"""Running torch work in a fresh child process.

Owns `run_spawned`, which fine-tuning and ONNX export go through, so the serving process never loads torch.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


def run_spawned(function: Callable[..., T], *args: Any) -> T:
    """`function(*args)` in a spawned child; returns its result or raises its error.

    Training grows a process by ~2 GB that the allocator never returns; a child gives it back on exit and keeps the
    serving process's GIL free. Spawned, not forked: forking a process that runs threads (and torch) is unsafe.
    """
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(function, *args).result()
