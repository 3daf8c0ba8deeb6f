"""Starts the whole product as real processes on free loopback ports: the front door, then one Rasa server or several
pointed at it (the front door balances over them: `running_stack`); or several of each behind HAProxy
(`running_replicas`, with `deploy/haproxy.cfg`).

The end-to-end tests and the benchmarks use this, so they exercise exactly what `frontdoor run` runs, over HTTP.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bot.rasa_runtime import (
    RASA_START_TIMEOUT_S,
    RasaRuntimeError,
    RasaServerConfig,
    ensure_model,
    rasa_fleet,
    start_rasa,
    stop_process,
    wait_until_ready,
)

FRONTDOOR_START_TIMEOUT_S = 120.0
# Loading the FAQ encoders on a small machine takes a while; the stack is ready when /healthz says so.
HEALTHY_TIMEOUT_S = 300.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Stack:
    """A running front door and its Rasa servers (one, or several behind it: `FD_RASA_URL` names them all)."""

    frontdoor_url: str
    rasa_urls: tuple[str, ...]
    var_dir: Path
    frontdoor_pid: int
    rasa_pids: tuple[int, ...]

    @property
    def rasa_url(self) -> str:
        """The first Rasa server's address (the only one, unless several were asked for)."""
        return self.rasa_urls[0]

    @property
    def rasa_pid(self) -> int:
        return self.rasa_pids[0]


def wait_for_http(url: str, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RasaRuntimeError(f"{url} exited with code {process.returncode} while starting")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback only
                return
        except urllib.error.HTTPError:
            return  # it answers, even if a dependency is still starting
        except (urllib.error.URLError, OSError):
            time.sleep(0.3)
    raise RasaRuntimeError(f"{url} did not answer within {timeout_s:.0f} s")


def wait_until_healthy(url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    last = ""
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 - loopback only
                if response.status == 200:
                    return
        except urllib.error.HTTPError as exc:
            last = exc.read().decode(errors="replace")
        except (urllib.error.URLError, OSError) as exc:
            last = repr(exc)
        time.sleep(0.5)
    raise RasaRuntimeError(f"{url} did not report healthy within {timeout_s:.0f} s: {last}")


def start_frontdoor(root: Path, env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`frontdoor serve` with exactly `env` (FD_PORT, FD_VAR_DIR, …), its output in `log`; not yet answering (see
    `wait_for_http`)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as log_file:
        return subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve"],
            cwd=root,
            env=dict(env),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


@contextmanager
def running_stack(
    root: Path,
    var_dir: Path,
    env: Mapping[str, str],
    extra_env: Mapping[str, str] | None = None,
    *,
    rasa_servers: int = 1,
    tracker_url: str = "",
    lock_store_url: str = "",
) -> Iterator[Stack]:
    """The front door (`frontdoor serve`) and `rasa_servers` Rasa servers with the current model behind it, all
    stopped on exit. The servers share one tracker store (`tracker_url`, else a SQLite file in `var_dir`); several
    need Rasa's Redis lock store (`lock_store_url`), so that two never run one conversation's turns at once."""
    if rasa_servers > 1 and not lock_store_url:
        raise RasaRuntimeError("several Rasa servers need a Redis lock store (lock_store_url)")
    model = ensure_model(root)
    fd_port, rasa_ports = free_port(), [free_port() for _ in range(rasa_servers)]
    env = {**env, "FD_ACTIONS_TOKEN": env.get("FD_ACTIONS_TOKEN") or secrets.token_urlsafe(16)}
    frontdoor_env = {
        **env,
        "FD_PORT": str(fd_port),
        "FD_HOST": "127.0.0.1",
        "FD_VAR_DIR": str(var_dir),
        "FD_RASA_URL": ",".join(f"http://127.0.0.1:{port}" for port in rasa_ports),
        **(extra_env or {}),
    }
    frontdoor = start_frontdoor(root, frontdoor_env, var_dir / "frontdoor.log")
    try:
        frontdoor_url = f"http://127.0.0.1:{fd_port}"
        wait_for_http(f"{frontdoor_url}/healthz", frontdoor, FRONTDOOR_START_TIMEOUT_S)
        configs = [
            RasaServerConfig(
                root=root,
                model=model,
                port=port,
                actions_url=f"{frontdoor_url}/webhook",
                tracker_url=tracker_url or f"sqlite:///{var_dir / 'rasa-tracker.db'}",
                log_file=var_dir / (f"rasa-{number}.log" if number else "rasa.log"),
                lock_store_url=lock_store_url,
            )
            for number, port in enumerate(rasa_ports)
        ]
        with rasa_fleet(configs, env) as rasas:
            wait_until_healthy(f"{frontdoor_url}/healthz", HEALTHY_TIMEOUT_S)
            yield Stack(
                frontdoor_url,
                tuple(config.url for config in configs),
                var_dir,
                frontdoor.pid,
                tuple(rasa.pid for rasa in rasas),
            )
    finally:
        stop_process(frontdoor)


HAPROXY = "/usr/sbin/haproxy"
HAPROXY_CONFIG = Path("deploy") / "haproxy.cfg"
FRONTDOOR_REPLICAS = ("a", "b")  # the server names (and cookie values) in deploy/haproxy.cfg
RASA_REPLICAS = ("r1", "r2")


@dataclass(frozen=True)
class Replicas:
    """Two front doors and two Rasa servers, each pair behind HAProxy. `url` is the front doors' balancer;
    `frontdoors` and `rasas` map haproxy.cfg's server names to their processes (to kill one), `rasa_urls` to the Rasa
    servers' own addresses."""

    url: str
    var_dir: Path
    frontdoors: dict[str, subprocess.Popen[bytes]]
    rasas: dict[str, subprocess.Popen[bytes]]
    rasa_urls: dict[str, str]  # each Rasa server's own address (its HTTP API), by name

    def kill(self, name: str) -> None:
        """Kills replica `name` (a front door or a Rasa server) at once, as a crash would: SIGKILL, no cleanup."""
        process = self.frontdoors.get(name) or self.rasas[name]
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@contextmanager
def running_replicas(
    root: Path,
    var_dir: Path,
    env: Mapping[str, str],
    *,
    database_url: str,
    database_schema: str,
    tracker_url: str,
    redis_url: str,
    lock_store_url: str,
) -> Iterator[Replicas]:
    """HAProxy on `deploy/haproxy.cfg`, two front doors sharing PostgreSQL (`database_url`, `database_schema`) and
    Redis (`redis_url`), and two Rasa servers sharing one model, a PostgreSQL tracker store (`tracker_url`) and a
    Redis lock store (`lock_store_url`). Front doors reach Rasa, and Rasa the actions webhook, through the balancer.
    Each pair starts at once (Rasa's start is the slow part); everything is stopped on exit."""
    model = ensure_model(root)
    ports = {name: free_port() for name in ("lb", "rasa_lb", *FRONTDOOR_REPLICAS, *RASA_REPLICAS)}
    url, rasa_url = f"http://127.0.0.1:{ports['lb']}", f"http://127.0.0.1:{ports['rasa_lb']}"
    env = {**env, "FD_ACTIONS_TOKEN": env.get("FD_ACTIONS_TOKEN") or secrets.token_urlsafe(16)}
    balancer_env = {
        **env,
        "LB_FRONTDOOR_BIND": f"127.0.0.1:{ports['lb']}",
        "LB_RASA_BIND": f"127.0.0.1:{ports['rasa_lb']}",
        **{f"LB_FRONTDOOR_{n.upper()}": f"127.0.0.1:{ports[n]}" for n in FRONTDOOR_REPLICAS},
        **{f"LB_RASA_{n[1:]}": f"127.0.0.1:{ports[n]}" for n in RASA_REPLICAS},
    }
    shared = {
        "FD_HOST": "127.0.0.1",
        "FD_RASA_URL": rasa_url,
        "FD_DATABASE_URL": database_url,
        "FD_DATABASE_SCHEMA": database_schema,
        "FD_REDIS_URL": redis_url,
        "FD_LIMITS_PROXY_HOPS": "1",
    }
    processes: list[subprocess.Popen[bytes]] = []
    try:
        var_dir.mkdir(parents=True, exist_ok=True)
        with (var_dir / "haproxy.log").open("ab") as log_file:
            processes.append(
                subprocess.Popen(  # noqa: S603 - Debian's haproxy on our own configuration
                    [HAPROXY, "-db", "-f", str(root / HAPROXY_CONFIG)],
                    env=balancer_env,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        frontdoors = {
            name: start_frontdoor(
                root,
                {**env, **shared, "FD_PORT": str(ports[name]), "FD_VAR_DIR": str(var_dir / name)},
                var_dir / name / "frontdoor.log",
            )
            for name in FRONTDOOR_REPLICAS
        }
        processes.extend(frontdoors.values())
        for name, process in frontdoors.items():
            wait_for_http(f"http://127.0.0.1:{ports[name]}/healthz", process, FRONTDOOR_START_TIMEOUT_S)
        configs = {
            name: RasaServerConfig(
                root=root,
                model=model,
                port=ports[name],
                actions_url=f"{url}/webhook",
                tracker_url=tracker_url,
                log_file=var_dir / name / "rasa.log",
                lock_store_url=lock_store_url,
            )
            for name in RASA_REPLICAS
        }
        rasas = {name: start_rasa(config, env) for name, config in configs.items()}
        processes.extend(rasas.values())
        for name, config in configs.items():
            wait_until_ready(config.url, rasas[name], RASA_START_TIMEOUT_S)
        for name in FRONTDOOR_REPLICAS:
            wait_until_healthy(f"http://127.0.0.1:{ports[name]}/healthz", HEALTHY_TIMEOUT_S)
        wait_until_healthy(f"{url}/healthz", HEALTHY_TIMEOUT_S)  # the balancer has seen them up too
        yield Replicas(url, var_dir, frontdoors, rasas, {name: config.url for name, config in configs.items()})
    finally:
        for process in reversed(processes):
            stop_process(process)
