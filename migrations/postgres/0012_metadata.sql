-- IMAP METADATA (RFC 5464): a user's annotations on the server (mailbox_id 0) and on each of
-- their mailboxes. Entry names are stored in lower case (they are case-insensitive); values
-- are base64 text (they may be binary).
CREATE TABLE metadata (
    user_id     BIGINT NOT NULL REFERENCES virtual_users (id) ON DELETE CASCADE,
    mailbox_id  BIGINT NOT NULL,
    name        TEXT   NOT NULL,
    value       TEXT   NOT NULL,
    PRIMARY KEY (user_id, mailbox_id, name)
);
