-- Unread counts that leave out what was taken back while unread: per entry, the seqs above the read position that were
-- recalled, deleted for the user or superseded (a JSON array of seqs; NULL when none, as on every row before this).
ALTER TABLE user_conversations ADD COLUMN uncounted jsonb;
