"""Redis key names, channels and limits of the handoff package (units in the names)."""

from __future__ import annotations

# Every key sits under one prefix so a deployment (or a test run) can flush or inspect handoff state alone.
KEY_PREFIX = "fd:handoff:"
CONVERSATION_KEY = KEY_PREFIX + "conv:{conversation_id}"  # hash: the ownership record
# sorted set: conversation ids, score = serve-order band + enqueued ms - the customer tier's head start ms
QUEUE_KEY = KEY_PREFIX + "queue:{skill}"
ARRIVALS_KEY = KEY_PREFIX + "arrivals:{skill}"  # sorted set: the same ids, score = enqueued ms (the oldest wait)
QUEUES_KEY = KEY_PREFIX + "queues"  # set: every skill that ever had a queue
AGENT_KEY = KEY_PREFIX + "agent:{agent_id}"  # hash: profile + presence + last assignment
AGENT_CHATS_KEY = KEY_PREFIX + "agent:{agent_id}:chats"  # set: conversations the agent owns (its load)
AGENTS_KEY = KEY_PREFIX + "agents"  # set: every registered agent id
AGENT_CONSOLES_KEY = KEY_PREFIX + "agent:{agent_id}:consoles"  # set: ids of the agent's open console sockets
CONSOLES_KEY = KEY_PREFIX + "consoles"  # sorted set: every open console socket id, score = when it expires (s)
CONSOLE_AGENTS_KEY = KEY_PREFIX + "console_agents"  # hash: console socket id -> its agent's id
# sorted set: agents with no console socket open anywhere, score = when the last one closed (s)
DISCONNECTED_KEY = KEY_PREFIX + "disconnected"
SERVED_KEY = KEY_PREFIX + "served"  # set: every skill some registered agent serves (only grows)
AVAILABLE_KEY = KEY_PREFIX + "avail:{skill}"  # sorted set: online agents with spare capacity, best first
ONLINE_KEY = KEY_PREFIX + "online:{skill}"  # set: online agents serving the skill (for wait estimates)
UNANSWERED_KEY = KEY_PREFIX + "unanswered"  # sorted set: assigned conversations the agent has not answered yet
WRAP_UP_KEY = KEY_PREFIX + "wrapup"  # sorted set: conversations in wrap-up, score = wrap-up start (s)
SEEN_KEY = KEY_PREFIX + "seen"  # sorted set: queued conversations, score = customer last seen (s)
# string: present once the live state was rebuilt from the durable record; absent after Redis lost its data.
SEEDED_KEY = KEY_PREFIX + "seeded"
HANDLING_TIMES_KEY = KEY_PREFIX + "aht:{skill}"  # list: recent handling times (s), newest first

# A conversation record outlives its handoff so the case card and a late reconnect can still read it.
RECORD_TTL_S = 7 * 24 * 3600

# Scores: Priority.serve_order * PRIORITY_SCORE_STEP + epoch ms - head start ms; 1e13 ms is ~2286 AD, and 4e13 stays
# exact in a double. A head start is far below a band, so a tier reorders within a priority, never across them.
PRIORITY_SCORE_STEP = 10**13
MAX_HEAD_START_S = 86400.0
# Available-agent scores: load * LOAD_SCORE_STEP + last assignment ms, so the least loaded, longest idle sorts first.
LOAD_SCORE_STEP = 10**13

HANDLING_TIMES_KEPT = 50
DEFAULT_HANDLE_TIME_S = 300.0

BUS_TOPIC_ALL = "handoff"
BUS_TOPIC_AGENT = "agent:{agent_id}"
BUS_TOPIC_CONVERSATION = "conv:{conversation_id}"

GENERAL_GROUP = "general"
# The skill group of the dedicated queue that customers of the dedicated tiers (RoutingSettings.dedicated_tiers) wait
# in, when some registered agent serves it.
VIP_GROUP = "vip"

# How often the front door's sweeper requeues unanswered assignments and refreshes queue positions (default).
SWEEP_INTERVAL_S = 2.0
# An agent whose last console socket closed keeps her presence and chats this long (default), though she gets no new
# ones meanwhile: moving to the Tickets page, reloading or a rolling restart must not send her chats back to the queue.
PRESENCE_GRACE_S = 30.0
# A console socket counts as open this long after it opened or last renewed (its heartbeat, every
# CONSOLE_HEARTBEAT_S): the socket of a process that died stops counting then, instead of keeping its agent forever.
CONSOLE_TTL_S = 30.0
CONSOLE_HEARTBEAT_S = 10.0
# A queued customer with no message and no open chat window for this long has left (default). WeChat customers cannot
# show an open window, so for them the WeChat idle limit (FD_WECHAT_IDLE_CLOSE_S) counts instead: a patient WeChat
# customer keeps their place until their conversation would close anyway.
ABANDON_AFTER_S = 600.0
