-- The schema as the stores created it before Alembic (commit 6171e57), statement by statement, each ending in ';'.
-- A frozen fixture: tests/migrations builds databases "made by the old code" from it. Never edit it.

-- conversations/store.py
CREATE TABLE IF NOT EXISTS customers (
        id TEXT PRIMARY KEY, display_name TEXT NOT NULL DEFAULT '', tier TEXT NOT NULL DEFAULT 'standard',
        email TEXT NOT NULL DEFAULT '', phone TEXT NOT NULL DEFAULT '', language TEXT NOT NULL DEFAULT '',
        created_at DOUBLE PRECISION NOT NULL, unsubscribed INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS identities (
        channel TEXT NOT NULL, external_id TEXT NOT NULL, customer_id TEXT NOT NULL REFERENCES customers(id),
        created_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (channel, external_id));
CREATE INDEX IF NOT EXISTS identities_customer ON identities (customer_id);
CREATE TABLE IF NOT EXISTS conversations (
        id TEXT PRIMARY KEY, customer_id TEXT NOT NULL REFERENCES customers(id), channel TEXT NOT NULL,
        language TEXT NOT NULL DEFAULT '', external_id TEXT NOT NULL DEFAULT '', token_hash TEXT NOT NULL DEFAULT '',
        created_at DOUBLE PRECISION NOT NULL, closed_at DOUBLE PRECISION, last_customer_at DOUBLE PRECISION,
        next_seq BIGINT NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS conversations_customer ON conversations (customer_id, created_at);
CREATE TABLE IF NOT EXISTS messages (
        id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL REFERENCES conversations(id), seq BIGINT NOT NULL,
        sender TEXT NOT NULL, sender_id TEXT NOT NULL DEFAULT '', text TEXT NOT NULL DEFAULT '',
        buttons TEXT NOT NULL DEFAULT '[]', custom TEXT NOT NULL DEFAULT '{}', created_at DOUBLE PRECISION NOT NULL,
        UNIQUE (conversation_id, seq));

-- kb/store.py
CREATE TABLE IF NOT EXISTS kb_entries (
        id TEXT PRIMARY KEY, language TEXT NOT NULL, category TEXT NOT NULL, status TEXT NOT NULL,
        version BIGINT NOT NULL, question TEXT NOT NULL, paraphrases TEXT NOT NULL, answer TEXT NOT NULL,
        tags TEXT NOT NULL, author TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL,
        updated_at DOUBLE PRECISION NOT NULL, published_at DOUBLE PRECISION);
CREATE INDEX IF NOT EXISTS kb_entries_status ON kb_entries (status, language);
CREATE TABLE IF NOT EXISTS kb_revisions (
        entry_id TEXT NOT NULL REFERENCES kb_entries(id) ON DELETE CASCADE, version BIGINT NOT NULL,
        action TEXT NOT NULL, author TEXT NOT NULL, at DOUBLE PRECISION NOT NULL, note TEXT NOT NULL,
        snapshot TEXT NOT NULL, PRIMARY KEY (entry_id, version));
CREATE TABLE IF NOT EXISTS kb_meta (key TEXT PRIMARY KEY, value BIGINT NOT NULL);

-- kb/unanswered.py
CREATE TABLE IF NOT EXISTS kb_unanswered (
        id TEXT PRIMARY KEY, query TEXT NOT NULL, language TEXT NOT NULL, reason TEXT NOT NULL,
        conversation_id TEXT NOT NULL, entry_id TEXT NOT NULL, confidence DOUBLE PRECISION,
        at DOUBLE PRECISION NOT NULL, state TEXT NOT NULL, draft_entry_id TEXT NOT NULL,
        dedupe_key TEXT NOT NULL UNIQUE);
CREATE INDEX IF NOT EXISTS kb_unanswered_open ON kb_unanswered (state, language, at);

-- kb/feedback.py
CREATE TABLE IF NOT EXISTS kb_feedback (
        entry_id TEXT NOT NULL, conversation_id TEXT NOT NULL, query TEXT NOT NULL, language TEXT NOT NULL,
        helpful INTEGER NOT NULL, confidence DOUBLE PRECISION, at DOUBLE PRECISION NOT NULL);
CREATE INDEX IF NOT EXISTS kb_feedback_entry ON kb_feedback (entry_id, at);

-- actions/feedback.py
CREATE TABLE IF NOT EXISTS bot_answer_feedback (
        conversation_id TEXT NOT NULL,
        customer_id TEXT NOT NULL,
        entry_id TEXT NOT NULL,
        query TEXT NOT NULL,
        language TEXT NOT NULL,
        helpful INTEGER NOT NULL,
        confidence DOUBLE PRECISION,
        at DOUBLE PRECISION NOT NULL
    );
CREATE INDEX IF NOT EXISTS bot_answer_feedback_entry ON bot_answer_feedback (entry_id, at);

-- intake/tickets.py
CREATE TABLE IF NOT EXISTS intake_counters (
        name TEXT PRIMARY KEY,
        value BIGINT NOT NULL
    );
INSERT INTO intake_counters (name, value) VALUES ('ticket', 0) ON CONFLICT (name) DO NOTHING;
CREATE TABLE IF NOT EXISTS intake_tickets (
        number TEXT PRIMARY KEY,
        seq BIGINT NOT NULL UNIQUE,
        customer_id TEXT NOT NULL,
        conversation_id TEXT NOT NULL DEFAULT '',
        order_number TEXT,
        product TEXT,
        category TEXT,
        description TEXT,
        urgency TEXT,
        contact TEXT,
        language TEXT NOT NULL DEFAULT 'en',
        priority TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        updated_at DOUBLE PRECISION NOT NULL,
        first_response_due DOUBLE PRECISION NOT NULL,
        resolution_due DOUBLE PRECISION NOT NULL,
        first_responded_at DOUBLE PRECISION,
        resolved_at DOUBLE PRECISION,
        closed_at DOUBLE PRECISION,
        extra TEXT NOT NULL DEFAULT '{}'
    );
CREATE INDEX IF NOT EXISTS intake_tickets_customer ON intake_tickets (customer_id, seq);
CREATE INDEX IF NOT EXISTS intake_tickets_status ON intake_tickets (status, priority);
CREATE TABLE IF NOT EXISTS intake_ticket_history (
        number TEXT NOT NULL REFERENCES intake_tickets (number),
        seq INTEGER NOT NULL,
        from_status TEXT,
        to_status TEXT NOT NULL,
        actor TEXT NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (number, seq)
    );

-- bot/auth.py
CREATE TABLE IF NOT EXISTS staff (
        username TEXT PRIMARY KEY, display_name TEXT NOT NULL, password_hash TEXT NOT NULL,
        roles TEXT NOT NULL, created_at DOUBLE PRECISION NOT NULL);
CREATE TABLE IF NOT EXISTS staff_sessions (
        token_hash TEXT PRIMARY KEY, username TEXT NOT NULL REFERENCES staff(username) ON DELETE CASCADE,
        expires_at DOUBLE PRECISION NOT NULL);

-- bot/agent_profiles.py
CREATE TABLE IF NOT EXISTS agent_profiles (
        username TEXT PRIMARY KEY, display_name TEXT NOT NULL, skills TEXT NOT NULL, languages TEXT NOT NULL,
        capacity INTEGER NOT NULL, updated_at DOUBLE PRECISION NOT NULL);

-- bot/satisfaction.py
CREATE TABLE IF NOT EXISTS handoff_surveys (
        id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL, agent_id TEXT NOT NULL DEFAULT '',
        state TEXT NOT NULL, score INTEGER, comment TEXT NOT NULL DEFAULT '',
        asked_at DOUBLE PRECISION NOT NULL, rated_at DOUBLE PRECISION, commented_at DOUBLE PRECISION);
CREATE INDEX IF NOT EXISTS handoff_surveys_conversation ON handoff_surveys (conversation_id, asked_at);
