from pathlib import Path
from typing import Any

import yaml
from rasa_sdk.executor import ActionExecutor

import actions
from actions import ACTION_NAMES, ActionServices, build_executor

from .conftest import DOMAIN, FORM_SLOTS


def action_call(name: str, text: str, slots: dict[str, Any] | None = None) -> dict[str, Any]:
    latest = {
        "text": text,
        "intent": {"name": "check_ticket", "confidence": 0.9},
        "entities": [],
        "metadata": {"customer_id": "cust-1", "lang": "en"},
    }
    return {
        "next_action": name,
        "sender_id": "conv-9",
        "tracker": {
            "sender_id": "conv-9",
            "slots": {"language": "en", **(slots or {})},
            "latest_message": latest,
            "events": [{"event": "user", "text": text, "parse_data": latest, "metadata": latest["metadata"]}],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
        "domain": {**DOMAIN, "slots": {s: {"type": "text"} for s in [*FORM_SLOTS, "language", "ticket_number"]}},
        "version": "3.6.0",
    }


def test_every_contract_action_is_registered_once() -> None:
    assert len(set(ACTION_NAMES)) == len(ACTION_NAMES) == len(actions.ACTION_CLASSES) == 9


def test_the_domain_declares_exactly_the_registered_actions() -> None:
    domain = yaml.safe_load((Path(__file__).resolve().parents[2] / "domain.yml").read_text(encoding="utf-8"))
    assert sorted(domain["actions"]) == sorted(ACTION_NAMES)


async def test_the_executor_runs_instances_built_with_the_given_services(services: ActionServices) -> None:
    executor = build_executor(services)
    assert sorted(executor.actions) == sorted(ACTION_NAMES)
    result = await executor.run(action_call("action_check_ticket", "where is my ticket"))
    assert result is not None
    assert result.responses[0]["text"] == "You have no open tickets right now."


async def test_the_standalone_package_scan_registers_every_action_with_demo_services() -> None:
    executor = ActionExecutor()
    executor.register_package("actions")
    assert set(ACTION_NAMES) <= set(executor.actions)
    created = await executor.run(
        action_call("action_create_ticket", "done", {"description": "smoke from kettle", "urgency": "urgent"})
    )
    assert created is not None
    assert created.responses[0]["text"].startswith("Thank you. I've created ticket FD-")
    checked = await executor.run(action_call("action_check_ticket", "my tickets?"))
    assert checked is not None and checked.responses[0]["text"].startswith("Your open tickets:")


def test_every_exported_name_exists() -> None:
    import intake

    for package in (actions, intake):
        for name in package.__all__:
            assert hasattr(package, name), f"{package.__name__}.{name}"
        assert len(set(package.__all__)) == len(package.__all__)
