-- A send attempt is recorded before Discord is called: attempt_after_id is a Discord snowflake
-- (a time, a little before the first attempt) older than any message the row's attempts may
-- have created. A row still pending with it set may be out already (the bot died, or the
-- database refused the mark, between Discord's answer and the mark): before sending it again,
-- the dispatcher reads the target channel after that snowflake for the message.
ALTER TABLE outbox ADD COLUMN attempt_after_id INTEGER;
-- "is this message another row's?" when such a message is found
CREATE INDEX outbox_message ON outbox (message_id) WHERE message_id IS NOT NULL;
