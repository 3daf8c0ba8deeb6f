"""Log configuration: every log line, from `logging` or structlog, leaves as one JSON object (or a readable line).

Owns `configure_logging`, called once by the entry point (`frontdoor serve` / `run`). The code keeps using the
standard `logging` module; structlog's `ProcessorFormatter` adds the timestamp (UTC, ISO 8601), level, logger name,
the correlation ids bound in `observability.correlation`, and any `extra={...}` fields of the call. Must never be
called by library code or at import time: tests and tools keep their own logging.
"""

from __future__ import annotations

import logging
import sys
from enum import StrEnum
from typing import TextIO

import structlog
from structlog.typing import Processor


class LogFormat(StrEnum):
    AUTO = ""  # console on a terminal, JSON otherwise
    JSON = "json"
    CONSOLE = "console"


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def configure_logging(level: str = "INFO", fmt: LogFormat | str = LogFormat.AUTO, stream: TextIO | None = None) -> None:
    """Routes the root logger (and structlog) to one handler on `stream` (stderr by default), replacing the root
    logger's handlers."""
    out = stream if stream is not None else sys.stderr
    chosen = LogFormat(fmt)
    if chosen is LogFormat.AUTO:
        chosen = LogFormat.CONSOLE if out.isatty() else LogFormat.JSON
    renderer: Processor
    if chosen is LogFormat.CONSOLE:
        renderer = structlog.dev.ConsoleRenderer(colors=out.isatty())
        finishing: list[Processor] = []
    else:
        renderer = structlog.processors.JSONRenderer(ensure_ascii=False)
        finishing = [structlog.processors.format_exc_info]
    formatter = structlog.stdlib.ProcessorFormatter(
        # Lines from `logging`: their `extra=` fields become keys.
        foreign_pre_chain=[*_shared_processors(), structlog.stdlib.ExtraAdder()],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *finishing, renderer],
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
