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
    async def is_seeded(self) -> bool:
        """Whether the live state was rebuilt from the durable record since the store started empty (a fresh process
        for memory, a fresh or flushed Redis): False means queues, assignments and presence must be rebuilt
        (`handoff.recovery`)."""
        ...

    async def mark_seeded(self) -> None:
        """The live state holds what the durable record says (`is_seeded` is True until the store loses it)."""
        ...

    async def close(self) -> None: ...
