-- A row whose message is out but whose follow-up (files attached to the delivery post, ...)
-- failed with 429 / 5xx waits as 'followup_pending', with the sent message's id: the dispatcher
-- retries only the follow-up. The index of due rows holds both states.
DROP INDEX outbox_pending;
CREATE INDEX outbox_pending ON outbox (status, next_attempt_at) WHERE status IN ('pending', 'followup_pending');
