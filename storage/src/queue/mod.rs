//! The outbound queue: messages for remote recipients, durable before `250`.
//!
//! A queued message is one object under `queue/` in the blob store plus SQL rows: one in
//! `queue_messages` (sender, size, expiry) and one per recipient in `queue_recipients`
//! (status, attempts, next attempt, last error). Workers lease due recipients
//! ([`lease`]), deliver them, and record each outcome; when no recipient of a message is
//! left to try, the message and its object leave the queue.
//!
//! Every time here is seconds since the epoch, passed in by the caller (DESIGN: time is
//! injected), so retries and expiry are tested without sleeping.

mod lease;

pub use lease::{Attempt, LeasedRecipient};

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::blob::{BlobError, BlobReader, BlobStore};
use crate::db::{Database, DbError};

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error(transparent)]
    Blob(#[from] BlobError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("spool copy: {0}")]
    Io(#[from] std::io::Error),
    #[error("no such queued message: {0}")]
    NotFound(String),
    #[error("no recipients")]
    NoRecipients,
}

impl From<sqlx::Error> for QueueError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(DbError::Sql(e))
    }
}

/// Where a recipient stands.
pub mod status {
    pub const QUEUED: &str = "queued";
    pub const HELD: &str = "held";
    pub const DELIVERED: &str = "delivered";
    pub const FAILED: &str = "failed";
}

/// A message in the queue, as `baedal queue list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueuedMessage {
    pub id: String,
    pub sender: String,
    pub size: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub recipients: Vec<QueuedRecipient>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QueuedRecipient {
    pub recipient: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
}

/// A spooled message on its way into the queue.
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    /// The queue id (the spool's unique name).
    pub id: &'a str,
    pub spool_file: &'a Path,
    pub size: u64,
    /// Envelope sender, `""` for a bounce.
    pub sender: &'a str,
    pub recipients: &'a [String],
    /// The caller needs the spool file no more: it is moved into the store, not copied.
    pub last_use: bool,
}

#[derive(Debug, Clone)]
pub struct Queue {
    db: Database,
    blobs: Arc<dyn BlobStore>,
}

impl Queue {
    pub fn new(db: Database, blobs: Arc<dyn BlobStore>) -> Self {
        Self { db, blobs }
    }

    /// Queues a spooled message for its remote recipients. The spool file is moved into
    /// the blob store (copied first when it is still to be delivered locally), then the rows
    /// are committed: when this returns `Ok`, the message will be tried.
    pub async fn enqueue(
        &self,
        message: &Outgoing<'_>,
        now: i64,
        lifetime_secs: i64,
    ) -> Result<(), QueueError> {
        if message.recipients.is_empty() {
            return Err(QueueError::NoRecipients);
        }
        let key = format!("queue/{},S={}", message.id, message.size);
        crate::blob::put_spool_file(
            self.blobs.as_ref(),
            &key,
            message.spool_file,
            message.last_use,
            "queue",
        )
        .await?;
        if let Err(e) = self.insert(message, &key, now, lifetime_secs).await {
            if let Err(cleanup) = self.blobs.delete(&key).await {
                tracing::warn!(key, error = %cleanup, "cannot remove the object of a failed enqueue");
            }
            return Err(e);
        }
        tracing::debug!(
            id = message.id,
            from = message.sender,
            rcpts = ?message.recipients,
            size = message.size,
            "queued"
        );
        Ok(())
    }

    async fn insert(
        &self,
        message: &Outgoing<'_>,
        key: &str,
        now: i64,
        lifetime_secs: i64,
    ) -> Result<(), QueueError> {
        let mut tx = self.db.pool().begin().await?;
        sqlx::query(
            "INSERT INTO queue_messages (id, blob_key, sender, size, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(message.id)
        .bind(key)
        .bind(message.sender)
        .bind(message.size as i64)
        .bind(now)
        .bind(now + lifetime_secs)
        .execute(&mut *tx)
        .await?;
        for rcpt in message.recipients {
            let domain = rcpt.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
            sqlx::query(
                "INSERT INTO queue_recipients \
                 (message_id, recipient, domain, status, next_attempt_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $5)",
            )
            .bind(message.id)
            .bind(rcpt)
            .bind(domain.to_ascii_lowercase())
            .bind(status::QUEUED)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Every queued message with its recipients, oldest first (two queries, whatever the
    /// length of the queue).
    pub async fn list(&self) -> Result<Vec<QueuedMessage>, QueueError> {
        let pool = self.db.pool();
        let mut recipients: HashMap<String, Vec<QueuedRecipient>> = HashMap::new();
        let rows = sqlx::query(
            "SELECT message_id, recipient, status, attempts, next_attempt_at, last_error \
             FROM queue_recipients ORDER BY id",
        )
        .fetch_all(pool)
        .await?;
        for row in &rows {
            let id: String = row.try_get("message_id")?;
            recipients
                .entry(id)
                .or_default()
                .push(recipient_from_row(row)?);
        }
        let rows = sqlx::query(
            "SELECT id, sender, size, created_at, expires_at FROM queue_messages \
             ORDER BY created_at, id",
        )
        .fetch_all(pool)
        .await?;
        rows.iter()
            .map(|row| message_from_row(row, &mut recipients))
            .collect::<Result<_, _>>()
            .map_err(QueueError::from)
    }

    pub async fn show(&self, id: &str) -> Result<Option<QueuedMessage>, QueueError> {
        let Some(row) = sqlx::query(
            "SELECT id, sender, size, created_at, expires_at FROM queue_messages WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.db.pool())
        .await?
        else {
            return Ok(None);
        };
        let recipients = sqlx::query(
            "SELECT recipient, status, attempts, next_attempt_at, last_error \
             FROM queue_recipients WHERE message_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(self.db.pool())
        .await?
        .iter()
        .map(recipient_from_row)
        .collect::<Result<_, _>>()?;
        let mut by_id = HashMap::from([(id.to_string(), recipients)]);
        Ok(Some(message_from_row(&row, &mut by_id)?))
    }

    /// Makes every waiting recipient of a message due now (`queue retry`).
    pub async fn retry(&self, id: &str, now: i64) -> Result<(), QueueError> {
        self.set_status(id, &[status::QUEUED], status::QUEUED, Some(now))
            .await
    }

    /// Holds a message: its waiting recipients are not tried until released.
    pub async fn hold(&self, id: &str, now: i64) -> Result<(), QueueError> {
        self.set_status(id, &[status::QUEUED], status::HELD, Some(now))
            .await
    }

    /// Releases a held message; its recipients are due now.
    pub async fn release(&self, id: &str, now: i64) -> Result<(), QueueError> {
        self.set_status(id, &[status::HELD], status::QUEUED, Some(now))
            .await
    }

    async fn set_status(
        &self,
        id: &str,
        from: &[&str],
        to: &str,
        due: Option<i64>,
    ) -> Result<(), QueueError> {
        if self.show(id).await?.is_none() {
            return Err(QueueError::NotFound(id.to_string()));
        }
        for status in from {
            sqlx::query(
                "UPDATE queue_recipients SET status = $1, next_attempt_at = COALESCE($2, next_attempt_at), \
                 lease_until = 0 WHERE message_id = $3 AND status = $4",
            )
            .bind(to)
            .bind(due)
            .bind(id)
            .bind(*status)
            .execute(self.db.pool())
            .await?;
        }
        Ok(())
    }

    /// Removes a message from the queue, without a bounce (`queue delete`).
    pub async fn delete(&self, id: &str) -> Result<(), QueueError> {
        let key: Option<String> =
            sqlx::query_scalar("SELECT blob_key FROM queue_messages WHERE id = $1")
                .bind(id)
                .fetch_optional(self.db.pool())
                .await?;
        let key = key.ok_or_else(|| QueueError::NotFound(id.to_string()))?;
        self.remove(id, &key).await
    }

    /// The message's rows, then its object (an object left by a crash in between is an
    /// orphan that `storage verify` finds).
    async fn remove(&self, id: &str, key: &str) -> Result<(), QueueError> {
        let mut tx = self.db.pool().begin().await?;
        sqlx::query("DELETE FROM queue_recipients WHERE message_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM queue_messages WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.blobs.delete(key).await?;
        Ok(())
    }

    /// Opens a queued message's object.
    pub async fn open(&self, blob_key: &str) -> Result<BlobReader, QueueError> {
        Ok(self.blobs.open(blob_key).await?)
    }

    /// How many recipients wait, and the age of the oldest message (for metrics).
    pub async fn waiting(&self) -> Result<i64, QueueError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM queue_recipients WHERE status IN ('queued', 'held')",
        )
        .fetch_one(self.db.pool())
        .await?)
    }
}

impl Queue {
    /// When the oldest message in the queue arrived (seconds since the epoch), if any
    /// (metrics).
    pub async fn oldest(&self) -> Result<Option<i64>, QueueError> {
        Ok(
            sqlx::query_scalar("SELECT MIN(created_at) FROM queue_messages")
                .fetch_one(self.db.pool())
                .await?,
        )
    }
}

/// A message row with its recipients, taken out of `recipients`.
fn message_from_row(
    row: &AnyRow,
    recipients: &mut HashMap<String, Vec<QueuedRecipient>>,
) -> Result<QueuedMessage, sqlx::Error> {
    let id: String = row.try_get("id")?;
    Ok(QueuedMessage {
        recipients: recipients.remove(&id).unwrap_or_default(),
        id,
        sender: row.try_get("sender")?,
        size: row.try_get("size")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
    })
}

fn recipient_from_row(row: &AnyRow) -> Result<QueuedRecipient, sqlx::Error> {
    Ok(QueuedRecipient {
        recipient: row.try_get("recipient")?,
        status: row.try_get("status")?,
        attempts: row.try_get::<i64, _>("attempts")?,
        next_attempt_at: row.try_get("next_attempt_at")?,
        last_error: row.try_get("last_error")?,
    })
}
