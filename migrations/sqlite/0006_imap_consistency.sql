-- IMAP correctness under concurrency (RFC 3501 §2.3.1.1, §6.3.6, §7.4.1).

-- UIDVALIDITY comes from one counter that never goes back, so a mailbox deleted and created
-- again under the same name never gets a value it had before, on any node, after any restart.
CREATE TABLE uidvalidity_counter (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    last  BIGINT  NOT NULL
);
INSERT INTO uidvalidity_counter (id, last) SELECT 1, COALESCE(MAX(uidvalidity), 0) FROM mailboxes;

-- Subscriptions are names, not mailboxes (RFC 3501 §6.3.6): a subscription outlives the
-- mailbox it names (LIST-EXTENDED shows it \NonExistent), and CREATE subscribes nothing.
CREATE TABLE subscriptions (
    user_id  INTEGER NOT NULL REFERENCES virtual_users (id) ON DELETE CASCADE,
    name     TEXT   NOT NULL,
    PRIMARY KEY (user_id, name)
);
INSERT INTO subscriptions (user_id, name) SELECT user_id, name FROM mailboxes WHERE subscribed = 1;
ALTER TABLE mailboxes DROP COLUMN subscribed;

-- An expunged message's object outlives the sessions that may still fetch it: the blob row
-- is marked when its last message goes, and the purge removes it after a grace period.
ALTER TABLE message_blobs ADD COLUMN orphaned_at BIGINT;
CREATE INDEX idx_message_blobs_orphaned ON message_blobs (orphaned_at) WHERE orphaned_at IS NOT NULL;
