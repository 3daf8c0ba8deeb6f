"""Every action of the contract, built with one `ActionServices`, and the executor that serves them.

Owns the list of actions. Must never build services: the caller passes them in.
"""

from __future__ import annotations

from rasa_sdk import Action
from rasa_sdk.executor import ActionExecutor

from actions.escalation import ActionHandoff
from actions.exceptions import DuplicateActionName
from actions.intake_form import ActionAskCategory, ActionAskUrgency, ActionResetIssueForm, ValidateIssueForm
from actions.knowledge import ActionAnswerFromKB, ActionKBFeedback
from actions.services import ActionServices
from actions.tickets import ActionCheckTicket, ActionCreateTicket

ACTION_CLASSES: tuple[type[Action], ...] = (
    ActionAnswerFromKB,
    ActionKBFeedback,
    ActionHandoff,
    ValidateIssueForm,
    ActionAskCategory,
    ActionAskUrgency,
    ActionResetIssueForm,
    ActionCreateTicket,
    ActionCheckTicket,
)

ACTION_NAMES = (
    "action_answer_from_kb",
    "action_kb_feedback",
    "action_handoff",
    "validate_issue_form",
    "action_ask_category",
    "action_ask_urgency",
    "action_reset_issue_form",
    "action_create_ticket",
    "action_check_ticket",
)


def build_actions(services: ActionServices) -> list[Action]:
    actions: list[Action] = [cls(services) for cls in ACTION_CLASSES]
    names = [a.name() for a in actions]
    for name in names:
        if names.count(name) > 1:
            raise DuplicateActionName(name)
    return actions


def build_executor(services: ActionServices) -> ActionExecutor:
    executor = ActionExecutor()
    for action in build_actions(services):
        executor.register_action(action)
    return executor
