-- Mailbox names are kept in UTF-8 from now on (IMAP4rev1 sessions convert to and from
-- modified UTF-7 at their edge, RFC 3501 §5.1.3; RFC 6855 UTF8=ACCEPT sessions use UTF-8).
-- The names stored so far are modified UTF-7, as rev1 clients sent them: the first start
-- after this migration converts them (storage/src/db.rs) and then deletes this row.
CREATE TABLE pending_fixups (
    name  TEXT PRIMARY KEY
);
INSERT INTO pending_fixups (name) VALUES ('utf8_mailbox_names');
