-- Whether the bot can reach a user by DM is what its last DM to them did (sent, or fell back
-- because the user closed DMs): read per user at a contract's acceptance.
CREATE INDEX outbox_dm_recipient ON outbox (recipient_id, id) WHERE target = 'dm';

-- The contracts whose worker waits for the client's reply in the thread: read at start-up to
-- catch up on the thread messages written while the bot was down.
CREATE INDEX contracts_awaiting_reply ON contracts (awaiting_reply_since) WHERE awaiting_reply_since IS NOT NULL;

-- The audit trail's indexes hold only the rows they find: most events concern a contract and
-- no case, and an index entry for a NULL costs a page write on every event for nothing.
DROP INDEX events_contract;
DROP INDEX events_job;
DROP INDEX events_case;
CREATE INDEX events_contract ON events (contract_id, id) WHERE contract_id IS NOT NULL;
CREATE INDEX events_job ON events (job_id, id) WHERE job_id IS NOT NULL;
CREATE INDEX events_case ON events (case_id, id) WHERE case_id IS NOT NULL;
