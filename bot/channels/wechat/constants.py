"""Redis key names, TTLs and WeChat protocol numbers for the WeChat connector, with units in the names.

Owns names and numbers only; nothing here does I/O or reads settings.
"""

from __future__ import annotations

# Duplicate detection. WeChat retries an unanswered push three times within ~15 s; the TTL covers that with room.
DEDUP_KEY = "fd:wechat:dedup:{app_id}:{message_key}"
DEDUP_TTL_S = 120
DEDUP_TTL_MS = DEDUP_TTL_S * 1000
# A claim slower than this (Redis down and retrying) is abandoned so the passive deadline is still met.
DEDUP_CLAIM_TIMEOUT_S = 0.5

# How long a replica remembers a turn's outcome so a retry can be answered from it.
TURN_MEMORY_S = 60.0

# One access token per account, shared by every replica.
ACCESS_TOKEN_KEY = "fd:wechat:access_token:{app_id}"  # noqa: S105 - a key name
ACCESS_TOKEN_LOCK_KEY = "fd:wechat:access_token_lock:{app_id}"  # noqa: S105 - a key name
# Refresh this long before WeChat's expires_in (7200 s) runs out, so no caller ever holds a token at its edge.
ACCESS_TOKEN_REFRESH_MARGIN_S = 300
ACCESS_TOKEN_MIN_TTL_S = 30
# Long enough for one token fetch; a crashed holder's lock frees itself after this.
ACCESS_TOKEN_LOCK_TTL_S = 30.0
ACCESS_TOKEN_LOCK_POLL_S = 0.05
ACCESS_TOKEN_LOCK_WAIT_S = 35.0

# The customer-service window: WeChat accepts CS messages only within 48 h of the customer's last message.
SERVICE_WINDOW_S = 48 * 3600

# Passive replies must reach WeChat within 5 s; leave a margin for the network.
PASSIVE_REPLY_DEADLINE_S = 4.0
# A WeChat thread never ends by itself: after this much customer silence their next message opens a new
# conversation. Half of WeChat's 48-hour customer-service window, so an agent can still follow up on the old one.
IDLE_CLOSE_S = 24 * 3600.0
MAX_BODY_BYTES = 64 * 1024
API_TIMEOUT_S = 10.0
# Time the connector waits for late deliveries at shutdown before cancelling them.
SHUTDOWN_GRACE_S = 5.0

# A customer's UnionID (when the account is bound to a WeChat Open Platform) is asked for at most this often per
# OpenID and process: an account without the binding never returns one, and each ask costs an API call.
UNION_ID_RECHECK_S = 24 * 3600.0
UNION_ID_MEMORY_ENTRIES = 10_000

# WeChat errcodes.
ERRCODE_OK = 0
ERRCODES_STALE_TOKEN = frozenset({40001, 42001, 40014})
ERRCODE_OUTSIDE_WINDOW = 45015
ERRCODE_QUOTA = 45047

# The body WeChat expects when there is no passive reply.
NO_REPLY = "success"
