//! Expunged UIDs and the modseq of their expunge (tombstones), for CONDSTORE/QRESYNC
//! (RFC 7162 §3.2.5.1 `VANISHED (EARLIER)`, §3.2.6 `UID FETCH … (CHANGEDSINCE m VANISHED)`).
//!
//! Every expunge and every move out of a mailbox records its UIDs here with the mailbox's new
//! modseq, inside the transaction that removes them. Tombstones older than the configured
//! lifetime are pruned; the mailbox's `vanished_floor` then records the highest modseq pruned.
//! A client asking about changes since a modseq at or above the floor gets the exact list; an
//! older one gets `None`, and the session reports every UID the client may know that is no
//! longer there (what Dovecot does too).

use sqlx::Row;

use super::{MailStore, MailStoreError};

/// Records `uids` of `mailbox_id` as expunged at `modseq`, inside the caller's transaction
/// (which holds the mailbox's lock and gave it that modseq).
pub(super) async fn record(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    mailbox_id: i64,
    uids: &[i64],
    modseq: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    for &uid in uids {
        sqlx::query(
            "INSERT INTO expunged_messages (mailbox_id, uid, modseq, expunged_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (mailbox_id, uid) DO UPDATE SET modseq = $3, expunged_at = $4",
        )
        .bind(mailbox_id)
        .bind(uid)
        .bind(modseq)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

impl MailStore {
    /// The UIDs expunged from a mailbox after `modseq`, in ascending order; `None` when the
    /// tombstones of that time were already pruned (the answer would be incomplete).
    pub async fn vanished_since(
        &self,
        mailbox_id: i64,
        modseq: i64,
    ) -> Result<Option<Vec<i64>>, MailStoreError> {
        let mut tx = self.snapshot().await?;
        let floor: i64 = sqlx::query_scalar("SELECT vanished_floor FROM mailboxes WHERE id = $1")
            .bind(mailbox_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(MailStoreError::NoSuchMailbox)?;
        if modseq < floor {
            tx.commit().await?;
            return Ok(None);
        }
        let uids: Vec<i64> = sqlx::query_scalar(
            "SELECT uid FROM expunged_messages WHERE mailbox_id = $1 AND modseq > $2 ORDER BY uid",
        )
        .bind(mailbox_id)
        .bind(modseq)
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(uids))
    }

    /// Prunes the tombstones of expunges at or before `before` (seconds since the epoch),
    /// raising each mailbox's floor to the highest modseq pruned; returns how many went.
    pub async fn prune_vanished(&self, before: i64) -> Result<u64, MailStoreError> {
        let mut tx = self.db.pool().begin().await?;
        let floors = sqlx::query(
            "SELECT mailbox_id, MAX(modseq) AS top FROM expunged_messages \
             WHERE expunged_at <= $1 GROUP BY mailbox_id",
        )
        .bind(before)
        .fetch_all(&mut *tx)
        .await?;
        for row in &floors {
            let mailbox_id: i64 = row.try_get("mailbox_id")?;
            let top: i64 = row.try_get("top")?;
            sqlx::query(
                "UPDATE mailboxes SET vanished_floor = $1 WHERE id = $2 AND vanished_floor < $1",
            )
            .bind(top)
            .bind(mailbox_id)
            .execute(&mut *tx)
            .await?;
        }
        // Only what the floors cover: a tombstone committed since the SELECT stays.
        let pruned = sqlx::query(
            "DELETE FROM expunged_messages WHERE expunged_at <= $1 AND modseq <= \
             (SELECT vanished_floor FROM mailboxes m WHERE m.id = expunged_messages.mailbox_id)",
        )
        .bind(before)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(pruned)
    }
}
