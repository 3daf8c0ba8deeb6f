"""Schemathesis against the live front door, from the OpenAPI document it serves: for every operation of both
programs, generated requests (valid and invalid bodies, query strings, path parameters and headers) never get a 5xx,
and every answer has a documented status, content type and body shape (errors: the JSON error body with a 4xx).

Credentials are real (a staff member with every role and its CSRF token, and a customer's token), and half the
requests use a real value for each path parameter, so that they reach the handlers' checks past "not found"."""

from __future__ import annotations

import zlib
from collections.abc import Iterator

import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.openapi.live import LiveApp, described_api, live_app

# Cases per operation in the fuzzing phase, besides the coverage phase's edge cases: 69 operations finish in a few
# minutes on two cores.
MAX_EXAMPLES = 15
CONFIG = {
    "generation": {
        "mode": "all",
        "max-examples": MAX_EXAMPLES,
        "deterministic": True,
        "database": "none",
        # The session's real credentials, not generated ones (a wrong cookie or token is a 401, tested elsewhere).
        "with-security-parameters": False,
    },
    "phases": {"examples": {"enabled": False}, "stateful": {"enabled": False}},
}
# Besides no 5xx: every status and content type is one the document declares, and every body matches its schema
# (so every 4xx is the JSON error shape).
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    with live_app(tmp_path_factory.mktemp("live")) as app:
        yield app


# The document both programs serve (`test_document` checks the served one is this), built at collection time
# without starting anything: schemathesis makes one test of each operation.
schema = schemathesis.openapi.from_dict(described_api(), config=schemathesis.Config.from_dict(CONFIG))


def _real_ids(case: schemathesis.Case, known: dict[str, str]) -> None:
    """Half the cases (a coin from the generated value, so runs repeat) get a real value for each path parameter."""
    for name, value in (case.path_parameters or {}).items():
        if zlib.crc32(repr(value).encode()) % 2:
            case.path_parameters[name] = known[name]


@pytest.mark.slow
@schema.parametrize()
def test_no_generated_request_gets_a_server_error_or_an_undocumented_answer(
    case: schemathesis.Case, live: LiveApp
) -> None:
    _real_ids(case, live.known)
    case.call_and_validate(base_url=live.url, session=live.session, checks=CHECKS, timeout=30)
