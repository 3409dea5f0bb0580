-- Stripe Connect as a second payment provider (bot/services/payments.py). The manual provider
-- stays the default: a guild without a payment_settings row uses it.
CREATE TABLE payment_settings (
    guild_id   INTEGER PRIMARY KEY,
    provider   TEXT    NOT NULL,              -- manual | stripe
    updated_by INTEGER NOT NULL,
    updated_at TEXT    NOT NULL
);

-- Each webhook (or reconciled) event once: a replay finds its id here and changes nothing.
CREATE TABLE payment_events (
    event_id    TEXT PRIMARY KEY,
    type        TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    received_at TEXT NOT NULL
);

-- Checkout Sessions created for a contract's deposit (initial) or top-up.
CREATE TABLE payment_sessions (
    session_id     TEXT    PRIMARY KEY,
    guild_id       INTEGER NOT NULL,
    contract_id    INTEGER NOT NULL REFERENCES contracts(id),
    kind           TEXT    NOT NULL,          -- initial | topup
    amount         INTEGER NOT NULL CHECK (amount > 0),
    currency       TEXT    NOT NULL,
    url            TEXT    NOT NULL,
    status         TEXT    NOT NULL,          -- open | paid | expired
    payment_intent TEXT,
    deposit_id     INTEGER REFERENCES deposits(id),
    created_at     TEXT    NOT NULL,
    expires_at     TEXT    NOT NULL
);
CREATE INDEX payment_sessions_contract ON payment_sessions (contract_id, status);

-- Calls out to Stripe written in the ledger transaction that owes the money and made after
-- commit (like the outbox): a transfer to a worker's connected account or a refund of a
-- client's payment, under an idempotency key derived from the ledger transaction.
CREATE TABLE payment_calls (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id        INTEGER NOT NULL,
    contract_id     INTEGER REFERENCES contracts(id),
    kind            TEXT    NOT NULL,         -- transfer | refund
    user_id         INTEGER NOT NULL,         -- who is paid: the worker (transfer), the client (refund)
    amount          INTEGER NOT NULL CHECK (amount > 0),
    currency        TEXT    NOT NULL,
    payment_intent  TEXT    NOT NULL,         -- the client's payment the money comes from
    idempotency_key TEXT    NOT NULL UNIQUE,
    status          TEXT    NOT NULL,         -- pending | waiting_account | done | refused
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT    NOT NULL,
    stripe_id       TEXT,
    last_error      TEXT,
    created_at      TEXT    NOT NULL,
    updated_at      TEXT    NOT NULL
);
CREATE INDEX payment_calls_due ON payment_calls (status, next_attempt_at);
CREATE INDEX payment_calls_user ON payment_calls (user_id, status);

-- A worker's Stripe Express account (one per user on this platform account).
CREATE TABLE stripe_accounts (
    user_id         INTEGER PRIMARY KEY,
    account_id      TEXT    NOT NULL UNIQUE,
    payouts_enabled INTEGER NOT NULL DEFAULT 0,
    updated_at      TEXT    NOT NULL
);
