-- Customer service: who really wrote a shop's reply (audit; never shown to the user) and the name shown with it,
-- and the Orleans reminder table that carries the queue's timeouts across restarts (PostgresReminderTable).

ALTER TABLE messages ADD COLUMN acting_sender_id text;
ALTER TABLE messages ADD COLUMN sender_name text;

-- Audit: every reply an agent wrote, by agent.
CREATE INDEX messages_acting_sender ON messages (acting_sender_id, conversation_id, seq) WHERE acting_sender_id IS NOT NULL;

CREATE TABLE orleans_reminders (
    service_id    text        NOT NULL,
    grain_id      text        NOT NULL,
    reminder_name text        NOT NULL,
    -- GrainId.GetUniformHashCode(), a uint: the silos' ring ranges select on it.
    grain_hash    bigint      NOT NULL,
    start_at      timestamptz NOT NULL,
    period_ms     bigint      NOT NULL,
    -- The ETag: bumped on every upsert, so a stale remove is refused.
    version       bigint      NOT NULL,
    PRIMARY KEY (service_id, grain_id, reminder_name)
);

CREATE INDEX orleans_reminders_hash ON orleans_reminders (service_id, grain_hash);
