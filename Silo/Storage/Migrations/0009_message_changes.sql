-- Changes a device missed while it was away: the messages of a conversation revised (edited, recalled) after a time,
-- and, per user and conversation, when the last change the user was told of was made (the conversation list tells a
-- device which conversations have changes to fetch).
CREATE INDEX message_revisions_by_time ON message_revisions (conversation_id, at);
ALTER TABLE user_conversations ADD COLUMN changed_at timestamptz;
