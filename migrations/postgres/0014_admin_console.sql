-- The administrators of the web console and the JSON API (issue 20), their sessions,
-- API keys and recovery codes, the login throttle, and the audit log of every
-- administrative change. Times are seconds since the epoch; flags are 0/1.
CREATE TABLE admins (
    id              BIGSERIAL PRIMARY KEY,
    name            TEXT    NOT NULL UNIQUE,
    -- 'super_admin', 'domain_admin', 'support' or 'viewer'
    role            TEXT    NOT NULL,
    -- bcrypt
    password_hash   TEXT    NOT NULL,
    -- base32 TOTP secret (RFC 6238); set at enrolment, confirmed when totp_enabled = 1
    totp_secret     TEXT,
    totp_enabled    BIGINT  NOT NULL DEFAULT 0,
    -- the last TOTP time step accepted: each code logs in once
    totp_last_step  BIGINT  NOT NULL DEFAULT 0,
    is_active       BIGINT  NOT NULL DEFAULT 1,
    created_at      BIGINT  NOT NULL
);

-- The domains a domain_admin manages.
CREATE TABLE admin_domains (
    admin_id        BIGINT  NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
    domain_name     TEXT    NOT NULL,
    PRIMARY KEY (admin_id, domain_name)
);

-- One-time recovery codes (SHA-256 of the code).
CREATE TABLE admin_recovery_codes (
    admin_id        BIGINT  NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
    code_hash       TEXT    NOT NULL,
    PRIMARY KEY (admin_id, code_hash)
);

-- API keys (SHA-256 of the key; the key is shown once).
CREATE TABLE admin_api_keys (
    key_hash        TEXT    PRIMARY KEY,
    admin_id        BIGINT  NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
    -- the first characters of the key, to tell keys apart in lists
    prefix          TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    last_used       BIGINT
);

-- Console sessions, by SHA-256 of the cookie value. stage: 'anonymous' (before login,
-- carries the login form's CSRF token), 'password' (password checked, TOTP to come),
-- 'enrol' (password checked, TOTP enrolment to come) or 'full'.
CREATE TABLE admin_sessions (
    id_hash         TEXT    PRIMARY KEY,
    admin_id        BIGINT  REFERENCES admins (id) ON DELETE CASCADE,
    stage           TEXT    NOT NULL,
    csrf            TEXT    NOT NULL,
    source_ip       TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    last_seen       BIGINT  NOT NULL
);
CREATE INDEX admin_sessions_admin ON admin_sessions (admin_id);

-- Failed console logins, by account ('name:x') and by address ('ip:x'), for the throttle.
CREATE TABLE admin_login_failures (
    throttle_key    TEXT    NOT NULL,
    at              BIGINT  NOT NULL
);
CREATE INDEX admin_login_failures_key ON admin_login_failures (throttle_key, at);

-- Secrets the nodes share (the JWT signing key).
CREATE TABLE admin_secrets (
    name            TEXT    PRIMARY KEY,
    value           TEXT    NOT NULL
);

-- Every administrative change, by console, API or CLI. Append-only: no interface updates
-- or deletes a row; only the retention job removes rows older than [admin] audit_retention_days.
CREATE TABLE audit_log (
    id              BIGSERIAL PRIMARY KEY,
    at              BIGINT  NOT NULL,
    actor           TEXT    NOT NULL,
    role            TEXT    NOT NULL,
    source_ip       TEXT    NOT NULL,
    -- 'cli', 'console' or 'api'
    via             TEXT    NOT NULL,
    -- 'user.create', 'user.password', 'domain.update', ...
    action          TEXT    NOT NULL,
    -- the object changed: an address, a domain, a queue id, an administrator's name
    object          TEXT    NOT NULL,
    -- the domain the object belongs to ('' when none)
    domain          TEXT    NOT NULL,
    -- JSON, never a password or its hash
    before_state    TEXT,
    after_state     TEXT
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_object ON audit_log (object);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
