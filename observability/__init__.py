"""Logs, correlation ids and metrics for the front door, with no web code: `bot/telemetry.py` wires them to aiohttp.

Domain packages never import this package; they are measured from the layer that calls them.
"""

from observability.correlation import (
    REQUEST_ID_HEADER,
    bind_turn,
    correlation,
    new_request_id,
    sane_request_id,
)
from observability.logs import LogFormat, configure_logging
from observability.metrics import Metrics

__all__ = [
    "REQUEST_ID_HEADER",
    "LogFormat",
    "Metrics",
    "bind_turn",
    "configure_logging",
    "correlation",
    "new_request_id",
    "sane_request_id",
]
