-- Reports linked to a contract, suspensions, and the sweep of jobs open too long.

-- A report may name a contract: one open report per reporter and contract (the client and the
-- worker may each have one), not one per contract as for escalations and disputes.
DROP INDEX cases_one_open_escalation;
CREATE UNIQUE INDEX cases_one_open_escalation ON cases (contract_id, reason_kind)
    WHERE status = 'open' AND contract_id IS NOT NULL AND kind <> 'report';
CREATE UNIQUE INDEX cases_one_open_report ON cases (contract_id, opened_by)
    WHERE status = 'open' AND contract_id IS NOT NULL AND kind = 'report';

-- A moderator stops a user posting jobs and applying until a time (per guild). A suspension
-- ends by itself at ``ends_at``, or earlier when a moderator lifts it.
CREATE TABLE suspensions (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    guild_id     INTEGER NOT NULL,
    user_id      INTEGER NOT NULL,
    suspended_by INTEGER NOT NULL,
    reason       TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    ends_at      TEXT    NOT NULL,
    lifted_by    INTEGER,
    lifted_at    TEXT
);
CREATE INDEX suspensions_user ON suspensions (guild_id, user_id, ends_at) WHERE lifted_at IS NULL;

-- The jobs of a guild open since before a moment: the expiry sweep's range.
CREATE INDEX jobs_open_since ON jobs (guild_id, status, created_at);
