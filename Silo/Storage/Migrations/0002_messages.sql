-- The append-only message log, its revisions (edits, recalls), per-user deletions, and per-user conversation indexes.
-- Message content is JSON so that other systems (history API, replay, audit) can read it without our types.

CREATE TABLE messages (
    conversation_id  text        NOT NULL,
    seq              bigint      NOT NULL,
    sender_id        text        NOT NULL,
    sender_device_id text,
    client_msg_id    text        NOT NULL,
    class            smallint    NOT NULL,
    content_type     smallint    NOT NULL,
    content          jsonb       NOT NULL,
    collapse_key     text,
    server_time      timestamptz NOT NULL,
    PRIMARY KEY (conversation_id, seq),
    -- Idempotent send: a retry by the same sender with the same id is the same message, whatever the grain remembers.
    UNIQUE (conversation_id, sender_id, client_msg_id)
);

-- Finding the notifications a later one with the same key supersedes.
CREATE INDEX messages_collapse ON messages (conversation_id, collapse_key, seq) WHERE collapse_key IS NOT NULL;

CREATE TABLE message_revisions (
    conversation_id text        NOT NULL,
    seq             bigint      NOT NULL,
    revision        integer     NOT NULL,
    state           smallint    NOT NULL,
    content         jsonb,
    actor_id        text        NOT NULL,
    at              timestamptz NOT NULL,
    PRIMARY KEY (conversation_id, seq, revision)
);

CREATE TABLE message_hidden (
    user_id         text        NOT NULL,
    conversation_id text        NOT NULL,
    seq             bigint      NOT NULL,
    at              timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, conversation_id, seq)
);

CREATE TABLE user_conversations (
    user_id         text        NOT NULL,
    conversation_id text        NOT NULL,
    kind            smallint    NOT NULL,
    last_seq        bigint      NOT NULL,
    last_message    jsonb,
    read_seq        bigint      NOT NULL,
    unread_count    bigint      NOT NULL,
    muted           boolean     NOT NULL,
    pinned          boolean     NOT NULL,
    hidden          boolean     NOT NULL,
    draft           text,
    mentioned       boolean     NOT NULL,
    removed         boolean     NOT NULL,
    read_diffusion  boolean     NOT NULL,
    version         bigint      NOT NULL,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, conversation_id)
);

-- "Read by N" in groups: the read positions of a conversation's members.
CREATE INDEX user_conversations_by_conversation ON user_conversations (conversation_id) INCLUDE (user_id, read_seq);
