//! [`AdminStore`]: the administrators of the console and the API (`admins`,
//! `admin_domains`), their TOTP state, recovery codes and API keys. Sessions, the login
//! throttle and the audit log are in [`sessions`] and [`audit`].
//!
//! Secrets arrive here already hashed (bcrypt for passwords, SHA-256 for API keys,
//! recovery codes and session ids): the store never sees a key it could leak.

pub mod audit;
pub mod sessions;

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::db::Database;

#[derive(Debug, thiserror::Error)]
pub enum AdminStoreError {
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("an administrator named {0} already exists")]
    Exists(String),
    #[error("no administrator named {0}")]
    Unknown(String),
    #[error("{0}")]
    Invalid(String),
}

/// What an administrator may do (the site's permission table, docs/console.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    SuperAdmin,
    DomainAdmin,
    Support,
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SuperAdmin => "super_admin",
            Self::DomainAdmin => "domain_admin",
            Self::Support => "support",
            Self::Viewer => "viewer",
        }
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().replace('-', "_").as_str() {
            "super_admin" => Ok(Self::SuperAdmin),
            "domain_admin" => Ok(Self::DomainAdmin),
            "support" => Ok(Self::Support),
            "viewer" => Ok(Self::Viewer),
            other => Err(format!(
                "'{other}' is not a role (super_admin, domain_admin, support, viewer)"
            )),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An administrator as lists show it (never a secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AdminAccount {
    pub id: i64,
    pub name: String,
    pub role: Role,
    /// The domains of a domain_admin (empty for the other roles).
    pub domains: Vec<String>,
    pub totp_enabled: bool,
    pub is_active: bool,
    pub created_at: i64,
}

/// An administrator with what logging in checks.
#[derive(Debug, Clone)]
pub struct AdminCredentials {
    pub account: AdminAccount,
    pub password_hash: String,
    pub totp_secret: Option<String>,
    pub totp_last_step: i64,
}

#[derive(Debug, Clone)]
pub struct NewAdmin {
    pub name: String,
    pub role: Role,
    pub domains: Vec<String>,
    pub password_hash: String,
}

/// The administrators' tables.
#[derive(Debug, Clone)]
pub struct AdminStore {
    db: Database,
}

type CredentialRow = (
    i64,
    String,
    String,
    String,
    Option<String>,
    i64,
    i64,
    i64,
    i64,
);

const CREDENTIALS: &str = "SELECT id, name, role, password_hash, totp_secret, totp_enabled, \
                           totp_last_step, is_active, created_at FROM admins";

impl AdminStore {
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    pub async fn add(&self, new: NewAdmin, now: i64) -> Result<AdminAccount, AdminStoreError> {
        if new.name.is_empty()
            || new.name.len() > 64
            || !new
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c))
        {
            return Err(AdminStoreError::Invalid(format!(
                "'{}' is not an administrator name (1-64 of a-z, 0-9, . _ - @)",
                new.name
            )));
        }
        if new.role == Role::DomainAdmin && new.domains.is_empty() {
            return Err(AdminStoreError::Invalid(
                "a domain_admin needs at least one --domain".into(),
            ));
        }
        let mut tx = self.db.pool().begin().await?;
        let id = sqlx::query_scalar::<_, i64>(
            "INSERT INTO admins (name, role, password_hash, created_at) VALUES ($1, $2, $3, $4) \
             RETURNING id",
        )
        .bind(&new.name)
        .bind(new.role.as_str())
        .bind(&new.password_hash)
        .bind(now)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                AdminStoreError::Exists(new.name.clone())
            }
            _ => e.into(),
        })?;
        if new.role == Role::DomainAdmin {
            for domain in &new.domains {
                sqlx::query(
                    "INSERT INTO admin_domains (admin_id, domain_name) VALUES ($1, $2) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(id)
                .bind(domain)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        self.by_id(id)
            .await?
            .ok_or_else(|| AdminStoreError::Unknown(new.name))
    }

    async fn domains_of(&self, id: i64) -> Result<Vec<String>, AdminStoreError> {
        Ok(sqlx::query_scalar(
            "SELECT domain_name FROM admin_domains WHERE admin_id = $1 ORDER BY domain_name",
        )
        .bind(id)
        .fetch_all(self.db.pool())
        .await?)
    }

    async fn credentials_row(
        &self,
        row: Option<CredentialRow>,
    ) -> Result<Option<AdminCredentials>, AdminStoreError> {
        let Some((id, name, role, password_hash, totp_secret, enabled, step, active, created)) =
            row
        else {
            return Ok(None);
        };
        Ok(Some(AdminCredentials {
            account: AdminAccount {
                id,
                name,
                role: role.parse().map_err(AdminStoreError::Invalid)?,
                domains: self.domains_of(id).await?,
                totp_enabled: enabled != 0,
                is_active: active != 0,
                created_at: created,
            },
            password_hash,
            totp_secret,
            totp_last_step: step,
        }))
    }

    pub async fn credentials(
        &self,
        name: &str,
    ) -> Result<Option<AdminCredentials>, AdminStoreError> {
        let row = sqlx::query_as(&format!("{CREDENTIALS} WHERE name = $1"))
            .bind(name)
            .fetch_optional(self.db.pool())
            .await?;
        self.credentials_row(row).await
    }

    pub async fn credentials_by_id(
        &self,
        id: i64,
    ) -> Result<Option<AdminCredentials>, AdminStoreError> {
        let row = sqlx::query_as(&format!("{CREDENTIALS} WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.db.pool())
            .await?;
        self.credentials_row(row).await
    }

    pub async fn by_id(&self, id: i64) -> Result<Option<AdminAccount>, AdminStoreError> {
        Ok(self.credentials_by_id(id).await?.map(|c| c.account))
    }

    pub async fn require(&self, name: &str) -> Result<AdminCredentials, AdminStoreError> {
        self.credentials(name)
            .await?
            .ok_or_else(|| AdminStoreError::Unknown(name.to_string()))
    }

    pub async fn list(&self) -> Result<Vec<AdminAccount>, AdminStoreError> {
        let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM admins ORDER BY name")
            .fetch_all(self.db.pool())
            .await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(account) = self.by_id(id).await? {
                out.push(account);
            }
        }
        Ok(out)
    }

    pub async fn set_password(&self, id: i64, hash: &str) -> Result<(), AdminStoreError> {
        sqlx::query("UPDATE admins SET password_hash = $1 WHERE id = $2")
            .bind(hash)
            .bind(id)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    pub async fn set_active(&self, id: i64, active: bool) -> Result<(), AdminStoreError> {
        sqlx::query("UPDATE admins SET is_active = $1 WHERE id = $2")
            .bind(i64::from(active))
            .bind(id)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// Starts (or restarts) TOTP enrolment with a new secret; TOTP is off until
    /// [`Self::enable_totp`].
    pub async fn begin_totp(&self, id: i64, secret: &str) -> Result<(), AdminStoreError> {
        sqlx::query(
            "UPDATE admins SET totp_secret = $1, totp_enabled = 0, totp_last_step = 0 WHERE id = $2",
        )
        .bind(secret)
        .bind(id)
        .execute(self.db.pool())
        .await?;
        sqlx::query("DELETE FROM admin_recovery_codes WHERE admin_id = $1")
            .bind(id)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// Confirms enrolment and stores the recovery codes' hashes.
    pub async fn enable_totp(
        &self,
        id: i64,
        recovery_code_hashes: &[String],
    ) -> Result<(), AdminStoreError> {
        let mut tx = self.db.pool().begin().await?;
        sqlx::query("UPDATE admins SET totp_enabled = 1 WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM admin_recovery_codes WHERE admin_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        for hash in recovery_code_hashes {
            sqlx::query("INSERT INTO admin_recovery_codes (admin_id, code_hash) VALUES ($1, $2)")
                .bind(id)
                .bind(hash)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Turns TOTP off (`baedal admin reset-totp`): the next login enrols again.
    pub async fn reset_totp(&self, id: i64) -> Result<(), AdminStoreError> {
        sqlx::query(
            "UPDATE admins SET totp_secret = NULL, totp_enabled = 0, totp_last_step = 0 WHERE id = $1",
        )
        .bind(id)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// Claims TOTP time step `step` for a login: true only when it is later than every step
    /// accepted before (RFC 6238 §5.2: a code is accepted once). Atomic, so two logins racing
    /// with the same code cannot both win.
    pub async fn claim_totp_step(&self, id: i64, step: i64) -> Result<bool, AdminStoreError> {
        let done = sqlx::query(
            "UPDATE admins SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1",
        )
        .bind(step)
        .bind(id)
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Uses up a recovery code: true when it existed.
    pub async fn use_recovery_code(&self, id: i64, hash: &str) -> Result<bool, AdminStoreError> {
        let done =
            sqlx::query("DELETE FROM admin_recovery_codes WHERE admin_id = $1 AND code_hash = $2")
                .bind(id)
                .bind(hash)
                .execute(self.db.pool())
                .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn add_api_key(
        &self,
        id: i64,
        key_hash: &str,
        prefix: &str,
        now: i64,
    ) -> Result<(), AdminStoreError> {
        sqlx::query(
            "INSERT INTO admin_api_keys (key_hash, admin_id, prefix, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(key_hash)
        .bind(id)
        .bind(prefix)
        .bind(now)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// The administrator an API key belongs to (recording its use).
    pub async fn by_api_key(
        &self,
        key_hash: &str,
        now: i64,
    ) -> Result<Option<AdminAccount>, AdminStoreError> {
        let id: Option<i64> =
            sqlx::query_scalar("SELECT admin_id FROM admin_api_keys WHERE key_hash = $1")
                .bind(key_hash)
                .fetch_optional(self.db.pool())
                .await?;
        let Some(id) = id else { return Ok(None) };
        sqlx::query("UPDATE admin_api_keys SET last_used = $1 WHERE key_hash = $2")
            .bind(now)
            .bind(key_hash)
            .execute(self.db.pool())
            .await?;
        self.by_id(id).await
    }

    /// The JWT signing secret the nodes share, created by the first that asks.
    pub async fn shared_secret(&self, name: &str, fresh: &str) -> Result<String, AdminStoreError> {
        sqlx::query(
            "INSERT INTO admin_secrets (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(name)
        .bind(fresh)
        .execute(self.db.pool())
        .await?;
        Ok(
            sqlx::query_scalar("SELECT value FROM admin_secrets WHERE name = $1")
                .bind(name)
                .fetch_one(self.db.pool())
                .await?,
        )
    }
}
