-- IMAP \Recent (RFC 3501 §2.3.2): messages with a UID at or above first_recent_uid are recent;
-- the first session to SELECT the mailbox claims them (first_recent_uid moves to uidnext) and
-- recent_from keeps where its claim began.
ALTER TABLE mailboxes ADD COLUMN first_recent_uid BIGINT NOT NULL DEFAULT 1;
ALTER TABLE mailboxes ADD COLUMN recent_from BIGINT NOT NULL DEFAULT 1;
