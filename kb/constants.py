"""Names and limits of the FAQ store, the editor and live updates (bus topics, intervals, field limits).

Owns every bus topic, file name and limit the knowledge-base side uses, with units in the names. Must never hold
logic.
"""

from __future__ import annotations

# Live updates: every front-door process listens here and applies the change from the store.
KB_BUS_TOPIC = "kb"
KB_CHANGED_EVENT = "kb_changed"
# An editor applied or reset a language's thresholds (kb/overrides.py): every process reloads them from SQL.
KB_THRESHOLDS_EVENT = "kb_thresholds"
# The handoff service announces queued conversations here; a clarify question before a handoff is an unanswered one.
HANDOFF_BUS_TOPIC = "handoff"
HANDOFF_QUEUED_EVENT = "queued"

VERSION_CHECK_INTERVAL_S = 30.0
PERSIST_DELAY_S = 0.5
INDEX_DIR_NAME = "kb-index"
INDEX_POINTER_FILE = "current.json"

# Field limits of an FAQ entry (the editor and imports enforce them).
MAX_QUESTION_CHARS = 300
MAX_ANSWER_CHARS = 8000
MAX_PARAPHRASES = 30
MAX_TAGS = 20
MAX_TAG_CHARS = 40
MAX_CATEGORY_CHARS = 60
MAX_ENTRY_ID_CHARS = 64
MAX_IMPORT_ENTRIES = 2000
MAX_IMPORT_BYTES = 4 * 1024 * 1024
MAX_QUERY_CHARS = 500

# Unanswered questions: how many are read for grouping, and how close two must be to share a group.
UNANSWERED_WINDOW = 2000
UNANSWERED_GROUP_COSINE = 0.8
UNANSWERED_EXAMPLES = 5
TRANSCRIPT_LOOKBACK_MESSAGES = 30

# Starter questions (kb/starters.py): how many a chat may ask for, how far back and how many `bot_turn` facts are
# counted to find the most answered entries, and how long one language's pick is reused.
STARTER_MAX_QUESTIONS = 8
STARTER_LOOKBACK_S = 30 * 86400.0
STARTER_RECORD_EVENTS = 5000
STARTER_CACHE_S = 60.0
