//! Removing messages: expunge (index rows, quota, blobs nobody refers to any more) and the
//! POP3 retention that expunges retrieved mail after the user's retention period.

use std::collections::BTreeMap;

use sqlx::Row;

use super::{MailStore, MailStoreError};
use crate::clock::now_secs;

/// Seconds in a retention day.
const DAY: i64 = 86_400;

impl MailStore {
    /// Removes the messages with `uids` from a mailbox and returns the UIDs removed. Their
    /// bytes leave the owner's used quota. A blob no message refers to any more stays, with
    /// its cached header, until [`MailStore::purge_expunged`] removes it after the grace
    /// period: a session not yet told of the expunge may still fetch the message
    /// (RFC 3501 §7.4.1 forbids telling it during FETCH, STORE and SEARCH).
    pub async fn expunge(&self, mailbox_id: i64, uids: &[i64]) -> Result<Vec<i64>, MailStoreError> {
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.db.pool().begin().await?;
        lock_mailbox(&mut tx, mailbox_id).await?;
        let removed = remove_messages(&mut tx, mailbox_id, uids).await?;
        tx.commit().await?;
        if !removed.is_empty() {
            self.publish(mailbox_id);
        }
        Ok(removed)
    }

    /// IMAP EXPUNGE, CLOSE and UID EXPUNGE (RFC 3501 §6.4.3, RFC 4315 §2.1): removes the
    /// messages whose *stored* flags hold `\Deleted` (another session may have set or
    /// cleared it since this one was told), only those in `within` when given. Returns the
    /// UIDs removed.
    pub async fn expunge_deleted(
        &self,
        mailbox_id: i64,
        within: Option<&[i64]>,
    ) -> Result<Vec<i64>, MailStoreError> {
        let mut tx = self.db.pool().begin().await?;
        lock_mailbox(&mut tx, mailbox_id).await?;
        let deleted: Vec<i64> = sqlx::query_scalar(
            "SELECT uid FROM messages WHERE mailbox_id = $1 \
             AND (' ' || LOWER(flags) || ' ') LIKE '% \\deleted %' ESCAPE '!' ORDER BY uid",
        )
        .bind(mailbox_id)
        .fetch_all(&mut *tx)
        .await?;
        let uids: Vec<i64> = match within {
            Some(within) => deleted
                .into_iter()
                .filter(|uid| within.binary_search(uid).is_ok())
                .collect(),
            None => deleted,
        };
        let removed = remove_messages(&mut tx, mailbox_id, &uids).await?;
        tx.commit().await?;
        if !removed.is_empty() {
            self.publish(mailbox_id);
        }
        Ok(removed)
    }

    /// Records that a POP3 client retrieved these messages (at its QUIT), once.
    pub async fn mark_pop3_retrieved(
        &self,
        mailbox_id: i64,
        uids: &[i64],
        now: i64,
    ) -> Result<(), MailStoreError> {
        let mut tx = self.db.pool().begin().await?;
        for &uid in uids {
            sqlx::query(
                "UPDATE messages SET pop3_retrieved_at = $1 \
                 WHERE mailbox_id = $2 AND uid = $3 AND pop3_retrieved_at IS NULL",
            )
            .bind(now)
            .bind(mailbox_id)
            .bind(uid)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Expunges every POP3-retrieved message whose owner's retention (their own
    /// `pop3_retention_days`, else `default_days`; 0 = keep) has passed at `now`.
    /// Returns how many went. Mail never retrieved over POP3 is never touched.
    pub async fn expire_pop3_retrieved(
        &self,
        now: i64,
        default_days: i64,
    ) -> Result<u64, MailStoreError> {
        let rows = sqlx::query(
            "SELECT m.mailbox_id, m.uid FROM messages m \
             JOIN mailboxes b ON b.id = m.mailbox_id JOIN virtual_users u ON u.id = b.user_id \
             WHERE m.pop3_retrieved_at IS NOT NULL \
               AND COALESCE(u.pop3_retention_days, $1) > 0 \
               AND m.pop3_retrieved_at + COALESCE(u.pop3_retention_days, $1) * $2 <= $3",
        )
        .bind(default_days)
        .bind(DAY)
        .bind(now)
        .fetch_all(self.db.pool())
        .await?;
        let mut by_mailbox: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        for row in &rows {
            by_mailbox
                .entry(row.try_get("mailbox_id")?)
                .or_default()
                .push(row.try_get("uid")?);
        }
        let mut expired = 0;
        for (mailbox_id, uids) in by_mailbox {
            expired += self.expunge(mailbox_id, &uids).await?.len() as u64;
        }
        Ok(expired)
    }
}

/// Takes the mailbox row's write lock, as every change of the mailbox does first
/// (flags.rs): taken after message rows, it could deadlock with a STORE that holds it and
/// waits for them.
pub(super) async fn lock_mailbox(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    mailbox_id: i64,
) -> Result<(), MailStoreError> {
    let locked = sqlx::query("UPDATE mailboxes SET highest_modseq = highest_modseq WHERE id = $1")
        .bind(mailbox_id)
        .execute(&mut **tx)
        .await?;
    if locked.rows_affected() == 0 {
        return Err(MailStoreError::NoSuchMailbox);
    }
    Ok(())
}

/// Deletes the messages with `uids` (those still there) inside the caller's transaction,
/// which holds the mailbox's lock: their bytes leave the owner's quota, the mailbox gets a
/// new modseq (recorded with the UIDs for QRESYNC), and blobs no message refers to any more are marked orphaned.
async fn remove_messages(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    mailbox_id: i64,
    uids: &[i64],
) -> Result<Vec<i64>, MailStoreError> {
    let (mut removed, mut blob_ids, mut freed) = (Vec::new(), Vec::new(), 0i64);
    for &uid in uids {
        let row = sqlx::query(
            "DELETE FROM messages WHERE mailbox_id = $1 AND uid = $2 RETURNING blob_id, size",
        )
        .bind(mailbox_id)
        .bind(uid)
        .fetch_optional(&mut **tx)
        .await?;
        if let Some(row) = row {
            removed.push(uid);
            blob_ids.push(row.try_get::<i64, _>("blob_id")?);
            freed += row.try_get::<i64, _>("size")?;
        }
    }
    if removed.is_empty() {
        return Ok(removed);
    }
    sqlx::query(
        "UPDATE virtual_users SET used_quota = CASE WHEN used_quota > $1 THEN used_quota - $1 ELSE 0 END \
         WHERE id = (SELECT user_id FROM mailboxes WHERE id = $2)",
    )
    .bind(freed)
    .bind(mailbox_id)
    .execute(&mut **tx)
    .await?;
    let modseq: i64 = sqlx::query_scalar(
        "UPDATE mailboxes SET highest_modseq = highest_modseq + 1 WHERE id = $1 RETURNING highest_modseq",
    )
    .bind(mailbox_id)
    .fetch_one(&mut **tx)
    .await?;
    let now = now_secs();
    super::vanished::record(tx, mailbox_id, &removed, modseq, now).await?;
    blob_ids.sort_unstable();
    blob_ids.dedup();
    mark_orphans(tx, &blob_ids, now).await?;
    Ok(removed)
}

/// Marks the blobs among `blob_ids` that no message refers to any more as orphaned at `now`.
pub(super) async fn mark_orphans(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    blob_ids: &[i64],
    now: i64,
) -> Result<(), sqlx::Error> {
    for blob_id in blob_ids {
        sqlx::query(
            "UPDATE message_blobs SET orphaned_at = $1 WHERE id = $2 AND orphaned_at IS NULL \
             AND NOT EXISTS (SELECT 1 FROM messages WHERE blob_id = $2)",
        )
        .bind(now)
        .bind(*blob_id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

impl MailStore {
    /// Deletes the blobs (object and index row) orphaned at or before `before` that still
    /// have no message; returns how many went. The periodic purge passes `now - grace`;
    /// removing a user passes `i64::MAX`.
    pub async fn purge_expunged(&self, before: i64) -> Result<usize, MailStoreError> {
        let keys: Vec<String> = sqlx::query_scalar(
            "DELETE FROM message_blobs WHERE orphaned_at IS NOT NULL AND orphaned_at <= $1 \
             AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.blob_id = message_blobs.id) \
             RETURNING blob_key",
        )
        .bind(before)
        .fetch_all(self.db.pool())
        .await?;
        for key in &keys {
            if let Err(e) = self.blobs.delete(key).await {
                // The index no longer points at it: `storage verify` finds the orphan.
                tracing::warn!(key, error = %e, "cannot delete an expunged message's object");
            }
        }
        Ok(keys.len())
    }

    /// Deletes these blobs at once (object and index row) where no message refers to them.
    pub(super) async fn purge_blobs(&self, blob_ids: &[i64]) -> Result<(), MailStoreError> {
        for blob_id in blob_ids {
            let key: Option<String> = sqlx::query_scalar(
                "DELETE FROM message_blobs WHERE id = $1 \
                 AND NOT EXISTS (SELECT 1 FROM messages WHERE blob_id = $1) RETURNING blob_key",
            )
            .bind(*blob_id)
            .fetch_optional(self.db.pool())
            .await?;
            if let Some(key) = key
                && let Err(e) = self.blobs.delete(&key).await
            {
                tracing::warn!(key, error = %e, "cannot delete an unreferenced blob");
            }
        }
        Ok(())
    }
}
