-- Ended sessions, as announced to the edges: an edge host that starts after an announcement went out reads here what it
-- missed (the broadcast is in memory, and so was the log that kept it, which a silo lost with it lost). One row per
-- announcement; session_id '' means every session of the user. Rows older than an access token's life are deleted.
CREATE TABLE session_revocations (
    user_id    text        NOT NULL,
    session_id text        NOT NULL,
    revoked_at timestamptz NOT NULL,
    -- An announcement retried after a failure is the same row.
    PRIMARY KEY (user_id, session_id, revoked_at)
);

-- "Since": an edge's catch-up, and the pruning of old rows.
CREATE INDEX session_revocations_by_time ON session_revocations (revoked_at);
