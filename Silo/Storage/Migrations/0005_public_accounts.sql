-- Official accounts, @mentions (issue 10; the one migration of this change, so both live here).

-- Subscriptions: one row per (account, user). A subscribe is an insert, never a rewrite of a grain state that grows
-- with the subscriber count; the account's grain loads its subscribers once per activation.
CREATE TABLE public_account_subscriptions (
    account_id    text        NOT NULL,
    user_id       text        NOT NULL,
    subscribed_at timestamptz NOT NULL,
    PRIMARY KEY (account_id, user_id)
);

-- "My subscriptions".
CREATE INDEX public_account_subscriptions_by_user ON public_account_subscriptions (user_id);

-- @mentions are part of the message (who was mentioned must survive a reload and a replay): a JSON array of user ids,
-- or ["all"]; NULL when the message mentions nobody.
ALTER TABLE messages ADD COLUMN mentions jsonb;

-- The latest message that mentioned the user: the entry's mention flag holds while it is after the read position.
ALTER TABLE user_conversations ADD COLUMN mention_seq bigint NOT NULL DEFAULT 0;
