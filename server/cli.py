"""The `frontdoor` console command: serve, run (everything, for a person trying it), train, users, agents, kb, db,
analytics, demo, settings.

The one place the process environment is read: `Settings.for_server(os.environ)`, once; a bad variable is printed
(naming it and what it accepts) and the command exits with status 2, before anything starts.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import getpass
import logging
import os
import secrets
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import faiss
from aiohttp import web

from backends.exceptions import InvalidSettings
from backends.sql import open_database
from bot.actions_endpoint import actions_token
from bot.rasa_runtime import RasaServerConfig, ensure_model, rasa_fleet
from bot.settings import Settings
from bot.settings_docs import settings_markdown, with_settings_tables
from bot.telemetry import AccessLogger
from demo.history import DemoOptions
from demo.seed import SeedSummary, has_demo_history, record_is_empty, remove_demo_history, write_demo_history
from handoff.profiles import ALL_SKILLS, AgentProfileStore, InvalidProfile, checked_profile
from intake.teams import TeamStore, demo_teams
from kb.cli import add_kb_eval_arguments, run_kb_eval
from migrations import current_revision, new_revision, upgrade_database
from observability import configure_logging
from server.app import ALL_PROGRAMS, Program, create_app
from server.demo_orders import demo_order_service
from staff.auth import Role, StaffDirectory
from web.serving import JsonErrorsRunner

log = logging.getLogger("frontdoor")

DEMO_STAFF = (
    ("ann", "Ann", (Role.AGENT,)),
    ("bob", "Bob", (Role.AGENT,)),
    ("sam", "Sam", (Role.SUPERVISOR,)),
    ("eve", "Eve", (Role.EDITOR,)),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="frontdoor", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the front door and the staff program (Rasa runs elsewhere)")
    serve.add_argument(
        "--only",
        choices=[p.value for p in Program],
        help="run one program alone (behind a load balancer that routes the other's paths elsewhere)",
    )
    run = commands.add_parser("run", help="train if needed, start Rasa and the front door, print the URLs")
    run.add_argument("--rasa-port", type=int, default=5005)
    commands.add_parser("train", help="train the Rasa model if its training data changed")
    users = commands.add_parser("users", help="manage staff accounts").add_subparsers(dest="users", required=True)
    add = users.add_parser("add", help="add or update a staff account")
    add.add_argument("username")
    add.add_argument("--role", action="append", choices=[r.value for r in Role], required=True)
    add.add_argument("--name", default="")
    add.add_argument("--password", help="prompted for when omitted")
    for action, what in (("disable", "no more logins, and the member's sessions end at once"), ("enable", "undo")):
        users.add_parser(action, help=f"{action} a staff account ({what})").add_argument("username")
    agents = commands.add_parser("agents", help="manage agents' routing profiles").add_subparsers(
        dest="agents", required=True
    )
    profile = agents.add_parser("set", help="set an agent's skills, languages and capacity")
    profile.add_argument("username")
    profile.add_argument("--name", default="")
    profile.add_argument("--skills", default="", help=f"comma-separated, from {','.join(ALL_SKILLS)}")
    profile.add_argument("--languages", default="en,zh")
    profile.add_argument("--capacity", type=int, default=3)
    kb = commands.add_parser("kb", help="knowledge-base tools").add_subparsers(dest="kb", required=True)
    add_kb_eval_arguments(kb.add_parser("eval", help="evaluate retrieval on a kb.csv and a queries.csv"))
    db = commands.add_parser("db", help="database schema").add_subparsers(dest="db", required=True)
    db.add_parser("upgrade", help="bring the database (FD_DATABASE_URL) to the newest schema revision")
    revision = db.add_parser("revision", help="write a migration for the table changes in code (for developers)")
    revision.add_argument("-m", "--message", required=True)
    demo = commands.add_parser("demo", help="demo data").add_subparsers(dest="demo", required=True)
    history = demo.add_parser("history", help="write a realistic, clearly marked demo history for the dashboard")
    history.add_argument("--days", type=_positive_int, default=60, help="days of history ending today (default 60)")
    history.add_argument("--per-day", type=_positive_int, default=60, help="conversations on a weekday (default 60)")
    history.add_argument("--seed", type=int, default=1, help="the same seed and day give the same history")
    history.add_argument("--force", action="store_true", help="replace an existing demo history")
    analytics = commands.add_parser("analytics", help="the reports' facts").add_subparsers(
        dest="analytics", required=True
    )
    analytics.add_parser("rebuild", help="derive every analytics fact again from the service record (FD_DATABASE_URL)")
    docs = commands.add_parser("settings", help="check the environment's settings, or print their documentation")
    docs.add_argument("--markdown", action="store_true", help="print README.md's configuration tables")
    docs.add_argument("--write", metavar="README", help="with --markdown: update the tables in this file instead")
    args = parser.parse_args(argv)

    if args.command == "settings" and args.markdown:
        return _settings_docs(args.write)
    try:
        settings = Settings.for_server(os.environ)
    except InvalidSettings as exc:
        print("frontdoor: bad settings:", *exc.problems, sep="\n  ", file=sys.stderr)
        return 2
    if args.command == "settings":
        print("settings are valid")
        return 0
    # One thread per faiss search: requests already run concurrently, and OpenMP's default spin-up costs more
    # than it saves on a small index. The entry point owns this choice; the KB's worker threads adopt it.
    faiss.omp_set_num_threads(1)
    if args.command in ("serve", "run"):
        configure_logging(settings.log_level, settings.log_format)
    else:
        logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.command == "serve":
        programs = {Program(args.only)} if args.only else ALL_PROGRAMS
        return asyncio.run(_serve(create_app(settings, programs), settings))
    if args.command == "train":
        print(ensure_model(Path.cwd()))
        return 0
    if args.command == "run":
        return asyncio.run(_run_everything(settings, args.rasa_port, demo_orders=wants_demo_order_service(os.environ)))
    if args.command == "kb":
        return run_kb_eval(args)
    if args.command == "agents":
        return _set_agent_profile(settings, args)
    if args.command == "demo":
        return asyncio.run(_demo_history(settings, args.days, args.per_day, args.seed, force=args.force))
    if args.command == "db" and args.db == "revision":
        asyncio.run(_new_revision(settings, args.message))
        return 0
    if args.command == "analytics":
        print(f"analytics rebuilt: {asyncio.run(_rebuild_analytics(settings))} conversations and tickets")
        return 0
    if args.command == "db":
        print(f"database at revision {asyncio.run(_upgrade_database(settings))}")
        return 0
    if args.command == "users" and args.users in ("disable", "enable"):
        return asyncio.run(_set_staff_enabled(settings, args.username, enabled=args.users == "enable"))
    if args.command == "users":
        password = args.password or getpass.getpass(f"password for {args.username}: ")
        asyncio.run(_add_staff(settings, args.username, password, [Role(r) for r in args.role], args.name))
        return 0
    return 2


def wants_demo_order_service(environ: Mapping[str, str]) -> bool:
    """Whether `frontdoor run` (the demo) starts the demo order service: unless the environment names an order
    system (`FD_INTAKE_ORDER_API_URL`) or says anything about the demo orders (`FD_INTAKE_DEMO_ORDERS=1`: the
    in-process set; `0`: no order system)."""
    return not environ.get("FD_INTAKE_ORDER_API_URL") and "FD_INTAKE_DEMO_ORDERS" not in environ


def with_order_system(settings: Settings, url: str) -> Settings:
    """`settings` with the order system at `url` (the demo order service `frontdoor run` started)."""
    intake = settings.intake.model_copy(update={"order_api_url": url, "demo_orders": False})
    return settings.model_copy(update={"intake": intake})


def _settings_docs(path: str | None) -> int:
    if path is None:
        print(settings_markdown())
        return 0
    readme = Path(path)
    readme.write_text(with_settings_tables(readme.read_text(encoding="utf-8")), encoding="utf-8")
    return 0


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"wants a whole number of at least 1, not {text}")
    return value


async def _demo_history(settings: Settings, days: int, per_day: int, seed: int, *, force: bool) -> int:
    """`frontdoor demo history`: refuses (status 1) when a demo history exists, unless `force` replaces it."""
    db = await open_database(settings.effective_database_url, schema=settings.database_schema)
    try:
        await upgrade_database(db)
        if await has_demo_history(db):
            if not force:
                print(
                    "frontdoor: this database already holds a demo history; "
                    "`frontdoor demo history --force` replaces it",
                    file=sys.stderr,
                )
                return 1
            print(f"removed the previous demo history ({await remove_demo_history(db)} events)", flush=True)
        options = DemoOptions(end=time.time(), days=days, per_day=per_day, seed=seed)

        def progress(summary: SeedSummary) -> None:
            print(f"\r  {summary.conversations} conversations, {summary.events} events…", end="", flush=True)

        summary = await write_demo_history(db, options, progress if sys.stdout.isatty() else None)
    finally:
        await db.close()
    print(f"\rdemo history of {days} days written: {summary}", flush=True)
    # Its facts are older than the projector's cursor, which only looks back a few minutes: fold everything again.
    print(f"analytics rebuilt: {await _rebuild_analytics(settings)} conversations and tickets")
    print("its ids start with 'demo-'; see it at /console/analytics as a supervisor (sam, after `frontdoor run`)")
    return 0


async def _record_is_empty(settings: Settings) -> bool:
    """Whether the service record holds nothing yet (upgrading first: the app would, a moment later)."""
    db = await open_database(settings.effective_database_url, schema=settings.database_schema)
    try:
        await upgrade_database(db)
        return await record_is_empty(db)
    finally:
        await db.close()


async def _add_staff(settings: Settings, username: str, password: str, roles: list[Role], name: str) -> None:
    db = await open_database(settings.effective_database_url, schema=settings.database_schema)
    try:
        await upgrade_database(db)
        await StaffDirectory(db).add(username, password, roles, name)
    finally:
        await db.close()


async def _set_staff_enabled(settings: Settings, username: str, *, enabled: bool) -> int:
    """`frontdoor users disable/enable NAME`: 0, or 1 (with a message) when there is no such account."""
    db = await open_database(settings.effective_database_url, schema=settings.database_schema)
    try:
        await upgrade_database(db)
        directory = StaffDirectory(db)
        found = await (directory.enable(username) if enabled else directory.disable(username))
    finally:
        await db.close()
    if not found:
        print(f"no staff account named {username!r}", file=sys.stderr)
        return 1
    print(f"{username}: {'enabled' if enabled else 'disabled, logged out everywhere'}")
    return 0


async def _upgrade_database(settings: Settings) -> str | None:
    db = await open_database(settings.effective_database_url, schema=settings.database_schema)
    try:
        await upgrade_database(db)
        return await current_revision(db)
    finally:
        await db.close()


async def _rebuild_analytics(settings: Settings) -> int:
    """Empties the facts tables and folds the whole record again (a running server's projector carries on after)."""
    db = await open_database(settings.effective_database_url, schema=settings.database_schema)
    try:
        await upgrade_database(db)
        projector = settings.analytics.projector(db, settings.calendar.calendar())
        return len(await projector.rebuild())
    finally:
        await db.close()


async def _new_revision(settings: Settings, message: str) -> None:
    db = await open_database(settings.effective_database_url, schema=settings.database_schema)
    try:
        await new_revision(db, message)
    finally:
        await db.close()


def _set_agent_profile(settings: Settings, args: argparse.Namespace) -> int:
    """`frontdoor agents set ann --skills billing,delivery --languages en,zh --capacity 3`; a running server applies
    it when the agent next opens the console."""
    try:
        profile = checked_profile(
            args.username,
            args.name,
            [s for s in args.skills.split(",") if s],
            [s for s in args.languages.split(",") if s],
            args.capacity,
        )
    except InvalidProfile as exc:
        print(exc, file=sys.stderr)
        return 2

    async def put() -> None:
        db = await open_database(settings.effective_database_url, schema=settings.database_schema)
        try:
            store = AgentProfileStore(db)
            await upgrade_database(db)
            await store.put(profile)
        finally:
            await db.close()

    asyncio.run(put())
    print(f"{profile.id}: skills={list(profile.skills)} languages={list(profile.languages)} cap={profile.capacity}")
    return 0


async def _seed_demo_staff(settings: Settings) -> list[tuple[str, str, str]]:
    """Demo accounts on first start, each with its own random password kept in var/demo-credentials.txt."""
    credentials = settings.var_dir / "demo-credentials.txt"
    if credentials.exists():
        return [tuple(line.split("\t")) for line in credentials.read_text().splitlines() if line]  # type: ignore[misc]
    rows = []
    for username, name, roles in DEMO_STAFF:
        password = secrets.token_urlsafe(9)
        await _add_staff(settings, username, password, list(roles), name)
        rows.append((username, password, ",".join(r.value for r in roles)))
    credentials.parent.mkdir(parents=True, exist_ok=True)
    credentials.write_text("".join("\t".join(row) + "\n" for row in rows))
    credentials.chmod(0o600)
    return rows


async def _seed_demo_teams(settings: Settings) -> None:
    """The demo's teams (one per skill group, Sam leading) that do not exist yet; an edited team stays as it is."""
    db = await open_database(settings.effective_database_url, schema=settings.database_schema)
    try:
        await TeamStore(db).seed(demo_teams())
    finally:
        await db.close()


async def _run_everything(settings: Settings, rasa_port: int, *, demo_orders: bool) -> int:
    async with contextlib.AsyncExitStack() as stack:
        note = ""
        if demo_orders:
            # The shop's order system for the demo: the real HTTP adapter talks to it on loopback.
            settings = with_order_system(settings, await stack.enter_async_context(demo_order_service()))
            note = "  (the demo order service: order 1000000001 is Alex Chen's, alex.chen@example.com)"
        return await _run_with(settings, rasa_port, note)


async def start_runner(runner: web.AppRunner) -> web.AppRunner:
    """`runner` set up (every service started), then what startup made (modules, settings, pools, models) moved out
    of the garbage collector's reach: it lives as long as the process, and otherwise every full collection walks all
    of it again — 60–100 ms added to whichever request happens to trigger one (docs/benchmarks.md §8). Garbage
    already made is collected first, so none is kept for good."""
    await runner.setup()
    gc.collect()
    gc.freeze()
    return runner


async def _serve(app: web.Application, settings: Settings) -> int:
    """Serves `app` until SIGINT or SIGTERM (even a request aiohttp cannot parse gets a JSON error)."""
    runner = await start_runner(JsonErrorsRunner(app, access_log_class=AccessLogger))
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (2, 15):
        loop.add_signal_handler(sig, stop.set)
    try:
        await web.TCPSite(runner, settings.host, settings.port).start()
        await stop.wait()
    finally:
        await runner.cleanup()
    return 0


def with_rasa_port(settings: Settings, rasa_port: int) -> Settings:
    """`settings` talking to the Rasa servers that `frontdoor run` starts from `rasa_port` on (`--rasa-port`, then the
    next ports for `FD_RASA_SERVERS`), not to whatever `FD_RASA_URL` names: the front door and its own Rasa always
    find each other."""
    urls = ",".join(f"http://127.0.0.1:{rasa_port + number}" for number in range(settings.rasa_servers))
    return settings.model_copy(update={"rasa_url": urls})


async def _run_with(settings: Settings, rasa_port: int, order_note: str) -> int:
    root = Path.cwd()
    if settings.rasa_servers > 1 and not settings.rasa_lock_store_url:
        print("frontdoor: FD_RASA_SERVERS above 1 needs FD_RASA_LOCK_STORE_URL (redis://host:port/db)", file=sys.stderr)
        return 2
    settings = with_rasa_port(settings, rasa_port)
    model = await asyncio.to_thread(ensure_model, root)
    staff = await _seed_demo_staff(settings)
    await _seed_demo_teams(settings)  # each start: a demo from before teams existed gets them too
    no_history = await _record_is_empty(settings)
    runner = await start_runner(JsonErrorsRunner(create_app(settings), access_log_class=AccessLogger))
    await web.TCPSite(runner, settings.host, settings.port).start()
    configs = [
        RasaServerConfig(
            root=root,
            model=model,
            port=rasa_port + number,
            actions_url=f"http://127.0.0.1:{settings.port}/webhook",
            tracker_url=settings.effective_rasa_tracker_url,
            log_file=settings.var_dir / "logs" / (f"rasa-{number}.log" if number else "rasa.log"),
            lock_store_url=settings.rasa_lock_store_url,
        )
        for number in range(settings.rasa_servers)
    ]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (2, 15):
        loop.add_signal_handler(sig, stop.set)
    print("starting Rasa (first start loads the model; this takes a little while)…", flush=True)
    # The Rasa we start sends the actions webhook's token (FD_ACTIONS_TOKEN, else the generated one).
    rasa = rasa_fleet(configs, {**os.environ, "FD_ACTIONS_TOKEN": actions_token(settings)})
    try:
        await asyncio.to_thread(rasa.__enter__)
        base = settings.effective_public_url
        print(f"\nfrontdoor is running\n  chat:    {base}/\n  staff:   {base}/staff   (each lands on their own page)")
        print(f"  health:  {base}/healthz\n  Rasa:    {', '.join(settings.rasa_urls)}")
        print("\nstaff accounts (username / password / roles):")
        for username, password, roles in staff:
            print(f"  {username:5} {password}  {roles}")
        if settings.intake.demo_orders:
            print("\ndemo orders are on: order numbers are looked up in the built-in demo order set", flush=True)
        elif settings.intake.order_api_url:
            print(f"\norder system: {settings.intake.order_api_url}{order_note}", flush=True)
        if no_history:
            print(
                "\nNo history yet: run `make demo-history` (`frontdoor demo history --days 60`) for a populated "
                "dashboard at /console/analytics",
                flush=True,
            )
        print("\nCtrl-C stops everything.", flush=True)
        await stop.wait()
    finally:
        rasa.__exit__(None, None, None)
        await runner.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
