-- Directory: the Postfix virtual-map tables (domains, virtual_users, virtual_aliases).

CREATE TABLE domains (
    id            BIGSERIAL   PRIMARY KEY,
    domain_name   TEXT        NOT NULL UNIQUE,
    transport     TEXT        NOT NULL DEFAULT 'virtual',
    company_id    BIGINT,
    auth_type     TEXT        NOT NULL DEFAULT 'local' CHECK (auth_type IN ('ldap', 'local')),
    ldap_base_dn  TEXT,
    is_active     BOOLEAN     NOT NULL DEFAULT TRUE,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX idx_domains_active ON domains (is_active);

CREATE TABLE virtual_users (
    id            BIGSERIAL   PRIMARY KEY,
    email         TEXT        NOT NULL UNIQUE,
    -- bcrypt hash; NULL when the user has no local password (LDAP only)
    password      TEXT,
    domain_id     BIGINT      NOT NULL REFERENCES domains (id),
    maildir_path  TEXT        NOT NULL,
    quota         BIGINT      NOT NULL DEFAULT 1073741824,
    used_quota    BIGINT      NOT NULL DEFAULT 0,
    auth_source   TEXT        NOT NULL DEFAULT 'local' CHECK (auth_source IN ('ldap', 'local')),
    display_name  TEXT,
    department    TEXT,
    is_active     BOOLEAN     NOT NULL DEFAULT TRUE,
    last_login    TIMESTAMPTZ,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX idx_virtual_users_domain ON virtual_users (domain_id);
CREATE INDEX idx_virtual_users_active ON virtual_users (is_active);

CREATE TABLE virtual_aliases (
    id            BIGSERIAL   PRIMARY KEY,
    -- 'user@domain', or '@domain' for the catch-all of a domain
    source        TEXT        NOT NULL,
    destination   TEXT        NOT NULL,
    domain_id     BIGINT      NOT NULL REFERENCES domains (id),
    is_active     BOOLEAN     NOT NULL DEFAULT TRUE,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (source, destination)
);
CREATE INDEX idx_virtual_aliases_source ON virtual_aliases (source);
CREATE INDEX idx_virtual_aliases_domain ON virtual_aliases (domain_id);
CREATE INDEX idx_virtual_aliases_active ON virtual_aliases (is_active);
