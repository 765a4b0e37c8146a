-- Quota notices ([quota] in baedal.toml): the last day (days since 1970, UTC) each user was
-- told of each kind of quota event ('warning': past warn_percent; 'refused': mail refused
-- because the mailbox is full), so that a user gets one notice of a kind per day.
CREATE TABLE quota_notices (
    user_id  BIGINT NOT NULL REFERENCES virtual_users (id) ON DELETE CASCADE,
    kind     TEXT   NOT NULL,
    day      BIGINT NOT NULL,
    PRIMARY KEY (user_id, kind)
);
