-- Scope and revisions: a revision request the worker answered "outside the agreed scope"
-- becomes an amendment proposal (amendment_id), and a requirement may return to an earlier
-- revision request (reverts_to_revision), not only to an earlier terms version (reverts_to).
ALTER TABLE revision_requests ADD COLUMN amendment_id INTEGER REFERENCES amendments(id);
ALTER TABLE revision_requests ADD COLUMN reverts_to_revision INTEGER;
ALTER TABLE amendments ADD COLUMN reverts_to_revision INTEGER;
ALTER TABLE contract_terms ADD COLUMN reverts_to_revision INTEGER;
