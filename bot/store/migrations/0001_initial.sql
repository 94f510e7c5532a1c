-- Understudy transcript store, schema version 1.
-- Timestamps are ISO 8601 UTC text with microseconds and "+00:00", so text order is time order.
-- JSON columns hold compact JSON (state, disclosed, changes, event, extra).

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE trainees (
    id           INTEGER PRIMARY KEY,           -- Telegram user id, or a local id for the terminal
    display_name TEXT,
    language     TEXT,
    created_at   TEXT NOT NULL
);

CREATE TABLE sessions (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,  -- AUTOINCREMENT: a purged id is never reused
    trainee_id       INTEGER NOT NULL REFERENCES trainees (id) ON DELETE CASCADE,
    chat_id          INTEGER NOT NULL,
    persona_id       TEXT NOT NULL,
    persona_version  TEXT NOT NULL,
    persona_language TEXT NOT NULL,
    started_at       TEXT NOT NULL,
    last_activity_at TEXT NOT NULL,
    ended_at         TEXT,
    end_reason       TEXT,
    state            TEXT NOT NULL,                -- engine state JSON
    turns            INTEGER NOT NULL DEFAULT 0    -- trainee utterances answered
);

-- At most one open session per chat; the store supersedes the old one when a new one starts.
CREATE UNIQUE INDEX sessions_open_by_chat ON sessions (chat_id) WHERE ended_at IS NULL;
CREATE INDEX sessions_by_chat ON sessions (chat_id, started_at);
CREATE INDEX sessions_by_started ON sessions (started_at);
CREATE INDEX sessions_by_activity ON sessions (last_activity_at);
CREATE INDEX sessions_by_trainee ON sessions (trainee_id);

CREATE TABLE turns (
    session_id    INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    seq           INTEGER NOT NULL,
    at            TEXT NOT NULL,
    speaker       TEXT NOT NULL CHECK (speaker IN ('trainee', 'persona', 'system')),
    text          TEXT NOT NULL,
    rule          TEXT,
    disclosed     TEXT NOT NULL DEFAULT '[]',
    changes       TEXT NOT NULL DEFAULT '{}',
    question_type TEXT,                          -- reserved for the question classifier
    cue           TEXT,
    event         TEXT,                          -- JSON, e.g. {"kind": "sticker"}; NULL for plain text
    extra         TEXT NOT NULL DEFAULT '{}',
    update_id     INTEGER,                       -- Telegram update that caused the turn
    PRIMARY KEY (session_id, seq)
) WITHOUT ROWID;

CREATE INDEX turns_by_update ON turns (session_id, update_id) WHERE update_id IS NOT NULL;

CREATE TABLE notes (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    at         TEXT NOT NULL,
    author     TEXT NOT NULL,
    text       TEXT NOT NULL
);

CREATE INDEX notes_by_session ON notes (session_id);

CREATE TABLE persona_sources (
    version    TEXT PRIMARY KEY,                 -- persona version hash
    persona_id TEXT NOT NULL,
    text       TEXT NOT NULL,
    stored_at  TEXT NOT NULL
);
