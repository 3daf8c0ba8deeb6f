"""The one storage seam of handoff: ownership, queues and agents behind a single Protocol.

They share one store because the transitions that matter touch all three at once (a claim dequeues the
conversation, takes an agent's slot and sets the owner) and must be one atomic step. Implementations:
`handoff.memory.MemoryHandoffStore` (one process) and `handoff.redis_store.RedisHandoffStore` (many).
"""

from __future__ import annotations

from typing import Protocol

from handoff.agents import AgentStore
from handoff.ownership import OwnershipStore
from handoff.queue import QueueStore


class HandoffStore(OwnershipStore, QueueStore, AgentStore, Protocol):
    async def close(self) -> None: ...
