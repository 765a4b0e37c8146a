//! The worker side of the queue: lease due recipients, record what each attempt did, and
//! retire a message once no recipient of it is left to try.
//!
//! A lease is an optimistic claim (`UPDATE ... WHERE lease_until <= now`), so several
//! workers, on one node or many, never try one recipient at the same time; a worker that
//! dies loses its lease when it runs out, and the recipient is tried again.

use sqlx::{Any, Row, Transaction};

use super::{Queue, QueueError, status};

/// A recipient a worker owns until its lease runs out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeasedRecipient {
    pub row_id: i64,
    pub message_id: String,
    pub recipient: String,
    pub domain: String,
    pub attempts: i64,
    pub sender: String,
    pub blob_key: String,
    pub size: i64,
    pub created_at: i64,
    pub expires_at: i64,
    pub delay_notified: bool,
}

/// What one delivery attempt did for one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    Delivered,
    /// 4xx or no connection: tried again at `retry_at`.
    Deferred {
        error: String,
        retry_at: i64,
    },
    /// 5xx, or the message expired: a bounce is due.
    Failed {
        error: String,
    },
}

impl Queue {
    /// Leases up to `limit` recipients that are due at `now`, for `lease_secs`.
    pub async fn lease_due(
        &self,
        now: i64,
        limit: i64,
        lease_secs: i64,
    ) -> Result<Vec<LeasedRecipient>, QueueError> {
        let rows = sqlx::query(&format!(
            "SELECT r.id, r.message_id, r.recipient, r.domain, r.attempts, m.sender, \
             m.blob_key, m.size, m.created_at, m.expires_at, {} AS delay_notified \
             FROM queue_recipients r JOIN queue_messages m ON m.id = r.message_id \
             WHERE r.status = $1 AND r.next_attempt_at <= $2 AND r.lease_until <= $2 \
             ORDER BY r.next_attempt_at, r.id LIMIT $3",
            self.db.dialect().flag("m.delay_notified")
        ))
        .bind(status::QUEUED)
        .bind(now)
        .bind(limit)
        .fetch_all(self.db.pool())
        .await?;
        let mut leased = Vec::with_capacity(rows.len());
        // One transaction for every claim: one commit, not one per recipient.
        let mut tx = self.db.pool().begin().await?;
        for row in rows {
            let row_id: i64 = row.try_get("id")?;
            let claimed = sqlx::query(
                "UPDATE queue_recipients SET lease_until = $1 \
                 WHERE id = $2 AND status = $3 AND lease_until <= $4",
            )
            .bind(now + lease_secs)
            .bind(row_id)
            .bind(status::QUEUED)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            if claimed.rows_affected() == 0 {
                continue; // another worker took it
            }
            leased.push(LeasedRecipient {
                row_id,
                message_id: row.try_get("message_id")?,
                recipient: row.try_get("recipient")?,
                domain: row.try_get("domain")?,
                attempts: row.try_get("attempts")?,
                sender: row.try_get("sender")?,
                blob_key: row.try_get("blob_key")?,
                size: row.try_get("size")?,
                created_at: row.try_get("created_at")?,
                expires_at: row.try_get("expires_at")?,
                delay_notified: row.try_get::<i64, _>("delay_notified")? != 0,
            });
        }
        tx.commit().await?;
        Ok(leased)
    }

    /// Records the outcomes of one transaction (recipients of one message), in one SQL
    /// transaction. With `retire`, a message none of whose recipients is left to try leaves
    /// the queue in the same commit (its object is removed after it); returns whether it did.
    pub async fn record(
        &self,
        outcomes: &[(&LeasedRecipient, &Attempt)],
        now: i64,
        retire: bool,
    ) -> Result<bool, QueueError> {
        let Some((first, _)) = outcomes.first() else {
            return Ok(false);
        };
        let mut tx = self.db.pool().begin().await?;
        lock_message(&mut tx, &first.message_id).await?;
        for (leased, attempt) in outcomes {
            let (status, next, error) = match attempt {
                Attempt::Delivered => (status::DELIVERED, now, None),
                Attempt::Deferred { error, retry_at } => (status::QUEUED, *retry_at, Some(error)),
                Attempt::Failed { error } => (status::FAILED, now, Some(error)),
            };
            sqlx::query(
                "UPDATE queue_recipients SET status = $1, attempts = attempts + 1, \
                 next_attempt_at = $2, last_error = $3, lease_until = 0, updated_at = $4 \
                 WHERE id = $5",
            )
            .bind(status)
            .bind(next)
            .bind(error.map(String::as_str))
            .bind(now)
            .bind(leased.row_id)
            .execute(&mut *tx)
            .await?;
        }
        let retired = retire && delete_if_done(&mut tx, &first.message_id).await?;
        tx.commit().await?;
        if retired {
            self.blobs.delete(&first.blob_key).await?;
        }
        Ok(retired)
    }

    /// Marks that the sender was told of the delay; `false` if someone already did.
    pub async fn claim_delay_notice(&self, message_id: &str) -> Result<bool, QueueError> {
        let done = sqlx::query(
            "UPDATE queue_messages SET delay_notified = TRUE \
             WHERE id = $1 AND delay_notified = FALSE",
        )
        .bind(message_id)
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Removes a message once none of its recipients is queued or held; returns whether it
    /// left the queue.
    pub async fn retire_if_done(&self, message_id: &str) -> Result<bool, QueueError> {
        let mut tx = self.db.pool().begin().await?;
        lock_message(&mut tx, message_id).await?;
        let key: Option<String> =
            sqlx::query_scalar("SELECT blob_key FROM queue_messages WHERE id = $1")
                .bind(message_id)
                .fetch_optional(&mut *tx)
                .await?;
        let retired = match &key {
            Some(_) => delete_if_done(&mut tx, message_id).await?,
            None => false,
        };
        tx.commit().await?;
        if let (true, Some(key)) = (retired, key) {
            self.blobs.delete(&key).await?;
        }
        Ok(retired)
    }
}

/// Locks the message's row until the transaction ends. Outcomes for one message come from
/// parallel deliveries (one per destination): serialised by this lock, each count in
/// [`delete_if_done`] sees the others' committed outcomes, so the last one to finish
/// retires the message. Without it, two PostgreSQL transactions (READ COMMITTED) could each
/// still see the other's recipient queued, and neither would retire it.
async fn lock_message(tx: &mut Transaction<'_, Any>, message_id: &str) -> Result<(), sqlx::Error> {
    // A no-op write: a row lock on PostgreSQL, the write lock on SQLite.
    sqlx::query("UPDATE queue_messages SET delay_notified = delay_notified WHERE id = $1")
        .bind(message_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Deletes the message's rows when none of its recipients is queued or held; whether it did.
async fn delete_if_done(
    tx: &mut Transaction<'_, Any>,
    message_id: &str,
) -> Result<bool, sqlx::Error> {
    let waiting: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM queue_recipients WHERE message_id = $1 \
         AND status IN ('queued', 'held')",
    )
    .bind(message_id)
    .fetch_one(&mut **tx)
    .await?;
    if waiting > 0 {
        return Ok(false);
    }
    sqlx::query("DELETE FROM queue_recipients WHERE message_id = $1")
        .bind(message_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM queue_messages WHERE id = $1")
        .bind(message_id)
        .execute(&mut **tx)
        .await?;
    Ok(true)
}
