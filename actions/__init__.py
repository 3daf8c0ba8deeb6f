"""rasa-sdk custom actions of the front door, built with their services.

The front door serves them in-process: `build_executor(ActionServices(...))`. For development,
`python -m rasa_sdk --actions actions` also works: rasa-sdk then builds every action with no arguments, and such
an action falls back to one shared demo bundle (`actions.demo.demo_services`: demo FAQ, in-memory tickets, demo
orders). That fallback is the price of the standalone mode; production code never relies on it.
"""

from actions.answer_checks import Problem, check_text, find_contact, read_payload
from actions.escalation import ActionHandoff, handoff_payload
from actions.exceptions import ActionsError, DuplicateActionName
from actions.feedback import FeedbackRecord, MemoryFeedbackRecorder, SQLFeedbackRecorder
from actions.intake_form import ActionAskCategory, ActionAskUrgency, ActionResetIssueForm, ValidateIssueForm
from actions.knowledge import ActionAnswerFromKB, ActionKBFeedback
from actions.registry import ACTION_CLASSES, ACTION_NAMES, build_actions, build_executor
from actions.services import (
    ActionServices,
    ActionSettings,
    CustomerDirectory,
    FeedbackRecorder,
    HandoffDecider,
    KnowledgeSearch,
    ThreadedKnowledgeSearch,
    TicketService,
)
from actions.tickets import ActionCheckTicket, ActionCreateTicket

__all__ = [
    "ACTION_CLASSES",
    "ACTION_NAMES",
    "ActionAnswerFromKB",
    "ActionAskCategory",
    "ActionAskUrgency",
    "ActionCheckTicket",
    "ActionCreateTicket",
    "ActionHandoff",
    "ActionKBFeedback",
    "ActionResetIssueForm",
    "ActionServices",
    "ActionSettings",
    "ActionsError",
    "CustomerDirectory",
    "DuplicateActionName",
    "FeedbackRecord",
    "FeedbackRecorder",
    "HandoffDecider",
    "KnowledgeSearch",
    "MemoryFeedbackRecorder",
    "Problem",
    "SQLFeedbackRecorder",
    "ThreadedKnowledgeSearch",
    "TicketService",
    "ValidateIssueForm",
    "build_actions",
    "build_executor",
    "check_text",
    "find_contact",
    "handoff_payload",
    "read_payload",
]
