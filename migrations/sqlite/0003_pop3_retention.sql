-- POP3 retention (site PRD: the server keeps mail a POP3 client retrieved for 7 days).
-- When a POP3 session that retrieved a message ends with QUIT, the time is recorded; the
-- sweeper expunges it once the user's retention has passed. NULL: never retrieved by POP3.
ALTER TABLE messages ADD COLUMN pop3_retrieved_at BIGINT;
CREATE INDEX idx_messages_pop3_retrieved ON messages (pop3_retrieved_at);

-- Days to keep POP3-retrieved mail; NULL = the site default ([pop3] retention_days),
-- 0 = keep until the client deletes it.
ALTER TABLE virtual_users ADD COLUMN pop3_retention_days BIGINT;
