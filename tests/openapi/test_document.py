"""The OpenAPI description: every /api/ route either program registers is in it, it is served to anyone as valid
OpenAPI 3.1, and a program run alone describes only its own routes."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
import schemathesis
from aiohttp import web

from bot.settings import Settings
from server.app import Program, create_app
from tests.conftest import serving
from web.openapi import OPENAPI_PATH, PUBLIC, api_routes, documented, openapi_document, operation_of


def _app(tmp_path: Path, *programs: Program) -> web.Application:
    return create_app(Settings(var_dir=tmp_path), programs or tuple(Program))


def test_every_api_route_of_both_programs_is_described(tmp_path: Path) -> None:
    app = _app(tmp_path)
    routes = api_routes(app)
    assert len(routes) > 60
    undescribed = [f"{method} {path}" for method, path, handler in routes if operation_of(handler) is None]
    assert undescribed == [], "describe these with web.openapi.documented"
    paths = openapi_document(app, "frontdoor", "test")["paths"]
    assert {(method.lower(), path) for method, path, _ in routes} == {
        (method, path) for path, operations in paths.items() for method in operations
    }


def test_a_route_without_a_description_is_left_out_and_found_by_the_check(tmp_path: Path) -> None:
    app = _app(tmp_path)

    async def undescribed(_request: web.Request) -> web.Response:
        return web.json_response({})

    app.router.add_get("/api/v1/new-thing", undescribed)
    assert "/api/v1/new-thing" not in openapi_document(app, "frontdoor", "test")["paths"]
    assert [p for _m, p, h in api_routes(app) if operation_of(h) is None] == ["/api/v1/new-thing"]

    @documented(PUBLIC, "A described thing")
    async def described(_request: web.Request) -> web.Response:
        return web.json_response({})

    app.router.add_get("/api/v1/described-thing", described)
    assert "/api/v1/described-thing" in openapi_document(app, "frontdoor", "test")["paths"]


@pytest.mark.parametrize(
    ("programs", "present", "absent"),
    [
        ((Program.CUSTOMERS,), "/api/v1/conversations", "/api/v1/tickets"),
        ((Program.STAFF,), "/api/v1/tickets", "/api/v1/conversations"),
    ],
)
def test_a_program_alone_describes_only_its_routes(
    tmp_path: Path, programs: tuple[Program, ...], present: str, absent: str
) -> None:
    paths = openapi_document(_app(tmp_path, *programs), "frontdoor", "test")["paths"]
    assert present in paths
    assert absent not in paths


async def test_the_document_is_served_to_anyone_and_is_valid_openapi(tmp_path: Path) -> None:
    async with (
        serving(_app(tmp_path)) as url,
        aiohttp.ClientSession() as session,
        session.get(f"{url}{OPENAPI_PATH}") as response,
    ):
        assert response.status == 200
        document = await response.json()
    assert document["openapi"].startswith("3.1")
    schema = schemathesis.openapi.from_dict(document)  # validates it against the OpenAPI 3.1 meta-schema
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == sum(len(methods) for methods in document["paths"].values())
    reply = document["paths"]["/api/v1/console/conversations/{conversation_id}/messages"]["post"]
    assert reply["security"] == [{"staffSession": [], "csrfToken": []}]
    assert document["paths"]["/api/v1/tickets"]["get"]["security"] == [{"staffSession": []}]
    assert document["paths"]["/api/v1/conversations"]["post"]["security"] == [{}]
    assert "4XX" in reply["responses"]
