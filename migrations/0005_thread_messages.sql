-- The contract thread's messages, kept as evidence when RECORD_THREAD_MESSAGES is on
-- (bot/services/evidence.py). Kept as long as the contract's other records. /profile delete
-- erases the author's text and file names (content = NULL, erased_at set) and keeps the
-- skeleton: who wrote, when, each edit's and the deletion's time, file sizes and sha256.
CREATE TABLE thread_messages (
    message_id  INTEGER PRIMARY KEY,            -- Discord's message id (a snowflake: its own timestamp)
    contract_id INTEGER NOT NULL REFERENCES contracts(id),
    guild_id    INTEGER NOT NULL,
    thread_id   INTEGER NOT NULL,
    author_id   INTEGER NOT NULL,
    content     TEXT,                           -- the original text; NULL once erased
    created_at  TEXT    NOT NULL,
    deleted_at  TEXT,
    erased_at   TEXT
);
CREATE INDEX thread_messages_contract ON thread_messages (contract_id, message_id);
CREATE INDEX thread_messages_author ON thread_messages (guild_id, author_id);

-- Each edit: the text after it, and when the bot saw it.
CREATE TABLE thread_message_edits (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id INTEGER NOT NULL REFERENCES thread_messages(message_id),
    content    TEXT,                            -- NULL once erased
    edited_at  TEXT    NOT NULL
);
CREATE INDEX thread_message_edits_message ON thread_message_edits (message_id, id);

-- Attachments: name, size and the sha256 of the bytes downloaded from Discord's CDN
-- (NULL when larger than MAX_FILE_SIZE_MB or when the download failed: see note).
CREATE TABLE thread_message_files (
    message_id INTEGER NOT NULL REFERENCES thread_messages(message_id),
    position   INTEGER NOT NULL,
    filename   TEXT,                            -- NULL once erased
    size       INTEGER NOT NULL,
    sha256     TEXT,
    note       TEXT,                            -- too_large | unavailable, when sha256 is NULL
    PRIMARY KEY (message_id, position)
);
