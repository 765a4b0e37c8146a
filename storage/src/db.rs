//! The SQL connection shared by the directory, the mail index and the queue.
//!
//! One `sqlx::AnyPool` serves both databases so every query is written once. The few places
//! where SQLite and PostgreSQL differ (how a timestamp reads back as text, how a boolean
//! reads back) go through [`Dialect`]. Conventions that keep queries portable:
//! - placeholders are `$1, $2, …` (SQLite accepts them as numbered parameters);
//! - booleans are bound as Rust `bool` and read back through [`Dialect::flag`];
//! - ids and sizes are `BIGINT`/`i64`; times are written by the database (`CURRENT_TIMESTAMP`)
//!   and read through [`Dialect::time`] as `YYYY-MM-DD HH:MM:SS` UTC text.

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, ConnectOptions, Executor};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/postgres");

/// How long a SQLite writer waits for another process's write lock (the CLI beside the server).
const SQLITE_BUSY_TIMEOUT_MS: u32 = 10_000;
/// How long to wait for a free pooled connection before the operation fails.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database URL '{0}' is neither sqlite:// nor postgres://")]
    UnsupportedUrl(String),
    #[error("cannot open the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
}

/// Which database a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Self, DbError> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self::Postgres)
        } else {
            Err(DbError::UnsupportedUrl(redact_url(url)))
        }
    }

    fn migrator(self) -> &'static Migrator {
        match self {
            Self::Sqlite => &SQLITE_MIGRATIONS,
            Self::Postgres => &POSTGRES_MIGRATIONS,
        }
    }
}

/// SQL fragments that differ between the two databases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dialect(pub Backend);

impl Dialect {
    /// A timestamp column read back as `YYYY-MM-DD HH:MM:SS` (UTC) text.
    pub fn time(self, column: &str) -> String {
        match self.0 {
            Backend::Sqlite => column.to_string(),
            Backend::Postgres => {
                format!("to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')")
            }
        }
    }

    /// A boolean column read back as an integer 0/1 (the Any driver decodes no SQLite booleans).
    pub fn flag(self, column: &str) -> String {
        format!("CASE WHEN {column} THEN 1 ELSE 0 END")
    }
}

/// What `migrate` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationReport {
    /// Migrations applied by this call, as `version description`.
    pub applied: Vec<String>,
    /// Migrations the binary knows of.
    pub known: usize,
}

/// How long a PostgreSQL statement may run by default (`[database] statement_timeout`).
pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);

/// The connection pool and the dialect of the database behind it.
#[derive(Debug, Clone)]
pub struct Database {
    pool: AnyPool,
    backend: Backend,
}

impl Database {
    /// Opens a pool on `url` (`sqlite://PATH` creates the file; `postgres://…`) with the
    /// default statement timeout.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, DbError> {
        Self::connect_with(url, max_connections, DEFAULT_STATEMENT_TIMEOUT).await
    }

    /// Opens a pool whose PostgreSQL statements are cancelled after `statement_timeout`
    /// (SQLite waits at most its busy timeout for a lock).
    pub async fn connect_with(
        url: &str,
        max_connections: u32,
        statement_timeout: Duration,
    ) -> Result<Self, DbError> {
        let timeout_ms = statement_timeout.as_millis().max(1);
        let backend = Backend::from_url(url)?;
        sqlx::any::install_default_drivers();
        let url = match backend {
            // mode=rwc: create the database file on first start.
            Backend::Sqlite if !url.contains("mode=") => {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}mode=rwc")
            }
            _ => url.to_string(),
        };
        let options = AnyConnectOptions::from_str(&url)
            .map_err(DbError::Connect)?
            .disable_statement_logging();
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets the CLI write while the server reads; synchronous=FULL makes
                        // every commit durable (fsync) before we acknowledge anything.
                        conn.execute(
                            format!(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                                 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS};"
                            )
                            .as_str(),
                        )
                        .await?;
                    } else {
                        // A stuck statement must not hold a session (and its client) forever.
                        conn.execute(format!("SET statement_timeout = {timeout_ms}").as_str())
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(DbError::Connect)?;
        Ok(Self { pool, backend })
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn dialect(&self) -> Dialect {
        Dialect(self.backend)
    }

    /// Applies the migrations this database has not seen yet; running it again does nothing.
    pub async fn migrate(&self) -> Result<MigrationReport, DbError> {
        let migrator = self.backend.migrator();
        let before = self.applied_versions().await;
        migrator.run(&self.pool).await?;
        self.utf8_mailbox_names().await?;
        let applied = migrator
            .iter()
            .filter(|m| !before.contains(&m.version))
            .map(|m| format!("{} {}", m.version, m.description))
            .collect();
        Ok(MigrationReport {
            applied,
            known: migrator.iter().count(),
        })
    }

    /// Converts the mailbox and subscription names stored in modified UTF-7 to UTF-8, once
    /// (migration 0008 leaves a `pending_fixups` row; the conversion and its removal are one
    /// transaction). A name that is not valid modified UTF-7, or whose UTF-8 form is taken
    /// already, stays as it is.
    async fn utf8_mailbox_names(&self) -> Result<(), DbError> {
        let mut tx = self.pool.begin().await?;
        let pending: Option<String> = sqlx::query_scalar(
            "DELETE FROM pending_fixups WHERE name = 'utf8_mailbox_names' RETURNING name",
        )
        .fetch_optional(&mut *tx)
        .await?;
        if pending.is_none() {
            tx.rollback().await?;
            return Ok(());
        }
        for table in ["mailboxes", "subscriptions"] {
            let rows: Vec<(i64, String)> = sqlx::query_as(&format!(
                "SELECT user_id, name FROM {table} WHERE name LIKE '%&%'"
            ))
            .fetch_all(&mut *tx)
            .await?;
            for (user_id, name) in rows {
                let Some(utf8) = crate::mailstore::utf7::decode(&name) else {
                    continue;
                };
                let taken: Option<i64> = sqlx::query_scalar(&format!(
                    "SELECT user_id FROM {table} WHERE user_id = $1 AND name = $2"
                ))
                .bind(user_id)
                .bind(&utf8)
                .fetch_optional(&mut *tx)
                .await?;
                if utf8 == name || taken.is_some() {
                    continue;
                }
                sqlx::query(&format!(
                    "UPDATE {table} SET name = $1 WHERE user_id = $2 AND name = $3"
                ))
                .bind(&utf8)
                .bind(user_id)
                .bind(&name)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Versions recorded in sqlx's bookkeeping table (none before the first migration).
    async fn applied_versions(&self) -> Vec<i64> {
        sqlx::query_scalar::<_, i64>("SELECT version FROM _sqlx_migrations WHERE success = TRUE")
            .fetch_all(&self.pool)
            .await
            .unwrap_or_default()
    }

    /// A cheap round trip, for readiness checks.
    pub async fn ping(&self) -> Result<(), DbError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The URL without its password, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_follows_the_url_scheme() {
        assert_eq!(
            Backend::from_url("sqlite:///x/y.db").unwrap(),
            Backend::Sqlite
        );
        assert_eq!(
            Backend::from_url("postgres://u:p@h/db").unwrap(),
            Backend::Postgres
        );
        assert!(Backend::from_url("mysql://u:p@h/db").is_err());
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://u:secret@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(
            redact_url("sqlite:///data/baedal.db"),
            "sqlite:///data/baedal.db"
        );
    }

    #[tokio::test]
    async fn sqlite_migrations_apply_twice_without_harm() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db", dir.path().display());
        let db = Database::connect(&url, 2).await.unwrap();
        let first = db.migrate().await.unwrap();
        assert_eq!(first.applied.len(), first.known);
        let second = db.migrate().await.unwrap();
        assert!(second.applied.is_empty());
        db.ping().await.unwrap();
    }

    /// Names stored in modified UTF-7 before migration 0008 become UTF-8 at the first
    /// start after it, once; names that are not valid modified UTF-7 stay.
    #[tokio::test]
    async fn modified_utf7_names_become_utf8_once() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/t.db", dir.path().display());
        let db = Database::connect(&url, 2).await.unwrap();
        db.migrate().await.unwrap();
        for sql in [
            "INSERT INTO domains (id, domain_name) VALUES (1, 'example.org')",
            "INSERT INTO virtual_users (id, email, domain_id, maildir_path) VALUES (1, 'a@example.org', 1, 'a/')",
            "INSERT INTO mailboxes (user_id, name, uidvalidity) VALUES (1, '&1ozHWA-', 1), (1, 'R&-D/&1ozHWA-', 2), (1, 'A&B', 3)",
            "INSERT INTO subscriptions (user_id, name) VALUES (1, '&1ozHWA-')",
            "INSERT INTO pending_fixups (name) VALUES ('utf8_mailbox_names')",
        ] {
            sqlx::query(sql).execute(&db.pool).await.unwrap();
        }
        db.migrate().await.unwrap();
        let names = |table: &'static str| {
            let pool = db.pool.clone();
            async move {
                let mut names: Vec<String> =
                    sqlx::query_scalar(&format!("SELECT name FROM {table}"))
                        .fetch_all(&pool)
                        .await
                        .unwrap();
                names.sort();
                names
            }
        };
        assert_eq!(names("mailboxes").await, ["A&B", "R&D/회의", "회의"]);
        assert_eq!(names("subscriptions").await, ["회의"]);
        // Once only: a later name that looks like modified UTF-7 is left alone.
        sqlx::query("INSERT INTO mailboxes (user_id, name, uidvalidity) VALUES (1, '&AOk-', 4)")
            .execute(&db.pool)
            .await
            .unwrap();
        db.migrate().await.unwrap();
        assert!(names("mailboxes").await.contains(&"&AOk-".to_string()));
    }
}
