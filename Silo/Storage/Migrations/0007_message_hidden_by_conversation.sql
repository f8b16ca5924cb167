-- Which members of a conversation hid any message of it: a large group or official account serves most pulls without
-- a query per member (most members hide nothing), once it knows who does.
CREATE INDEX message_hidden_by_conversation ON message_hidden (conversation_id, user_id);
