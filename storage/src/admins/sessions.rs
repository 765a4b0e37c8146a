//! Console sessions (`admin_sessions`, keyed by the SHA-256 of the cookie value) and the
//! login throttle (`admin_login_failures`). Both live in SQL so that every node sees them.

use super::{AdminStore, AdminStoreError};

/// How far a session has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStage {
    /// Before login: carries the login form's CSRF token only.
    Anonymous,
    /// The password was right; the TOTP code is next.
    Password,
    /// The password was right; TOTP enrolment is next (first login).
    Enrol,
    /// Logged in.
    Full,
}

impl SessionStage {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Anonymous => "anonymous",
            Self::Password => "password",
            Self::Enrol => "enrol",
            Self::Full => "full",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "password" => Self::Password,
            "enrol" => Self::Enrol,
            "full" => Self::Full,
            _ => Self::Anonymous,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminSession {
    pub admin_id: Option<i64>,
    pub stage: SessionStage,
    pub csrf: String,
    pub source_ip: String,
    pub created_at: i64,
    pub last_seen: i64,
}

impl AdminStore {
    pub async fn create_session(
        &self,
        id_hash: &str,
        admin_id: Option<i64>,
        stage: SessionStage,
        csrf: &str,
        source_ip: &str,
        now: i64,
    ) -> Result<(), AdminStoreError> {
        sqlx::query(
            "INSERT INTO admin_sessions (id_hash, admin_id, stage, csrf, source_ip, created_at, last_seen) \
             VALUES ($1, $2, $3, $4, $5, $6, $6)",
        )
        .bind(id_hash)
        .bind(admin_id)
        .bind(stage.as_str())
        .bind(csrf)
        .bind(source_ip)
        .bind(now)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    pub async fn session(&self, id_hash: &str) -> Result<Option<AdminSession>, AdminStoreError> {
        let row: Option<(Option<i64>, String, String, String, i64, i64)> = sqlx::query_as(
            "SELECT admin_id, stage, csrf, source_ip, created_at, last_seen FROM admin_sessions \
             WHERE id_hash = $1",
        )
        .bind(id_hash)
        .fetch_optional(self.db.pool())
        .await?;
        Ok(row.map(
            |(admin_id, stage, csrf, source_ip, created_at, last_seen)| AdminSession {
                admin_id,
                stage: SessionStage::parse(&stage),
                csrf,
                source_ip,
                created_at,
                last_seen,
            },
        ))
    }

    pub async fn touch_session(&self, id_hash: &str, now: i64) -> Result<(), AdminStoreError> {
        sqlx::query("UPDATE admin_sessions SET last_seen = $1 WHERE id_hash = $2")
            .bind(now)
            .bind(id_hash)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    pub async fn delete_session(&self, id_hash: &str) -> Result<(), AdminStoreError> {
        sqlx::query("DELETE FROM admin_sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// Ends every session of an administrator ("log out everywhere", a disabled account).
    pub async fn delete_sessions_of(&self, admin_id: i64) -> Result<u64, AdminStoreError> {
        let done = sqlx::query("DELETE FROM admin_sessions WHERE admin_id = $1")
            .bind(admin_id)
            .execute(self.db.pool())
            .await?;
        Ok(done.rows_affected())
    }

    /// Removes sessions idle since before `idle_before` or created before `created_before`.
    pub async fn prune_sessions(
        &self,
        idle_before: i64,
        created_before: i64,
    ) -> Result<u64, AdminStoreError> {
        let done =
            sqlx::query("DELETE FROM admin_sessions WHERE last_seen < $1 OR created_at < $2")
                .bind(idle_before)
                .bind(created_before)
                .execute(self.db.pool())
                .await?;
        Ok(done.rows_affected())
    }

    pub async fn record_login_failure(&self, key: &str, now: i64) -> Result<(), AdminStoreError> {
        sqlx::query("INSERT INTO admin_login_failures (throttle_key, at) VALUES ($1, $2)")
            .bind(key)
            .bind(now)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// Failed logins of `key` since `since`.
    pub async fn login_failures(&self, key: &str, since: i64) -> Result<i64, AdminStoreError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM admin_login_failures WHERE throttle_key = $1 AND at >= $2",
        )
        .bind(key)
        .bind(since)
        .fetch_one(self.db.pool())
        .await?)
    }

    pub async fn clear_login_failures(&self, key: &str) -> Result<(), AdminStoreError> {
        sqlx::query("DELETE FROM admin_login_failures WHERE throttle_key = $1")
            .bind(key)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    pub async fn prune_login_failures(&self, before: i64) -> Result<(), AdminStoreError> {
        sqlx::query("DELETE FROM admin_login_failures WHERE at < $1")
            .bind(before)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }
}
