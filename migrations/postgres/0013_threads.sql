-- THREADID (RFC 8474): each message copy belongs to a thread of its user's mail. A message
-- whose In-Reply-To or References names a Message-ID the user already has joins that
-- message's thread; any other starts one, numbered by its object (`message_blobs.id`).
-- Messages stored before this migration each start their own thread (their Message-ID was
-- not recorded, so replies to them start new threads too).
ALTER TABLE message_blobs ADD COLUMN message_id TEXT;
CREATE INDEX idx_message_blobs_message_id ON message_blobs (message_id);
ALTER TABLE messages ADD COLUMN thread_id BIGINT;
UPDATE messages SET thread_id = blob_id;
