"""Redis names and limits of the generic backends."""

BUS_CHANNEL_PREFIX = "fd:bus:"
SUBSCRIBER_QUEUE_MAX = 1000

# A leader lock's key (backends.locks.RedisLeaderLock), and how long a holder that died keeps the others out.
LEADER_LOCK_KEY = "fd:lock:{name}"
LEADER_LOCK_TTL_MS = 60_000

# Rate-limit counters (backends.rate_limits, over the `limits` library): every key starts with this.
RATE_LIMIT_KEY_PREFIX = "fd:limits"
