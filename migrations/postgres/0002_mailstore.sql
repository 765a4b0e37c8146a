-- Mail store index: mailboxes, the message objects (blobs) and the messages in each mailbox.
-- Folder membership, flags and UIDs live here, so a flag change or a move is one statement;
-- the blob itself (Maildir-style key) never changes.

CREATE TABLE mailboxes (
    id              BIGSERIAL PRIMARY KEY,
    user_id         BIGINT  NOT NULL REFERENCES virtual_users (id) ON DELETE CASCADE,
    -- hierarchy delimiter '/', e.g. 'INBOX', 'Archive/2026'
    name            TEXT    NOT NULL,
    -- RFC 6154 attribute: '\Sent', '\Drafts', '\Trash', '\Junk', '\Archive'
    special_use     TEXT,
    uidvalidity     BIGINT  NOT NULL,
    uidnext         BIGINT  NOT NULL DEFAULT 1,
    highest_modseq  BIGINT  NOT NULL DEFAULT 1,
    subscribed      BOOLEAN NOT NULL DEFAULT TRUE,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (user_id, name)
);

CREATE TABLE message_blobs (
    id              BIGSERIAL PRIMARY KEY,
    -- '{domain}/{localpart}/Maildir/cur/{unique},S={size}' in the blob store
    blob_key        TEXT    NOT NULL UNIQUE,
    size            BIGINT  NOT NULL,
    -- the header section as stored (through the blank line), for IMAP listings
    header          BYTEA   NOT NULL,
    -- parsed MIME structure (JSON); NULL when the message was too large to parse at delivery
    structure       TEXT,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE messages (
    id              BIGSERIAL PRIMARY KEY,
    mailbox_id      BIGINT  NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
    uid             BIGINT  NOT NULL,
    blob_id         BIGINT  NOT NULL REFERENCES message_blobs (id),
    size            BIGINT  NOT NULL,
    -- space-separated system flags and keywords, e.g. '\Seen \Flagged $Label1'
    flags           TEXT    NOT NULL DEFAULT '',
    -- seconds since the epoch (IMAP INTERNALDATE)
    internal_date   BIGINT  NOT NULL,
    modseq          BIGINT  NOT NULL,
    UNIQUE (mailbox_id, uid)
);
CREATE INDEX idx_messages_blob ON messages (blob_id);
