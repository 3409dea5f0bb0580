-- Whether the bot can reach a user by DM is what its last DM to them did (sent, or fell back
-- because the user closed DMs): read per user at a contract's acceptance.
CREATE INDEX outbox_dm_recipient ON outbox (recipient_id, id) WHERE target = 'dm';
