-- One-to-one conversations: how far the other user has read, kept in each user's entry for "read" marks.
ALTER TABLE user_conversations ADD COLUMN peer_read_seq bigint NOT NULL DEFAULT 0;
