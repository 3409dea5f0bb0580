-- Small key/value facts the bot keeps about itself (not about the marketplace),
-- e.g. the hash of the last command tree synced to Discord, per scope.
CREATE TABLE bot_state (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
