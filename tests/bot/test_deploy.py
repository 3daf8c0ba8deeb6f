"""`deploy/haproxy.cfg` is valid HAProxy configuration, names the replicas `bot.stack` starts, and is the very text
docs/operations.md shows; Rasa's lock store follows the launcher's choice."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from bot.rasa_runtime import RasaRuntimeError, lock_store_environment
from bot.stack import FRONTDOOR_REPLICAS, HAPROXY, HAPROXY_CONFIG, RASA_REPLICAS

ROOT = Path(__file__).resolve().parents[2]
CONFIG = (ROOT / HAPROXY_CONFIG).read_text(encoding="utf-8")


def test_haproxy_accepts_the_configuration() -> None:
    env = {
        **os.environ,
        **dict.fromkeys(("LB_FRONTDOOR_BIND", "LB_RASA_BIND"), "127.0.0.1:1"),
        **{f"LB_FRONTDOOR_{name.upper()}": "127.0.0.1:1" for name in FRONTDOOR_REPLICAS},
        **{f"LB_RASA_{name[1:]}": "127.0.0.1:1" for name in RASA_REPLICAS},
    }
    result = subprocess.run([HAPROXY, "-c", "-f", str(ROOT / HAPROXY_CONFIG)], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_replicas_the_stack_starts_are_the_servers_it_names() -> None:
    for name in FRONTDOOR_REPLICAS:
        assert f'server {name} "${{LB_FRONTDOOR_{name.upper()}}}" cookie {name}' in CONFIG
    for name in RASA_REPLICAS:
        assert f'server {name} "${{LB_RASA_{name[1:]}}}"' in CONFIG


def test_the_operations_guide_shows_the_configuration_verbatim() -> None:
    guide = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    assert f"```haproxy\n{CONFIG.rstrip()}\n```" in guide


def test_one_rasa_keeps_its_locks_in_memory_and_several_share_redis() -> None:
    assert lock_store_environment("")["FD_LOCK_STORE_TYPE"] == "in_memory"
    assert lock_store_environment("redis://:s%40cret@cache.internal:6390/3") == {
        "FD_LOCK_STORE_TYPE": "redis",
        "FD_LOCK_STORE_HOST": "cache.internal",
        "FD_LOCK_STORE_PORT": "6390",
        "FD_LOCK_STORE_DB": "3",
        "FD_LOCK_STORE_PASSWORD": "s@cret",
    }
    with pytest.raises(RasaRuntimeError):
        lock_store_environment("postgresql://db/locks")
