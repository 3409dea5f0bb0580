-- Clocks that stop while the worker cannot act (PRODUCT.md "Lifecycle"): while a moderator
-- case on the contract is open, or while the worker waits for the client's reply in the
-- thread past reply_reminder_after, the delivery deadline and the review clock are paused.
-- paused_at: the moment the pause began (NULL: running); pause_reason: case | reply.
-- On resume due_at and clock_at move forward by the paused time.
ALTER TABLE contracts ADD COLUMN paused_at TEXT;
ALTER TABLE contracts ADD COLUMN pause_reason TEXT;
-- the last resume: a reply pause never starts again before it (no time counted twice)
ALTER TABLE contracts ADD COLUMN resumed_at TEXT;

-- The worker asks for more time; the client accepts (a new terms version) or declines.
CREATE TABLE extension_requests (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    contract_id  INTEGER NOT NULL REFERENCES contracts(id),
    requested_by INTEGER NOT NULL,
    base_version INTEGER NOT NULL,
    days         INTEGER NOT NULL CHECK (days BETWEEN 1 AND 365),
    reason       TEXT    NOT NULL,
    status       TEXT    NOT NULL,          -- proposed | accepted | declined | lapsed
    created_at   TEXT    NOT NULL,
    decided_at   TEXT,
    decided_by   INTEGER,
    new_version  INTEGER
);
CREATE UNIQUE INDEX extension_requests_one_open ON extension_requests (contract_id) WHERE status = 'proposed';

-- The last moderator action on an open case (a nudge): the case reminder waits from there.
ALTER TABLE cases ADD COLUMN acted_at TEXT;
-- A report that names a contract: it pauses that contract's clocks while it is open.
ALTER TABLE cases ADD COLUMN linked_contract_id INTEGER REFERENCES contracts(id);
CREATE INDEX cases_linked_contract ON cases (linked_contract_id, status) WHERE linked_contract_id IS NOT NULL;

-- The time zone a typed deadline date is read in (IANA name; NULL: the guild's default).
ALTER TABLE profiles ADD COLUMN timezone TEXT;

-- The zone a deadline typed as a date was meant in (its end of day there); NULL: UTC.
ALTER TABLE jobs ADD COLUMN deadline_tz TEXT;
ALTER TABLE contract_terms ADD COLUMN deadline_tz TEXT;
ALTER TABLE amendments ADD COLUMN deadline_tz TEXT;
