"""The embeddable web widget: serves `/widget.js`, opens the customer chat API to other origins (CORS), and hosts
demo pages that embed the widget with one script tag.

Owns which origins may call the customer chat API (`/api/v1/conversations…`, and the common questions the widget
offers, `/api/v1/faq…`) from a browser. It must never add CORS
headers to any other route: staff pages and staff APIs stay same-origin only (they authenticate with a cookie, the
customer API with a bearer token, so opening the latter to any origin leaks nothing a token holder can't read).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from html import escape
from pathlib import Path

from aiohttp import web

from bot.keys import SETTINGS
from bot.settings import Settings
from i18n import LANGUAGES, WIDGET, catalogue_json
from web.http import SECURITY_HEADERS, error_body

STATIC_DIR = Path(__file__).parent / "static"
WIDGET_FILE = STATIC_DIR / "widget.js"
RICH_FILE = STATIC_DIR / "rich.js"
CHAT_API_PREFIX = "/api/v1/conversations"
# What the widget calls from other origins: the chat API and the public FAQ questions it offers (bot/faq.py).
CUSTOMER_API_PREFIXES = (CHAT_API_PREFIX, "/api/v1/faq")
PREFLIGHT_MAX_AGE_S = 600
WIDGET_MAX_AGE_S = 300
DATA_ATTRIBUTES = ("title", "color", "text-color", "greeting", "lang", "position")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def normalise_origin(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


@dataclass(frozen=True)
class OriginPolicy:
    """Which foreign origins may use the customer chat API; `origins=None` means any."""

    origins: frozenset[str] | None = None

    @classmethod
    def from_setting(cls, value: str) -> OriginPolicy:
        names = {normalise_origin(part) for part in value.replace(" ", ",").split(",") if part.strip()}
        if not names or "*" in names:
            return cls(None)
        return cls(frozenset(names))

    @classmethod
    def from_settings(cls, settings: Settings) -> OriginPolicy:
        return cls.from_setting(settings.chat_allowed_origins)

    @property
    def any_origin(self) -> bool:
        return self.origins is None

    def allows(self, origin: str) -> bool:
        return self.origins is None or normalise_origin(origin) in self.origins

    def socketio_cors(self) -> str | list[str]:
        """The form python-socketio's `cors_allowed_origins` takes."""
        return "*" if self.origins is None else sorted(self.origins)


ORIGIN_POLICY = web.AppKey("chat_origin_policy", OriginPolicy)


def own_origins(request: web.Request) -> set[str]:
    """The front door's own origins: the one the request came in on and the configured public URL."""
    return {
        normalise_origin(f"{request.scheme}://{request.host}"),
        normalise_origin(request.app[SETTINGS].effective_public_url),
    }


def is_chat_api(request: web.Request) -> bool:
    return any(request.path == prefix or request.path.startswith(prefix + "/") for prefix in CUSTOMER_API_PREFIXES)


def _foreign_origin(request: web.Request) -> str | None:
    origin = request.headers.get("Origin")
    if origin is None or normalise_origin(origin) in own_origins(request):
        return None
    return origin


@web.middleware
async def chat_cors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answers preflights for the chat API and refuses its use from origins that are not allowed.

    A refused origin gets 403 even for "simple" requests, which a browser would send anyway (it only hides the
    answer); the WebSocket upgrade, which CORS does not cover at all, is checked the same way.
    """
    if not is_chat_api(request):
        return await handler(request)
    origin = _foreign_origin(request)
    if origin is None:
        return await handler(request)
    policy = request.app[ORIGIN_POLICY]
    if not policy.allows(origin):
        return error_body(403, "origin_refused", "this origin may not use the chat API")
    if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
        return web.Response(
            status=204,
            headers={
                "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
                "Access-Control-Allow-Headers": "Authorization, Content-Type",
                "Access-Control-Max-Age": str(PREFLIGHT_MAX_AGE_S),
            },
        )
    return await handler(request)


async def _cors_headers(request: web.Request, response: web.StreamResponse) -> None:
    """Adds the allow-origin header to every chat API answer, error answers included (they are made outside us)."""
    if not is_chat_api(request):
        return
    origin = _foreign_origin(request)
    if origin is None or not request.app[ORIGIN_POLICY].allows(origin):
        return
    if request.app[ORIGIN_POLICY].any_origin:
        response.headers["Access-Control-Allow-Origin"] = "*"
    else:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers.add("Vary", "Origin")


CATALOGUES_MARKER = "/*@catalogues@*/{}"
RICH_MARKER = "/*@rich@*/"


def widget_script() -> str:
    """widget.js with both languages' `widget` catalogues filled in (the widget picks one in the browser) and
    rich.js (showing the bot's sanitised answers, shared with the demo page) inlined: the widget stays one file."""
    catalogues = ",".join(f'"{language}":{catalogue_json(language, WIDGET)}' for language in LANGUAGES)
    source = WIDGET_FILE.read_text(encoding="utf-8")
    for marker in (CATALOGUES_MARKER, RICH_MARKER):
        if marker not in source:
            raise RuntimeError(f"{WIDGET_FILE} lost its {marker} marker")
    source = source.replace(RICH_MARKER, RICH_FILE.read_text(encoding="utf-8"), 1)
    return source.replace(CATALOGUES_MARKER, "{" + catalogues + "}", 1)


WIDGET_SCRIPT = web.AppKey("widget_script", str)


async def serve_widget(request: web.Request) -> web.Response:
    return web.Response(
        text=request.app[WIDGET_SCRIPT],
        content_type="text/javascript",
        charset="utf-8",
        headers={
            "Cache-Control": f"public, max-age={WIDGET_MAX_AGE_S}",
            "X-Content-Type-Options": "nosniff",
            # Pages that isolate themselves (COEP) may still load the widget from our origin.
            "Cross-Origin-Resource-Policy": "cross-origin",
        },
    )


def host_page(widget_url: str, attributes: Mapping[str, str] | None = None, *, body: str = "", head: str = "") -> str:
    """An HTML page that embeds the widget with one script tag. `body`/`head` are trusted HTML from the caller."""
    attrs = "".join(
        f' data-{escape(name)}="{escape(value)}"'
        for name, value in (attributes or {}).items()
        if name in DATA_ATTRIBUTES
    )
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>A site that embeds the frontdoor widget</title>\n{head}\n</head>\n<body>\n{body}\n"
        f'<script src="{escape(widget_url)}"{attrs}></script>\n</body>\n</html>\n'
    )


async def widget_demo(request: web.Request) -> web.Response:
    """The widget on the front door's own origin, configured from the query string (for trying data- attributes)."""
    attributes = {name: request.query[name] for name in DATA_ATTRIBUTES if name in request.query}
    body = "<main><h1>Widget demo</h1><p>The chat launcher is at the bottom right.</p></main>"
    return web.Response(
        text=host_page("/widget.js", attributes, body=body), content_type="text/html", headers=SECURITY_HEADERS
    )


# Deliberately rude styles: the widget lives in a Shadow DOM, so none of this may reach it.
HOSTILE_CSS = """<style>
* { font-family: "Comic Sans MS", cursive !important; letter-spacing: 3px !important; }
div, span, button, input, textarea, ol, ul, li, form, header, p { color: rgb(255, 0, 0) !important;
  background: rgb(255, 255, 0) !important; display: none !important; }
button { font-size: 40px !important; }
</style>"""


def create_host_app(
    widget_url: str, attributes: Mapping[str, str] | None = None, *, hostile_css: bool = True
) -> web.Application:
    """A stand-in for a customer's website on another origin: `/` embeds the widget with one script tag.

    Tests serve it on a second loopback port, so the browser treats the front door as a foreign origin.
    """
    page = host_page(
        widget_url,
        attributes,
        head=HOSTILE_CSS if hostile_css else "",
        body='<main><h1 id="host-title">Acme shop</h1><p id="host-text">Welcome to our shop.</p></main>',
    )

    async def index(request: web.Request) -> web.Response:
        return web.Response(text=page, content_type="text/html")

    app = web.Application()
    app.router.add_get("/", index)
    return app


def setup_widget(app: web.Application) -> None:
    """Mounts `/widget.js`, `/widget/demo` and CORS for the customer chat API (origins from the settings)."""
    app[ORIGIN_POLICY] = OriginPolicy.from_settings(app[SETTINGS])
    app[WIDGET_SCRIPT] = widget_script()
    app.middlewares.append(chat_cors_middleware)
    app.on_response_prepare.append(_cors_headers)
    app.router.add_get("/widget.js", serve_widget)
    app.router.add_get("/widget/demo", widget_demo)


__all__ = [
    "ORIGIN_POLICY",
    "WIDGET_SCRIPT",
    "OriginPolicy",
    "create_host_app",
    "host_page",
    "setup_widget",
    "widget_script",
]
