//! Removing messages: expunge (index rows, quota, blobs nobody refers to any more) and the
//! POP3 retention that expunges retrieved mail after the user's retention period.

use std::collections::BTreeMap;

use sqlx::Row;

use super::{MailStore, MailStoreError};

/// Seconds in a retention day.
const DAY: i64 = 86_400;

impl MailStore {
    /// Removes the messages with `uids` from a mailbox and returns the UIDs removed. Their
    /// bytes leave the owner's used quota; a blob no message refers to any more is deleted
    /// after the commit.
    pub async fn expunge(&self, mailbox_id: i64, uids: &[i64]) -> Result<Vec<i64>, MailStoreError> {
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.db.pool().begin().await?;
        let (mut removed, mut blob_ids, mut freed) = (Vec::new(), Vec::new(), 0i64);
        for &uid in uids {
            let row = sqlx::query(
                "DELETE FROM messages WHERE mailbox_id = $1 AND uid = $2 RETURNING blob_id, size",
            )
            .bind(mailbox_id)
            .bind(uid)
            .fetch_optional(&mut *tx)
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
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE mailboxes SET highest_modseq = highest_modseq + 1 WHERE id = $1")
            .bind(mailbox_id)
            .execute(&mut *tx)
            .await?;
        blob_ids.sort_unstable();
        blob_ids.dedup();
        let mut orphans = Vec::new();
        for blob_id in blob_ids {
            let key: Option<String> = sqlx::query_scalar(
                "DELETE FROM message_blobs WHERE id = $1 \
                 AND NOT EXISTS (SELECT 1 FROM messages WHERE blob_id = $1) RETURNING blob_key",
            )
            .bind(blob_id)
            .fetch_optional(&mut *tx)
            .await?;
            orphans.extend(key);
        }
        tx.commit().await?;
        self.publish(mailbox_id);
        for key in orphans {
            if let Err(e) = self.blobs.delete(&key).await {
                // The index no longer points at it: `storage verify` finds the orphan.
                tracing::warn!(key, error = %e, "cannot delete an unreferenced blob");
            }
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

impl MailStore {
    /// Sets the flags of messages (`(uid, flags)` pairs, flags space-separated) in one
    /// transaction, each change with a new modseq. Returns `(uid, modseq)` of the rows found.
    pub async fn set_flags(
        &self,
        mailbox_id: i64,
        changes: &[(i64, String)],
    ) -> Result<Vec<(i64, i64)>, MailStoreError> {
        if changes.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.db.pool().begin().await?;
        let mut changed = Vec::with_capacity(changes.len());
        for (uid, flags) in changes {
            let modseq: i64 = sqlx::query_scalar(
                "UPDATE mailboxes SET highest_modseq = highest_modseq + 1 WHERE id = $1 \
                 RETURNING highest_modseq",
            )
            .bind(mailbox_id)
            .fetch_one(&mut *tx)
            .await?;
            let updated = sqlx::query(
                "UPDATE messages SET flags = $1, modseq = $2 WHERE mailbox_id = $3 AND uid = $4",
            )
            .bind(flags)
            .bind(modseq)
            .bind(mailbox_id)
            .bind(uid)
            .execute(&mut *tx)
            .await?;
            if updated.rows_affected() > 0 {
                changed.push((*uid, modseq));
            }
        }
        tx.commit().await?;
        self.publish(mailbox_id);
        Ok(changed)
    }
}
