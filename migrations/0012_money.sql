-- Owed money that nobody forgets: when the daily digest of overdue payouts was last queued
-- for the guild (NULL: never). The sweep claims the next one with a guarded update, so it is
-- sent once a day and never twice across restarts.
ALTER TABLE guilds ADD COLUMN payout_digest_at TEXT;
-- Why a declared deposit was voided: a moderator found that nothing arrived, the contract was
-- settled or cancelled. NULL for deposits that are not void.
ALTER TABLE deposits ADD COLUMN void_reason TEXT;
