-- Every message updates two entries of user_conversations. Such an update can stay on its heap page without new index
-- entries (a HOT update) only when no indexed column changes and the page has room. Under load only 18 % of updates were
-- HOT: read_seq was an INCLUDE column of the by-conversation index (and a sender's read_seq moves with each message it
-- sends), and full pages left no room. The read-positions query filters on "removed", which is not in the index, so it
-- reads the heap anyway: read_seq in the index bought nothing.
DROP INDEX user_conversations_by_conversation;
CREATE INDEX user_conversations_by_conversation ON user_conversations (conversation_id);
-- Room on each page for the next versions of its rows (applies to pages written from now on).
ALTER TABLE user_conversations SET (fillfactor = 80);
