"""Trains the Rasa model when its inputs changed, and runs a Rasa server as a child process.

Rasa lives in its own Python 3.10 virtual environment (`.venv-rasa`); everything here reaches it only through its
command line and HTTP, so the front door never imports Rasa. Used by `frontdoor run`, the end-to-end tests and the
benchmarks, so all three run Rasa the same way.
"""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bot.exceptions import FrontDoorError

log = logging.getLogger(__name__)

MODEL_PREFIX = "frontdoor-"
TRAINING_INPUTS = ("config.yml", "domain.yml", "data")
# Loading TensorFlow and the model takes about a minute on a quiet 2-core machine and several on a busy one; a Rasa
# that dies while starting is reported at once (`wait_until_ready`), so a long wait only costs a hung start.
RASA_START_TIMEOUT_S = 600.0


class RasaRuntimeError(FrontDoorError):
    """Rasa could not be trained or started."""


def model_fingerprint(root: Path) -> str:
    """A content hash of everything training reads: change a training example and the model is retrained."""
    digest = hashlib.sha256()
    for name in TRAINING_INPUTS:
        path = root / name
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            digest.update(str(file.relative_to(root)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:16]


def rasa_executable(root: Path) -> Path:
    return root / ".venv-rasa" / "bin" / "rasa"


def ensure_model(root: Path, models_dir: Path | None = None) -> Path:
    """The model for the current training data, trained now only if no model with this fingerprint exists."""
    models_dir = models_dir or root / "models"
    name = MODEL_PREFIX + model_fingerprint(root)
    model = models_dir / f"{name}.tar.gz"
    if model.exists():
        log.info("Rasa model %s is up to date", model.name)
        return model
    models_dir.mkdir(parents=True, exist_ok=True)
    log.info("training Rasa model %s (training data changed)", model.name)
    command = [str(rasa_executable(root)), "train", "--fixed-model-name", name, "--out", str(models_dir)]
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run(command, cwd=root, env=env, check=False)  # noqa: S603 - our own venv's executable
    if result.returncode != 0 or not model.exists():
        raise RasaRuntimeError(f"rasa train failed with exit code {result.returncode}")
    for stale in models_dir.glob(f"{MODEL_PREFIX}*.tar.gz"):
        if stale != model:
            stale.unlink()
    return model


@dataclass(frozen=True)
class RasaServerConfig:
    root: Path
    model: Path
    port: int
    actions_url: str
    tracker_url: str
    log_file: Path
    # `redis://host:port/db` when several Rasa servers answer the same conversations (each turn then holds a lock
    # there, so two turns of one conversation never run at once); empty: one server, locks in memory.
    lock_store_url: str = ""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self, base: Mapping[str, str]) -> dict[str, str]:
        dialect = self.tracker_url.split(":", 1)[0].split("+", 1)[0]
        return {
            **base,
            "FD_ACTIONS_URL": self.actions_url,
            "FD_ACTIONS_TOKEN": base.get("FD_ACTIONS_TOKEN", ""),
            "FD_TRACKER_DIALECT": "postgresql" if dialect.startswith("postgres") else dialect,
            "FD_TRACKER_URL": self.tracker_url,
            "FD_TRACKER_DB": "rasa",
            **lock_store_environment(self.lock_store_url),
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "RASA_TELEMETRY_ENABLED": "false",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        }


def lock_store_environment(url: str) -> dict[str, str]:
    """endpoints.yml's `lock_store` variables: Redis at `url` (`redis://[:password@]host:port/db`), or in memory
    when empty."""
    if not url:
        return {
            "FD_LOCK_STORE_TYPE": "in_memory",
            "FD_LOCK_STORE_HOST": "",
            "FD_LOCK_STORE_PORT": "0",
            "FD_LOCK_STORE_DB": "0",
            "FD_LOCK_STORE_PASSWORD": "",
        }
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme != "redis" or not parsed.hostname:
        raise RasaRuntimeError(f"the lock store must be a redis://host:port/db URL, not {url!r}")
    return {
        "FD_LOCK_STORE_TYPE": "redis",
        "FD_LOCK_STORE_HOST": parsed.hostname,
        "FD_LOCK_STORE_PORT": str(parsed.port or 6379),
        "FD_LOCK_STORE_DB": parsed.path.strip("/") or "0",
        "FD_LOCK_STORE_PASSWORD": urllib.parse.unquote(parsed.password or ""),
    }


def wait_until_ready(url: str, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RasaRuntimeError(f"Rasa exited with code {process.returncode} while starting")
        try:
            with urllib.request.urlopen(f"{url}/status", timeout=2) as response:  # noqa: S310 - loopback only
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise RasaRuntimeError(f"Rasa did not answer on {url} within {timeout_s:.0f} s")


@contextmanager
def rasa_server(config: RasaServerConfig, base_env: Mapping[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """A running `rasa run` with the REST channel and HTTP API, stopped on exit."""
    with rasa_fleet([config], base_env) as (process,):
        yield process


@contextmanager
def rasa_fleet(
    configs: Sequence[RasaServerConfig], base_env: Mapping[str, str]
) -> Iterator[tuple[subprocess.Popen[bytes], ...]]:
    """Several `rasa run`s (one per config, in that order), started together so they load their models at once,
    yielded once every one answers; all stopped on exit. Several servers answering the same conversations need a
    shared tracker store and a Redis lock store (`lock_store_url`)."""
    processes: list[subprocess.Popen[bytes]] = []
    try:
        for config in configs:
            processes.append(start_rasa(config, base_env))
        for config, process in zip(configs, processes, strict=True):
            wait_until_ready(config.url, process, RASA_START_TIMEOUT_S)
        yield tuple(processes)
    finally:
        for process in processes:
            stop_process(process)


def start_rasa(config: RasaServerConfig, base_env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    """`rasa run` with the REST channel and HTTP API, started (in its own process group) but not yet ready: several
    can load their models at once, then `wait_until_ready` each."""
    command = [
        str(rasa_executable(config.root)),
        "run",
        "--enable-api",
        "--port",
        str(config.port),
        "--model",
        str(config.model),
        "--endpoints",
        "endpoints.yml",
        "--credentials",
        "credentials.yml",
    ]
    config.log_file.parent.mkdir(parents=True, exist_ok=True)
    with config.log_file.open("ab") as log_file:
        return subprocess.Popen(  # noqa: S603 - our own venv's executable
            command,
            cwd=config.root,
            env=config.environment(base_env),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_process(process: subprocess.Popen[bytes], grace_s: float = 10.0) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(grace_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
