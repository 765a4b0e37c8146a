-- SAVEDATE (RFC 8514): when each message was saved into its mailbox (delivery, APPEND,
-- COPY or MOVE), seconds since the epoch. Messages stored before this migration get their
-- INTERNALDATE, the closest thing known.
ALTER TABLE messages ADD COLUMN saved_at BIGINT;
UPDATE messages SET saved_at = internal_date;
