-- DKIM signing keys (one or more selectors per domain) and the outbound queue.

CREATE TABLE dkim_keys (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    domain_id    INTEGER NOT NULL REFERENCES domains (id) ON DELETE CASCADE,
    selector     TEXT    NOT NULL,
    -- 'rsa-sha256' or 'ed25519-sha256'
    algorithm    TEXT    NOT NULL,
    -- base64 DER: PKCS#1 for RSA, PKCS#8 for Ed25519
    private_key  TEXT    NOT NULL,
    -- base64, exactly the p= tag of the DNS record
    public_key   TEXT    NOT NULL,
    is_active    BOOLEAN NOT NULL DEFAULT 1,
    created_at   TEXT    NOT NULL DEFAULT (datetime('now')),
    UNIQUE (domain_id, selector)
);

-- One row per message waiting to leave; its blob lives under queue/ in the blob store.
CREATE TABLE queue_messages (
    id              TEXT    PRIMARY KEY,
    blob_key        TEXT    NOT NULL,
    -- envelope sender; '' for the null sender (bounces)
    sender          TEXT    NOT NULL,
    size            INTEGER NOT NULL,
    -- seconds since the epoch
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    delay_notified  BOOLEAN NOT NULL DEFAULT 0
);

CREATE TABLE queue_recipients (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id       TEXT    NOT NULL REFERENCES queue_messages (id) ON DELETE CASCADE,
    recipient        TEXT    NOT NULL,
    domain           TEXT    NOT NULL,
    -- 'queued', 'held', 'delivered', 'failed'
    status           TEXT    NOT NULL DEFAULT 'queued',
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    -- a worker owns the row until then (a crashed worker's lease runs out)
    lease_until      INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX idx_queue_due ON queue_recipients (status, next_attempt_at);
CREATE INDEX idx_queue_message ON queue_recipients (message_id);
