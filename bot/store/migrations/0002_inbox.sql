-- Understudy transcript store, schema version 2: the update inbox.
-- Every update fetched from getUpdates is kept here (raw JSON) before python-telegram-bot can confirm it to
-- Telegram, and marked done once its handler has finished; pending rows are replayed at start-up, so a
-- process killed with updates in flight loses none. Done rows are kept only while Telegram could still
-- deliver the update again (until a later getUpdates offset confirms it), so the table stays small.

CREATE TABLE inbox (
    update_id INTEGER PRIMARY KEY,               -- Telegram update id
    raw       TEXT NOT NULL,                     -- the update as the Bot API sent it (JSON)
    stored_at TEXT NOT NULL,
    done_at   TEXT                               -- NULL while the update is still to be handled
);

CREATE INDEX inbox_pending ON inbox (update_id) WHERE done_at IS NULL;
