"""The OpenAPI 3.1 description of the JSON APIs, built from the application's own routes.

A handler under `/api/` declares what it takes and answers with `documented(access, summary, …)`, beside its route;
the router gives the method and the path, and the handler's docstring the description. So the description has one
home per operation, a route and its description cannot drift apart, and a test fails for a route without one.
Every failure of these APIs is a JSON error (`web.http.error_body`), so each operation's `4XX` answer is that shape.
Knows no route and no program: each program declares its own `Access` (who may call, how they prove it).
"""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import hdrs, web

log = logging.getLogger(__name__)

JsonSchema = Mapping[str, Any]
Handler = TypeVar("Handler", bound=Callable[..., Any])

OPENAPI_PATH = "/api/openapi.json"
_OPERATION_ATTRIBUTE = "__openapi_operation__"
_UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_PATH_PARAMETER = re.compile(r"{(\w+)}")
ERROR_REF = "#/components/schemas/Error"

ERROR_SCHEMA: JsonSchema = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "stable, machine-readable: bad_json, bad_<field>, …"},
                "message": {"type": "string", "description": "for a person, in English"},
            },
        }
    },
}


# ---- JSON Schema shorthands, so declarations stay one line a field ---------------------------------------------


def string(*, max_length: int | None = None, enum: Iterable[str] | None = None, **extra: Any) -> JsonSchema:
    schema: dict[str, Any] = {"type": "string", **extra}
    if max_length is not None:
        schema["maxLength"] = max_length
    if enum is not None:
        schema["enum"] = list(enum)
    return schema


def integer(*, minimum: int | None = None, maximum: int | None = None) -> JsonSchema:
    schema: dict[str, Any] = {"type": "integer"}
    if minimum is not None:
        schema["minimum"] = minimum
    if maximum is not None:
        schema["maximum"] = maximum
    return schema


BOOLEAN: JsonSchema = {"type": "boolean"}
NUMBER: JsonSchema = {"type": "number"}
OBJECT: JsonSchema = {"type": "object"}
STRINGS: JsonSchema = {"type": "array", "items": {"type": "string"}}


def nullable(schema: JsonSchema) -> JsonSchema:
    return {"anyOf": [schema, {"type": "null"}]}


def obj(*, required: Iterable[str] = (), **properties: JsonSchema) -> JsonSchema:
    """A JSON object with these properties (others are ignored by the handlers, so allowed)."""
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    names = list(required)
    if names:
        schema["required"] = names
    return schema


# ---- who may call ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Security:
    """An OpenAPI security scheme (`scheme`: its object) under `name`; `writes_only`: required only by the methods
    that change something (a CSRF token)."""

    name: str
    scheme: JsonSchema
    writes_only: bool = False


@dataclass(frozen=True)
class Access:
    """Who may call an operation (`who`: shown in the description, e.g. "agent") and the schemes that prove it, all
    required together; none: anyone."""

    who: str
    schemes: tuple[Security, ...] = ()


PUBLIC = Access("anyone")


@dataclass(frozen=True)
class Operation:
    """What one handler takes and answers. `body`: the request body's schema (None: no body is read), of
    `body_media_type`; `query`: each query parameter's schema (all optional); `status`: the success status (or
    statuses); `media_type` (or types) and `result`: the success body's schema (None: a JSON object, or any file);
    `websocket`: the route upgrades to a WebSocket (its docstring describes the frames)."""

    access: Access
    summary: str
    body: JsonSchema | None = None
    body_media_type: str = "application/json"
    query: Mapping[str, JsonSchema] = field(default_factory=dict)
    status: int | tuple[int, ...] = 200
    media_type: str | tuple[str, ...] = "application/json"
    result: JsonSchema | None = None
    websocket: bool = False

    def to_openapi(self, handler: Callable[..., Any], method: str, path: str) -> dict[str, Any]:
        operation: dict[str, Any] = {
            "operationId": f"{handler.__module__}.{handler.__qualname__}",
            "summary": self.summary,
            "description": "\n\n".join(filter(None, [inspect.getdoc(handler), f"Who may call: {self.access.who}."])),
            "tags": [path.split("/")[3] if path.count("/") >= 3 else "api"],
            "parameters": [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
                for name in _PATH_PARAMETER.findall(path)
            ]
            + [{"name": name, "in": "query", "required": False, "schema": dict(s)} for name, s in self.query.items()],
            "responses": self._responses(),
            "security": [{s.name: [] for s in self.access.schemes if method in _UNSAFE_METHODS or not s.writes_only}],
        }
        if self.body is not None:
            operation["requestBody"] = {"required": False, "content": {self.body_media_type: {"schema": self.body}}}
        return operation

    def _responses(self) -> dict[str, Any]:
        errors = {"description": "a JSON error", "content": {"application/json": {"schema": {"$ref": ERROR_REF}}}}
        if self.websocket:
            return {
                "101": {"description": "switched to a WebSocket (see the description for its frames)"},
                "4XX": errors,
            }
        media_types = self.media_type if isinstance(self.media_type, tuple) else (self.media_type,)
        success = {"description": "success", "content": {m: {"schema": self._result(m)} for m in media_types}}
        statuses = self.status if isinstance(self.status, tuple) else (self.status,)
        return {**{str(status): success for status in statuses}, "4XX": errors}

    def _result(self, media_type: str) -> JsonSchema:
        if self.result is not None:
            return self.result
        return OBJECT if media_type == "application/json" else {}  # a file (CSV, YAML): any content


def documented(
    access: Access,
    summary: str,
    *,
    body: JsonSchema | None = None,
    body_media_type: str = "application/json",
    query: Mapping[str, JsonSchema] | None = None,
    status: int | tuple[int, ...] = 200,
    media_type: str | tuple[str, ...] = "application/json",
    result: JsonSchema | None = None,
    websocket: bool = False,
) -> Callable[[Handler], Handler]:
    """Declares the handler's operation for the OpenAPI document (place it below the route decorator)."""
    operation = Operation(
        access, summary, body, body_media_type, query or {}, status, media_type, result, websocket=websocket
    )

    def declare(handler: Handler) -> Handler:
        setattr(handler, _OPERATION_ATTRIBUTE, operation)
        return handler

    return declare


def operation_of(handler: Callable[..., Any]) -> Operation | None:
    operation = getattr(handler, _OPERATION_ATTRIBUTE, None)
    return operation if isinstance(operation, Operation) else None


def api_routes(app: web.Application) -> list[tuple[str, str, Callable[..., Any]]]:
    """(method, path, handler) of every route under /api/ (HEAD, which aiohttp adds to each GET, left out)."""
    found = []
    for route in app.router.routes():
        path = route.resource.canonical if route.resource is not None else ""
        if path.startswith("/api/") and route.method != hdrs.METH_HEAD:
            found.append((route.method, path, route.handler))
    return found


def openapi_document(app: web.Application, title: str, version: str) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every /api/ route `app` serves (a program run alone documents only its own)."""
    paths: dict[str, dict[str, Any]] = {}
    schemes: dict[str, JsonSchema] = {}
    for method, path, handler in api_routes(app):
        operation = operation_of(handler)
        if operation is None:
            log.warning("%s %s has no OpenAPI description", method, path)
            continue
        paths.setdefault(path, {})[method.lower()] = operation.to_openapi(handler, method, path)
        schemes.update({s.name: s.scheme for s in operation.access.schemes})
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": "Every error is a JSON body `{error: {code, message}}` with a 4xx status.",
        },
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": {"Error": ERROR_SCHEMA}, "securitySchemes": schemes},
    }


__all__ = [
    "BOOLEAN",
    "NUMBER",
    "OBJECT",
    "OPENAPI_PATH",
    "PUBLIC",
    "STRINGS",
    "Access",
    "JsonSchema",
    "Operation",
    "Security",
    "api_routes",
    "documented",
    "integer",
    "nullable",
    "obj",
    "openapi_document",
    "operation_of",
    "string",
]
