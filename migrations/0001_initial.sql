-- crowdwork-bot schema, version 1.
-- Times are ISO-8601 UTC text ("2026-11-22T03:17:00+00:00"), which sorts as time.
-- Money is INTEGER in the currency's minor unit.

CREATE TABLE guilds (
    guild_id             INTEGER PRIMARY KEY,
    jobs_channel_id      INTEGER NOT NULL,
    mod_channel_id       INTEGER NOT NULL,
    moderator_role_id    INTEGER NOT NULL,
    contracts_channel_id INTEGER,
    currency             TEXT    NOT NULL,
    locale               TEXT    NOT NULL DEFAULT 'en',
    created_at           TEXT    NOT NULL,
    updated_at           TEXT    NOT NULL
);

-- Per-guild overrides of the policy defaults (fee_percent is set here too).
CREATE TABLE guild_policies (
    guild_id   INTEGER NOT NULL REFERENCES guilds(guild_id),
    name       TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    updated_by INTEGER NOT NULL,
    updated_at TEXT    NOT NULL,
    PRIMARY KEY (guild_id, name)
);

-- The locale Discord last gave us for a user: DMs are written in it.
CREATE TABLE user_locales (
    user_id    INTEGER PRIMARY KEY,
    locale     TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE profiles (
    guild_id      INTEGER NOT NULL,
    user_id       INTEGER NOT NULL,
    display_name  TEXT,
    headline      TEXT,
    bio           TEXT,
    skills        TEXT,
    portfolio_url TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);

-- Private: shown only to the user and, when paying out, to moderators.
CREATE TABLE payout_details (
    guild_id   INTEGER NOT NULL,
    user_id    INTEGER NOT NULL,
    details    TEXT    NOT NULL,
    updated_at TEXT    NOT NULL,
    PRIMARY KEY (guild_id, user_id)
);

CREATE TABLE jobs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id         INTEGER NOT NULL,
    client_id        INTEGER NOT NULL,
    title            TEXT    NOT NULL,
    description      TEXT    NOT NULL,
    category         TEXT,
    budget           INTEGER NOT NULL CHECK (budget > 0),
    currency         TEXT    NOT NULL,
    deadline_days    INTEGER,
    deadline_date    TEXT,
    positions        INTEGER NOT NULL DEFAULT 1 CHECK (positions >= 1),
    filled           INTEGER NOT NULL DEFAULT 0 CHECK (filled >= 0),
    status           TEXT    NOT NULL,
    created_at       TEXT    NOT NULL,
    closed_at        TEXT,
    closed_by        INTEGER,
    board_channel_id INTEGER,
    board_message_id INTEGER,
    CHECK ((deadline_days IS NULL) <> (deadline_date IS NULL))
);
CREATE INDEX jobs_guild_status ON jobs (guild_id, status, id);
CREATE INDEX jobs_client ON jobs (guild_id, client_id, created_at);

CREATE TABLE applications (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id     INTEGER NOT NULL REFERENCES jobs(id),
    guild_id   INTEGER NOT NULL,
    worker_id  INTEGER NOT NULL,
    proposal   TEXT    NOT NULL,
    price      INTEGER NOT NULL CHECK (price > 0),
    days       INTEGER,
    status     TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    updated_at TEXT    NOT NULL,
    UNIQUE (job_id, worker_id)
);
CREATE INDEX applications_worker ON applications (guild_id, worker_id, status, created_at);
CREATE INDEX applications_job ON applications (job_id, status);

CREATE TABLE contracts (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id            INTEGER NOT NULL,
    job_id              INTEGER NOT NULL REFERENCES jobs(id),
    application_id      INTEGER REFERENCES applications(id),
    client_id           INTEGER NOT NULL,
    worker_id           INTEGER NOT NULL,
    status              TEXT    NOT NULL,
    currency            TEXT    NOT NULL,
    terms_version       INTEGER NOT NULL DEFAULT 1,
    -- the time the current waiting period began (offer sent, accepted, deposit declared,
    -- delivered); moderators' Extend moves it forward. Drives the timer sweep.
    clock_at            TEXT    NOT NULL,
    -- bumped by each moderator Extend so that reminders of the new round fire again
    timer_round         INTEGER NOT NULL DEFAULT 0,
    -- when the timer sweep must next look at this contract (NULL: nothing to wait for).
    -- Every state change sets it to the epoch ("look now"); the sweep sets the next time.
    timer_due_at        TEXT,
    offered_at          TEXT    NOT NULL,
    accepted_at         TEXT,
    deposit_declared_at TEXT,
    funded_at           TEXT,
    due_at              TEXT,
    delivered_at        TEXT,
    closed_at           TEXT,
    -- the client has not answered the worker in the contract thread since this time
    awaiting_reply_since TEXT,
    topup_due           INTEGER NOT NULL DEFAULT 0 CHECK (topup_due >= 0),
    status_before_dispute TEXT,
    thread_id           INTEGER,
    terms_message_id    INTEGER,
    CHECK (client_id <> worker_id)
);
CREATE INDEX contracts_timer ON contracts (timer_due_at) WHERE timer_due_at IS NOT NULL;
CREATE INDEX contracts_client ON contracts (guild_id, client_id, status);
CREATE INDEX contracts_worker ON contracts (guild_id, worker_id, status);
CREATE INDEX contracts_job ON contracts (job_id);
CREATE INDEX contracts_thread ON contracts (thread_id) WHERE thread_id IS NOT NULL;

-- Terms are a snapshot; an accepted amendment adds version n+1, nothing changes in place.
CREATE TABLE contract_terms (
    contract_id        INTEGER NOT NULL REFERENCES contracts(id),
    version            INTEGER NOT NULL,
    scope              TEXT    NOT NULL,
    price              INTEGER NOT NULL CHECK (price > 0),
    deadline_days      INTEGER,
    deadline_date      TEXT,
    revisions_included INTEGER NOT NULL CHECK (revisions_included >= 0),
    fee_percent        INTEGER NOT NULL,
    reverts_to         INTEGER,
    created_by         INTEGER NOT NULL,
    reason             TEXT,
    created_at         TEXT    NOT NULL,
    PRIMARY KEY (contract_id, version),
    CHECK ((deadline_days IS NULL) <> (deadline_date IS NULL))
);

CREATE TABLE amendments (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    contract_id   INTEGER NOT NULL REFERENCES contracts(id),
    proposed_by   INTEGER NOT NULL,
    base_version  INTEGER NOT NULL,
    scope         TEXT,
    price         INTEGER,
    deadline_days INTEGER,
    deadline_date TEXT,
    reason        TEXT    NOT NULL,
    reverts_to    INTEGER,
    status        TEXT    NOT NULL,
    created_at    TEXT    NOT NULL,
    decided_at    TEXT,
    decided_by    INTEGER,
    new_version   INTEGER
);
CREATE INDEX amendments_contract ON amendments (contract_id, status);

CREATE TABLE deposits (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    contract_id  INTEGER NOT NULL REFERENCES contracts(id),
    kind         TEXT    NOT NULL,            -- initial | topup
    amount       INTEGER NOT NULL CHECK (amount > 0),
    provider     TEXT    NOT NULL,
    reference    TEXT,
    status       TEXT    NOT NULL,            -- declared | confirmed | void
    declared_by  INTEGER NOT NULL,
    declared_at  TEXT    NOT NULL,
    confirmed_by INTEGER,
    confirmed_at TEXT
);
CREATE INDEX deposits_contract ON deposits (contract_id, status);
CREATE INDEX deposits_declared ON deposits (status, declared_at);

CREATE TABLE deliveries (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    contract_id   INTEGER NOT NULL REFERENCES contracts(id),
    worker_id     INTEGER NOT NULL,
    terms_version INTEGER NOT NULL,
    note          TEXT,
    created_at    TEXT    NOT NULL,
    reviewed_at   TEXT,
    outcome       TEXT                        -- approved | revision | auto_approved | settled
);
CREATE INDEX deliveries_contract ON deliveries (contract_id, id);

CREATE TABLE delivery_files (
    delivery_id  INTEGER NOT NULL REFERENCES deliveries(id),
    position     INTEGER NOT NULL,
    filename     TEXT    NOT NULL,
    sha256       TEXT    NOT NULL,
    size         INTEGER NOT NULL,
    content_type TEXT,
    PRIMARY KEY (delivery_id, position)
);

CREATE TABLE revision_requests (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    contract_id    INTEGER NOT NULL REFERENCES contracts(id),
    delivery_id    INTEGER NOT NULL REFERENCES deliveries(id),
    requested_by   INTEGER NOT NULL,
    reason         TEXT    NOT NULL,
    terms_version  INTEGER NOT NULL,
    included       INTEGER NOT NULL,          -- 1: within the revisions included in the terms
    reverts_to     INTEGER,
    status         TEXT    NOT NULL,          -- applied | pending_worker | accepted | declined
    created_at     TEXT    NOT NULL,
    decided_at     TEXT
);
CREATE INDEX revision_requests_contract ON revision_requests (contract_id, id);

-- Double-entry ledger. Accounts: escrow:<contract>, owed:<user>, refund:<user>, fees,
-- deposits:external, payouts:external. Every transaction's entries sum to zero.
CREATE TABLE ledger_transactions (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id        INTEGER NOT NULL,
    contract_id     INTEGER,
    kind            TEXT    NOT NULL,
    idempotency_key TEXT    NOT NULL UNIQUE,
    actor_id        INTEGER,
    memo            TEXT,
    created_at      TEXT    NOT NULL
);
CREATE TABLE ledger_entries (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    txn_id   INTEGER NOT NULL REFERENCES ledger_transactions(id),
    guild_id INTEGER NOT NULL,
    account  TEXT    NOT NULL,
    currency TEXT    NOT NULL,
    amount   INTEGER NOT NULL
);
CREATE INDEX ledger_entries_account ON ledger_entries (guild_id, account, currency);
CREATE INDEX ledger_entries_txn ON ledger_entries (txn_id);

CREATE TABLE ratings (
    contract_id INTEGER NOT NULL REFERENCES contracts(id),
    rater_id    INTEGER NOT NULL,
    ratee_id    INTEGER NOT NULL,
    ratee_role  TEXT    NOT NULL,             -- client | worker
    stars       INTEGER NOT NULL CHECK (stars BETWEEN 1 AND 5),
    comment     TEXT,
    created_at  TEXT    NOT NULL,
    PRIMARY KEY (contract_id, rater_id)
);
CREATE INDEX ratings_ratee ON ratings (ratee_id, ratee_role);

CREATE TABLE cases (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id        INTEGER NOT NULL,
    contract_id     INTEGER REFERENCES contracts(id),
    kind            TEXT    NOT NULL,         -- escalation | dispute | report
    reason_kind     TEXT    NOT NULL,         -- escrow_unfunded | reply_silent | overdue | dispute | cancel_request | report
    opened_by       INTEGER,                  -- NULL: the scheduler
    subject_id      INTEGER,                  -- the party concerned / reported user
    reason          TEXT,
    status          TEXT    NOT NULL,         -- open | resolved
    resolution      TEXT,
    resolution_note TEXT,
    resolved_by     INTEGER,
    resolved_at     TEXT,
    mod_message_id  INTEGER,
    created_at      TEXT    NOT NULL
);
CREATE INDEX cases_guild_status ON cases (guild_id, status, id);
CREATE INDEX cases_contract ON cases (contract_id, status);
CREATE INDEX cases_subject ON cases (guild_id, subject_id, kind);
CREATE INDEX cases_opener ON cases (guild_id, opened_by, kind, created_at);
CREATE UNIQUE INDEX cases_one_open_escalation ON cases (contract_id, reason_kind)
    WHERE status = 'open' AND contract_id IS NOT NULL;

-- Audit trail: every state change writes one.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id    INTEGER NOT NULL,
    contract_id INTEGER,
    job_id      INTEGER,
    case_id     INTEGER,
    actor_id    INTEGER,                      -- NULL: the system
    kind        TEXT    NOT NULL,
    data        TEXT    NOT NULL DEFAULT '{}',
    created_at  TEXT    NOT NULL
);
CREATE INDEX events_contract ON events (contract_id, id);
CREATE INDEX events_job ON events (job_id, id);
CREATE INDEX events_case ON events (case_id, id);

-- Durable outbox: written in the transaction that caused the notification.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id        INTEGER NOT NULL,
    target          TEXT    NOT NULL,         -- dm | thread | mod | board
    recipient_id    INTEGER,
    contract_id     INTEGER,
    job_id          INTEGER,
    case_id         INTEGER,
    message_key     TEXT    NOT NULL,
    args            TEXT    NOT NULL DEFAULT '{}',
    buttons         TEXT    NOT NULL DEFAULT '[]',
    dedupe_key      TEXT UNIQUE,
    status          TEXT    NOT NULL DEFAULT 'pending',  -- pending | sent | fallback_thread | fallback_mod | failed
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT    NOT NULL,
    last_error      TEXT,
    created_at      TEXT    NOT NULL,
    sent_at         TEXT,
    message_id      INTEGER
);
CREATE INDEX outbox_pending ON outbox (status, next_attempt_at) WHERE status = 'pending';
-- the messages of a contract or case whose buttons a finished action retires
CREATE INDEX outbox_contract ON outbox (contract_id) WHERE contract_id IS NOT NULL;
CREATE INDEX outbox_case ON outbox (case_id) WHERE case_id IS NOT NULL;

-- Each reminder / escalation fired, under a unique key: nothing fires twice.
CREATE TABLE timer_fires (
    key         TEXT PRIMARY KEY,             -- contract:kind:anchor time:stage:repeat
    guild_id    INTEGER NOT NULL,
    contract_id INTEGER,
    kind        TEXT    NOT NULL,
    fired_at    TEXT    NOT NULL
);
CREATE INDEX timer_fires_contract ON timer_fires (contract_id);
