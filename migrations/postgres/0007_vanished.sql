-- CONDSTORE/QRESYNC (RFC 7162 §3.2.5, §3.2.10): an expunged UID is kept with the modseq
-- of its expunge, so a client resynchronising from an older modseq is told exactly what
-- vanished. Tombstones are pruned by age; `vanished_floor` records the highest modseq
-- pruned, below which the history is incomplete (the client then gets every UID it may
-- know that no longer exists).
CREATE TABLE expunged_messages (
    mailbox_id   BIGINT  NOT NULL REFERENCES mailboxes (id) ON DELETE CASCADE,
    uid          BIGINT  NOT NULL,
    modseq       BIGINT  NOT NULL,
    -- seconds since the epoch
    expunged_at  BIGINT  NOT NULL,
    PRIMARY KEY (mailbox_id, uid)
);
CREATE INDEX idx_expunged_messages_modseq ON expunged_messages (mailbox_id, modseq);
CREATE INDEX idx_expunged_messages_age ON expunged_messages (expunged_at);

ALTER TABLE mailboxes ADD COLUMN vanished_floor BIGINT NOT NULL DEFAULT 0;
-- Expunges before this migration left no tombstone.
UPDATE mailboxes SET vanished_floor = highest_modseq;
