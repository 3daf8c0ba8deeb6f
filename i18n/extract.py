"""Keeps the catalogues in step with the code: extracts every message id with Babel and updates the `.po` files.

`make i18n` runs `python -m i18n.extract`: it writes `i18n/locale/<domain>.pot` and merges it into each locale's
`.po` (new ids arrive with an empty translation, ids no longer used are dropped). The test suite runs the same
extraction and fails on any id without a Chinese translation. Which extractor reads which file is `babel.cfg`;
which files feed which domain is `SOURCES` here. Must never import web code.

Markers: Python `translate(language, "…")`, `bilingual("…")` and `N_("…")`; JavaScript `t("…")`; HTML
`data-i18n="…"` (the element's text) and `data-i18n-<attribute>="…"` (e.g. `data-i18n-placeholder`).
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import IO, Any

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po
from babel.util import pathmatch

from i18n.catalogue import LOCALES, MESSAGES, STAFF, WIDGET, catalogue_path

ROOT = Path(__file__).resolve().parent.parent
BABEL_CFG = ROOT / "babel.cfg"
# The packages whose code speaks to customers or staff (`staff` is the back office's future home).
PACKAGES = ("actions", "alerts", "analytics", "backends", "bot", "conversations", "handoff", "intake", "kb", "staff")
WIDGET_FILES = frozenset({"widget.js", "demo.js", "demo.html"})
# Fixed header dates: a run that finds nothing new must leave the files untouched.
HEADER_DATE = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
PO_WIDTH = 120


@dataclass(frozen=True)
class Source:
    """What feeds one domain: files (relative to the repository) and the call names that mark a message id."""

    files: tuple[Path, ...]
    keywords: Mapping[str, Any]


def _static_files() -> list[Path]:
    return sorted(
        path
        for package in PACKAGES
        for pattern in ("static/*.js", "static/*.html")
        for path in (ROOT / package).glob(pattern)
    )


def sources() -> dict[str, Source]:
    python = sorted(
        path for package in PACKAGES for path in (ROOT / package).rglob("*.py") if "static" not in path.parts
    )
    static = _static_files()
    return {
        MESSAGES: Source(tuple(python), {"translate": (2,), "bilingual": None, "N_": None}),
        WIDGET: Source(tuple(p for p in static if p.name in WIDGET_FILES), {"t": None}),
        STAFF: Source(tuple(p for p in static if p.name not in WIDGET_FILES), {"t": None}),
    }


def extract_html(
    fileobj: IO[bytes], keywords: Collection[str], comment_tags: Collection[str], options: Mapping[str, Any]
) -> Iterator[tuple[int, str | None, str, list[str]]]:
    """Babel extractor for `data-i18n` and `data-i18n-<attribute>` values in HTML (no templating, so no calls)."""
    found: list[tuple[int, str | None, str, list[str]]] = []

    class Parser(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            for name, value in attrs:
                if value and (name == "data-i18n" or name.startswith("data-i18n-")):
                    found.append((self.getpos()[0], None, value, []))

    parser = Parser(convert_charrefs=True)
    parser.feed(fileobj.read().decode(str(options.get("encoding", "utf-8"))))
    parser.close()
    yield from found


def _method_map() -> list[tuple[str, str]]:
    with BABEL_CFG.open(encoding="utf-8") as fileobj:
        method_map, _ = parse_mapping_cfg(fileobj, str(BABEL_CFG))  # type: ignore[no-untyped-call]
    return list(method_map)


def template(domain: str) -> Catalog:
    """Every message id the code uses in one domain, as Babel extracts it (the `.pot`)."""
    source = sources()[domain]
    method_map = _method_map()
    catalogue = Catalog(domain=domain, project="frontdoor", creation_date=HEADER_DATE, revision_date=HEADER_DATE)
    for path in source.files:
        relative = path.relative_to(ROOT).as_posix()
        method = next((m for pattern, m in method_map if pathmatch(pattern, relative)), None)
        if method is None:
            continue
        for lineno, message, comments, context in extract_from_file(
            method, str(path), keywords=source.keywords, comment_tags=("i18n:",), strip_comment_tags=True
        ):
            catalogue.add(message, None, [(relative, lineno)], auto_comments=comments, context=context)
    return catalogue


def _write(catalogue: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fileobj:
        # No line numbers: they change with every edit and would make parallel branches conflict in the catalogues.
        write_po(fileobj, catalogue, width=PO_WIDTH, include_lineno=False, sort_output=True, ignore_obsolete=True)


def update(domain: str) -> Catalog:
    """Writes the domain's `.pot` and merges it into every locale's `.po`; returns the template."""
    pot = template(domain)
    _write(pot, catalogue_path("en", domain).parent.parent.parent / f"{domain}.pot")
    for locale in LOCALES.values():
        path = catalogue_path(locale, domain)
        if path.exists():
            with path.open("rb") as fileobj:
                catalogue = read_po(fileobj, locale=locale, domain=domain)
        else:
            catalogue = Catalog(locale=locale, domain=domain, project="frontdoor")
        catalogue.creation_date = catalogue.revision_date = HEADER_DATE
        catalogue.update(pot, no_fuzzy_matching=True, update_creation_date=False)
        catalogue.obsolete.clear()
        catalogue.fuzzy = False  # the header: Babel marks a new catalogue's header fuzzy
        _write(catalogue, path)
    return pot


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("domains", nargs="*", default=list(sources()), help="domains to update (default: all)")
    args = parser.parse_args(argv)
    for domain in args.domains:
        pot = update(domain)
        print(f"{domain}: {len(pot)} messages")


if __name__ == "__main__":
    main()
