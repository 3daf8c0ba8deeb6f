"""Human handoff: when the bot hands over, who owns a conversation, skill queues, agents and routing.

Domain and service only; the agent console's pages live elsewhere and call `HandoffService`.
"""

from handoff.agents import AgentProfile, AgentStatus, AgentStore, Presence
from handoff.exceptions import HandoffError, IllegalTransition, InvalidSettings, UnknownAgent
from handoff.memory import MemoryHandoffStore
from handoff.ownership import (
    LEGAL_TRANSITIONS,
    EventKind,
    OwnershipEvent,
    OwnershipRecord,
    OwnershipState,
    OwnershipStore,
    Transition,
)
from handoff.queue import QueuedEntry, QueuePosition, QueueStore
from handoff.redis_store import RedisHandoffStore
from handoff.routing import RoutingSettings
from handoff.service import HandoffOutcome, HandoffService, OutcomeStatus, QueueSnapshot, SupervisorSnapshot
from handoff.settings import HandoffConfig
from handoff.store import HandoffStore
from handoff.triggers import HandoffPolicy, HandoffSettings, HandoffTrigger, ReasonCode, TurnFacts
from intake.models import Priority

__all__ = [
    "LEGAL_TRANSITIONS",
    "AgentProfile",
    "AgentStatus",
    "AgentStore",
    "EventKind",
    "HandoffConfig",
    "HandoffError",
    "HandoffOutcome",
    "HandoffPolicy",
    "HandoffService",
    "HandoffSettings",
    "HandoffStore",
    "HandoffTrigger",
    "IllegalTransition",
    "InvalidSettings",
    "MemoryHandoffStore",
    "OutcomeStatus",
    "OwnershipEvent",
    "OwnershipRecord",
    "OwnershipState",
    "OwnershipStore",
    "Presence",
    "Priority",
    "QueuePosition",
    "QueueSnapshot",
    "QueueStore",
    "QueuedEntry",
    "ReasonCode",
    "RedisHandoffStore",
    "RoutingSettings",
    "SupervisorSnapshot",
    "Transition",
    "TurnFacts",
    "UnknownAgent",
]
