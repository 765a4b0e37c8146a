//! [`Quarantine`]: messages the content filters held back (table `quarantine`, objects under
//! `quarantine/`), kept until an administrator releases or deletes them, or they expire.

use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

use crate::blob::{BlobReader, BlobStore};
use crate::db::Database;
use crate::queue::QueueError;

/// A message to hold, as the SMTP session has it.
#[derive(Debug, Clone)]
pub struct Held<'a> {
    /// The queue id (spool unique name).
    pub id: &'a str,
    pub spool_file: &'a Path,
    pub size: u64,
    pub sender: &'a str,
    /// The RCPT addresses as given.
    pub recipients: &'a [String],
    /// Where a release delivers: local users' addresses, remote addresses.
    pub local_users: &'a [String],
    pub remote: &'a [String],
    /// `spam`, `rejected`, `virus` or `attachment`.
    pub verdict: &'a str,
    pub reason: &'a str,
    pub subject: &'a str,
    pub from_header: &'a str,
    pub client_ip: &'a str,
    /// The spool file is not needed after this (it is moved, not copied).
    pub last_use: bool,
}

/// One quarantined message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct QuarantinedMessage {
    pub id: String,
    #[serde(skip)]
    pub blob_key: String,
    pub sender: String,
    #[sqlx(try_from = "String")]
    pub recipients: JsonList,
    #[sqlx(try_from = "String")]
    pub local_users: JsonList,
    #[sqlx(try_from = "String")]
    pub remote: JsonList,
    pub verdict: String,
    pub reason: String,
    pub subject: String,
    pub from_header: String,
    pub client_ip: String,
    pub size: i64,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A list of addresses, stored as a JSON array.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct JsonList(pub Vec<String>);

impl TryFrom<String> for JsonList {
    type Error = serde_json::Error;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        serde_json::from_str(&text).map(JsonList)
    }
}

const COLUMNS: &str = "id, blob_key, sender, recipients, local_users, remote, verdict, reason, \
                       subject, from_header, client_ip, size, created_at, expires_at";

#[derive(Clone)]
pub struct Quarantine {
    db: Database,
    blobs: Arc<dyn BlobStore>,
}

impl Quarantine {
    pub fn new(db: Database, blobs: Arc<dyn BlobStore>) -> Self {
        Self { db, blobs }
    }

    /// Keeps the message until `now + lifetime_secs`. When this returns `Ok`, the object is
    /// durable and the row committed.
    pub async fn hold(
        &self,
        held: &Held<'_>,
        now: i64,
        lifetime_secs: i64,
    ) -> Result<(), QueueError> {
        let key = format!("quarantine/{},S={}", held.id, held.size);
        crate::blob::put_spool_file(
            self.blobs.as_ref(),
            &key,
            held.spool_file,
            held.last_use,
            "quarantine",
        )
        .await?;
        let json = |list: &[String]| serde_json::to_string(list).unwrap_or_else(|_| "[]".into());
        let inserted = sqlx::query(&format!(
            "INSERT INTO quarantine ({COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        ))
        .bind(held.id)
        .bind(&key)
        .bind(held.sender)
        .bind(json(held.recipients))
        .bind(json(held.local_users))
        .bind(json(held.remote))
        .bind(held.verdict)
        .bind(held.reason)
        .bind(held.subject)
        .bind(held.from_header)
        .bind(held.client_ip)
        .bind(held.size as i64)
        .bind(now)
        .bind(now + lifetime_secs)
        .execute(self.db.pool())
        .await;
        if let Err(e) = inserted {
            if let Err(cleanup) = self.blobs.delete(&key).await {
                tracing::warn!(key, error = %cleanup, "cannot remove the object of a failed hold");
            }
            return Err(e.into());
        }
        Ok(())
    }

    /// Every held message, oldest first.
    pub async fn list(&self) -> Result<Vec<QuarantinedMessage>, QueueError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM quarantine ORDER BY created_at, id"
        ))
        .fetch_all(self.db.pool())
        .await?)
    }

    pub async fn get(&self, id: &str) -> Result<Option<QuarantinedMessage>, QueueError> {
        Ok(
            sqlx::query_as(&format!("SELECT {COLUMNS} FROM quarantine WHERE id = $1"))
                .bind(id)
                .fetch_optional(self.db.pool())
                .await?,
        )
    }

    /// The held message's bytes, exactly as received.
    pub async fn open(&self, message: &QuarantinedMessage) -> Result<BlobReader, QueueError> {
        Ok(self.blobs.open(&message.blob_key).await?)
    }

    /// Removes a held message (row, then object); `false` when there is none.
    pub async fn delete(&self, id: &str) -> Result<bool, QueueError> {
        let Some(message) = self.get(id).await? else {
            return Ok(false);
        };
        sqlx::query("DELETE FROM quarantine WHERE id = $1")
            .bind(id)
            .execute(self.db.pool())
            .await?;
        self.blobs.delete(&message.blob_key).await?;
        Ok(true)
    }

    /// Deletes the messages whose time ran out by `now`; how many.
    pub async fn expire(&self, now: i64) -> Result<usize, QueueError> {
        let expired: Vec<String> =
            sqlx::query_scalar("SELECT id FROM quarantine WHERE expires_at <= $1")
                .bind(now)
                .fetch_all(self.db.pool())
                .await?;
        let mut removed = 0;
        for id in expired {
            if self.delete(&id).await? {
                removed += 1;
            }
        }
        Ok(removed)
    }
}
