-- Stripe faults (bot/services/payments.py): a transfer waiting for the worker's onboarding is
-- reminded and escalated from facts stored on its row; a call that keeps failing gives up;
-- money coming back (a refund made in Stripe's dashboard, a reversed transfer) is recorded once.
ALTER TABLE payment_calls ADD COLUMN waiting_since TEXT;                         -- entered waiting_account
ALTER TABLE payment_calls ADD COLUMN reminders_sent INTEGER NOT NULL DEFAULT 0;  -- onboarding reminders DMed
ALTER TABLE payment_calls ADD COLUMN escalated INTEGER NOT NULL DEFAULT 0;       -- 1: the moderators' case opened
ALTER TABLE payment_calls ADD COLUMN reversed INTEGER NOT NULL DEFAULT 0;        -- of a done transfer, reversed
ALTER TABLE payment_sessions ADD COLUMN refunded_outside INTEGER NOT NULL DEFAULT 0;  -- refunded in the dashboard
CREATE INDEX payment_calls_stripe_id ON payment_calls (stripe_id);
CREATE INDEX payment_sessions_intent ON payment_sessions (payment_intent);
ALTER TABLE payment_calls ADD COLUMN failing_since TEXT;                         -- first transient failure
