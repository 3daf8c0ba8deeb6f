"""Starts the whole product as real processes on free loopback ports: the front door, then Rasa pointed at it.

The end-to-end tests and the benchmarks use this, so they exercise exactly what `frontdoor run` runs, over HTTP.
"""

from __future__ import annotations

import secrets
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

from bot.rasa_runtime import RasaRuntimeError, RasaServerConfig, ensure_model, rasa_server, stop_process

FRONTDOOR_START_TIMEOUT_S = 120.0
# Loading the FAQ encoders on a small machine takes a while; the stack is ready when /healthz says so.
HEALTHY_TIMEOUT_S = 300.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Stack:
    frontdoor_url: str
    rasa_url: str
    var_dir: Path
    frontdoor_pid: int
    rasa_pid: int


def _wait_for_http(url: str, process: subprocess.Popen[bytes], timeout_s: float) -> None:
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


def _wait_until_healthy(url: str, timeout_s: float) -> None:
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


@contextmanager
def running_stack(
    root: Path, var_dir: Path, env: Mapping[str, str], extra_env: Mapping[str, str] | None = None
) -> Iterator[Stack]:
    """The front door (`frontdoor serve`) and a Rasa server with the current model, both stopped on exit."""
    model = ensure_model(root)
    fd_port, rasa_port = free_port(), free_port()
    env = {**env, "FD_ACTIONS_TOKEN": env.get("FD_ACTIONS_TOKEN") or secrets.token_urlsafe(16)}
    frontdoor_env = {
        **env,
        "FD_PORT": str(fd_port),
        "FD_HOST": "127.0.0.1",
        "FD_VAR_DIR": str(var_dir),
        "FD_RASA_URL": f"http://127.0.0.1:{rasa_port}",
        **(extra_env or {}),
    }
    var_dir.mkdir(parents=True, exist_ok=True)
    with (var_dir / "frontdoor.log").open("ab") as log_file:
        frontdoor = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve"],
            cwd=root,
            env=frontdoor_env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        frontdoor_url = f"http://127.0.0.1:{fd_port}"
        _wait_for_http(f"{frontdoor_url}/healthz", frontdoor, FRONTDOOR_START_TIMEOUT_S)
        config = RasaServerConfig(
            root=root,
            model=model,
            port=rasa_port,
            actions_url=f"{frontdoor_url}/webhook",
            tracker_url=f"sqlite:///{var_dir / 'rasa-tracker.db'}",
            log_file=var_dir / "rasa.log",
        )
        with rasa_server(config, env) as rasa:
            _wait_until_healthy(f"{frontdoor_url}/healthz", HEALTHY_TIMEOUT_S)
            yield Stack(frontdoor_url, config.url, var_dir, frontdoor.pid, rasa.pid)
    finally:
        stop_process(frontdoor)
