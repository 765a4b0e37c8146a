-- Messages the content filters held back instead of delivering or refusing them
-- ([quarantine] in baedal.toml). The message itself is an object under `quarantine/`;
-- releasing it delivers it as it was received, to the recipients it was held for.
CREATE TABLE quarantine (
    -- the message's queue id (the spool unique name)
    id              TEXT    PRIMARY KEY,
    blob_key        TEXT    NOT NULL,
    -- the envelope: MAIL FROM ('' for the null sender) and the RCPT addresses as given
    sender          TEXT    NOT NULL,
    recipients      TEXT    NOT NULL,
    -- where a release delivers: local users (JSON array of addresses) and remote addresses
    local_users     TEXT    NOT NULL,
    remote          TEXT    NOT NULL,
    -- what held it: 'spam', 'rejected', 'virus' or 'attachment', and the filter's words
    verdict         TEXT    NOT NULL,
    reason          TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    from_header     TEXT    NOT NULL,
    client_ip       TEXT    NOT NULL,
    size            BIGINT  NOT NULL,
    -- seconds since the epoch
    created_at      BIGINT  NOT NULL,
    expires_at      BIGINT  NOT NULL
);
CREATE INDEX quarantine_expires ON quarantine (expires_at);
