-- Directory: the Postfix virtual-map tables (domains, virtual_users, virtual_aliases).
-- SQLite has no BOOLEAN or TIMESTAMP: booleans are 0/1 integers, times are UTC text
-- 'YYYY-MM-DD HH:MM:SS' (what CURRENT_TIMESTAMP gives).

CREATE TABLE domains (
    id            INTEGER PRIMARY KEY,
    domain_name   TEXT    NOT NULL UNIQUE,
    transport     TEXT    NOT NULL DEFAULT 'virtual',
    company_id    BIGINT,
    auth_type     TEXT    NOT NULL DEFAULT 'local' CHECK (auth_type IN ('ldap', 'local')),
    ldap_base_dn  TEXT,
    is_active     INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    created_at    TEXT    NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_domains_active ON domains (is_active);

CREATE TABLE virtual_users (
    id            INTEGER PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE,
    -- bcrypt hash; NULL when the user has no local password (LDAP only)
    password      TEXT,
    domain_id     INTEGER NOT NULL REFERENCES domains (id),
    maildir_path  TEXT    NOT NULL,
    quota         BIGINT  NOT NULL DEFAULT 1073741824,
    used_quota    BIGINT  NOT NULL DEFAULT 0,
    auth_source   TEXT    NOT NULL DEFAULT 'local' CHECK (auth_source IN ('ldap', 'local')),
    display_name  TEXT,
    department    TEXT,
    is_active     INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    last_login    TEXT,
    created_at    TEXT    NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at    TEXT    NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX idx_virtual_users_domain ON virtual_users (domain_id);
CREATE INDEX idx_virtual_users_active ON virtual_users (is_active);

CREATE TABLE virtual_aliases (
    id            INTEGER PRIMARY KEY,
    -- 'user@domain', or '@domain' for the catch-all of a domain
    source        TEXT    NOT NULL,
    destination   TEXT    NOT NULL,
    domain_id     INTEGER NOT NULL REFERENCES domains (id),
    is_active     INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    created_at    TEXT    NOT NULL DEFAULT CURRENT_TIMESTAMP,
    UNIQUE (source, destination)
);
CREATE INDEX idx_virtual_aliases_source ON virtual_aliases (source);
CREATE INDEX idx_virtual_aliases_domain ON virtual_aliases (domain_id);
CREATE INDEX idx_virtual_aliases_active ON virtual_aliases (is_active);
