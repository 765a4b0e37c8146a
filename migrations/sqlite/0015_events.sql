-- Authentication, delivery and error events, for the console's log search and
-- `baedal log search` (no external log stack needed). Written in batches by one task per
-- node; pruned by [admin] log_retention_days.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    at          BIGINT NOT NULL,
    -- 'auth', 'delivery' or 'error'
    kind        TEXT   NOT NULL,
    -- 'imap', 'pop3', 'smtp', 'submission', 'queue', 'console', ...
    protocol    TEXT   NOT NULL,
    -- the login name, or the envelope (sender and recipients)
    address     TEXT   NOT NULL,
    remote_ip   TEXT   NOT NULL,
    -- the queue id of the message ('' when none)
    message_id  TEXT   NOT NULL,
    -- 'ok', a refusal reason, 'accepted', 'delivered', 'deferred', 'failed', ...
    result      TEXT   NOT NULL,
    detail      TEXT   NOT NULL
);
CREATE INDEX events_at ON events (at);
CREATE INDEX events_message_id ON events (message_id);
