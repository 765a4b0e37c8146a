//! DKIM signing keys (`dkim_keys`): one or more selectors per domain. The keys themselves
//! are made and used by `baedal-auth`; this is only where they are kept.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::address::DomainName;
use crate::db::{Database, DbError};

#[derive(Debug, thiserror::Error)]
pub enum DkimStoreError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("unknown domain {0}")]
    UnknownDomain(String),
    #[error("domain {domain} already has a key with selector {selector}")]
    Exists { domain: String, selector: String },
}

impl From<sqlx::Error> for DkimStoreError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(DbError::Sql(e))
    }
}

/// A stored key. `private_key` is base64 DER and never printed by the CLI.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DkimKeyRecord {
    pub domain: String,
    pub selector: String,
    /// `rsa-sha256` or `ed25519-sha256`.
    pub algorithm: String,
    #[serde(skip)]
    pub private_key: String,
    /// The `p=` value of the DNS record.
    pub public_key: String,
    pub is_active: bool,
    pub created_at: String,
}

/// A key to store.
#[derive(Debug, Clone)]
pub struct NewDkimKey {
    pub domain: DomainName,
    pub selector: String,
    pub algorithm: String,
    pub private_key: String,
    pub public_key: String,
}

#[derive(Debug, Clone)]
pub struct DkimKeys {
    db: Database,
}

impl DkimKeys {
    pub fn new(db: Database) -> Self {
        Self { db }
    }

    fn select(&self) -> String {
        let dialect = self.db.dialect();
        format!(
            "SELECT d.domain_name, k.selector, k.algorithm, k.private_key, k.public_key, \
             {} AS is_active, {} AS created_at \
             FROM dkim_keys k JOIN domains d ON d.id = k.domain_id",
            dialect.flag("k.is_active"),
            dialect.time("k.created_at"),
        )
    }

    pub async fn add(&self, key: NewDkimKey) -> Result<DkimKeyRecord, DkimStoreError> {
        let domain_id: Option<i64> =
            sqlx::query_scalar("SELECT id FROM domains WHERE domain_name = $1")
                .bind(key.domain.as_str())
                .fetch_optional(self.db.pool())
                .await?;
        let domain_id =
            domain_id.ok_or_else(|| DkimStoreError::UnknownDomain(key.domain.to_string()))?;
        if self.get(&key.domain, &key.selector).await?.is_some() {
            return Err(DkimStoreError::Exists {
                domain: key.domain.to_string(),
                selector: key.selector,
            });
        }
        sqlx::query(
            "INSERT INTO dkim_keys (domain_id, selector, algorithm, private_key, public_key) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(domain_id)
        .bind(&key.selector)
        .bind(&key.algorithm)
        .bind(&key.private_key)
        .bind(&key.public_key)
        .execute(self.db.pool())
        .await?;
        self.get(&key.domain, &key.selector)
            .await?
            .ok_or_else(|| DkimStoreError::UnknownDomain(key.domain.to_string()))
    }

    pub async fn get(
        &self,
        domain: &DomainName,
        selector: &str,
    ) -> Result<Option<DkimKeyRecord>, DkimStoreError> {
        let sql = format!(
            "{} WHERE d.domain_name = $1 AND k.selector = $2",
            self.select()
        );
        let row = sqlx::query(&sql)
            .bind(domain.as_str())
            .bind(selector)
            .fetch_optional(self.db.pool())
            .await?;
        Ok(row.as_ref().map(record).transpose()?)
    }

    /// Every key, or a domain's keys, by domain and selector.
    pub async fn list(
        &self,
        domain: Option<&DomainName>,
    ) -> Result<Vec<DkimKeyRecord>, DkimStoreError> {
        let rows = match domain {
            Some(domain) => {
                let sql = format!(
                    "{} WHERE d.domain_name = $1 ORDER BY k.selector",
                    self.select()
                );
                sqlx::query(&sql)
                    .bind(domain.as_str())
                    .fetch_all(self.db.pool())
                    .await?
            }
            None => {
                let sql = format!("{} ORDER BY d.domain_name, k.selector", self.select());
                sqlx::query(&sql).fetch_all(self.db.pool()).await?
            }
        };
        Ok(rows.iter().map(record).collect::<Result<_, _>>()?)
    }

    /// The key mail from `domain` is signed with: its newest active key.
    pub async fn signing_key(&self, domain: &str) -> Result<Option<DkimKeyRecord>, DkimStoreError> {
        let sql = format!(
            "{} WHERE d.domain_name = $1 AND k.is_active = TRUE AND d.is_active = TRUE \
             ORDER BY k.id DESC LIMIT 1",
            self.select()
        );
        let row = sqlx::query(&sql)
            .bind(domain)
            .fetch_optional(self.db.pool())
            .await?;
        Ok(row.as_ref().map(record).transpose()?)
    }

    /// Removes a key; `false` when there was none.
    pub async fn remove(
        &self,
        domain: &DomainName,
        selector: &str,
    ) -> Result<bool, DkimStoreError> {
        let done = sqlx::query(
            "DELETE FROM dkim_keys WHERE selector = $1 \
             AND domain_id = (SELECT id FROM domains WHERE domain_name = $2)",
        )
        .bind(selector)
        .bind(domain.as_str())
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }
}

fn record(row: &AnyRow) -> Result<DkimKeyRecord, sqlx::Error> {
    Ok(DkimKeyRecord {
        domain: row.try_get("domain_name")?,
        selector: row.try_get("selector")?,
        algorithm: row.try_get("algorithm")?,
        private_key: row.try_get("private_key")?,
        public_key: row.try_get("public_key")?,
        is_active: row.try_get::<i64, _>("is_active")? != 0,
        created_at: row.try_get("created_at")?,
    })
}
