-- Whether the bot can reach a user by DM is what its last DM to them did (sent, or fell back
-- because the user closed DMs): read per user at a contract's acceptance.
CREATE INDEX outbox_dm_recipient ON outbox (recipient_id, id) WHERE target = 'dm';

-- The contracts whose worker waits for the client's reply in the thread: read at start-up to
-- catch up on the thread messages written while the bot was down.
CREATE INDEX contracts_awaiting_reply ON contracts (awaiting_reply_since) WHERE awaiting_reply_since IS NOT NULL;
