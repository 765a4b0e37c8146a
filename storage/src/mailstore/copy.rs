//! COPY, MOVE and APPEND: messages entering a mailbox other than by delivery. A copy shares
//! the blob (one more index row); a move re-files the row; an append stores a new blob.

use sqlx::{Any, Row, Transaction};

use super::expunge::lock_mailbox;
use super::{DeliveryTarget, MailStore, MailStoreError};
use crate::blob::message_key;
use crate::spool::SpooledMessage;

/// Source UID → new UID, for COPYUID / APPENDUID (RFC 4315).
pub type UidMap = Vec<(i64, i64)>;

/// The next UID of a mailbox and a new modseq, taking the mailbox row's lock.
pub(super) async fn next_uid(
    tx: &mut Transaction<'static, Any>,
    mailbox_id: i64,
) -> Result<(i64, i64), sqlx::Error> {
    let row = sqlx::query(
        "UPDATE mailboxes SET uidnext = uidnext + 1, highest_modseq = highest_modseq + 1 \
         WHERE id = $1 RETURNING uidnext - 1 AS uid, highest_modseq",
    )
    .bind(mailbox_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok((row.try_get("uid")?, row.try_get("highest_modseq")?))
}

/// The index row of a new blob, with its cached header section and MIME structure.
pub(super) async fn insert_blob(
    tx: &mut Transaction<'static, Any>,
    key: &str,
    message: &SpooledMessage,
    message_id: Option<&str>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO message_blobs (blob_key, size, header, structure, message_id) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(key)
    .bind(message.size as i64)
    .bind(message.header.clone())
    .bind(message.structure.clone())
    .bind(message_id.map(str::to_string))
    .fetch_one(&mut **tx)
    .await
}

impl MailStore {
    /// Copies messages to another mailbox of the same user; each copy counts toward quota.
    pub async fn copy_messages(
        &self,
        from: i64,
        uids: &[i64],
        to: i64,
    ) -> Result<UidMap, MailStoreError> {
        let mut tx = self.db.pool().begin().await?;
        // The target's lock before any read (SQLite: a read-then-write transaction fails
        // with SQLITE_BUSY instead of waiting when another writer got in between).
        lock_mailbox(&mut tx, to).await?;
        let mut map = Vec::with_capacity(uids.len());
        let mut added = 0i64;
        for &uid in uids {
            let Some(row) = sqlx::query("SELECT blob_id, size, flags, internal_date, COALESCE(thread_id, blob_id) AS thread_id FROM messages WHERE mailbox_id = $1 AND uid = $2")
                .bind(from)
                .bind(uid)
                .fetch_optional(&mut *tx)
                .await?
            else {
                continue;
            };
            let (new_uid, modseq) = next_uid(&mut tx, to).await?;
            let size: i64 = row.try_get("size")?;
            sqlx::query(
                "INSERT INTO messages (mailbox_id, uid, blob_id, size, flags, internal_date, modseq, saved_at, thread_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(to)
            .bind(new_uid)
            .bind(row.try_get::<i64, _>("blob_id")?)
            .bind(size)
            .bind(row.try_get::<String, _>("flags")?)
            .bind(row.try_get::<i64, _>("internal_date")?)
            .bind(modseq)
            .bind(crate::clock::now_secs())
            .bind(row.try_get::<i64, _>("thread_id")?)
            .execute(&mut *tx)
            .await?;
            added += size;
            map.push((uid, new_uid));
        }
        sqlx::query("UPDATE virtual_users SET used_quota = used_quota + $1 WHERE id = (SELECT user_id FROM mailboxes WHERE id = $2)")
            .bind(added)
            .bind(to)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.publish(to);
        Ok(map)
    }

    /// Moves messages to another mailbox (RFC 6851): each row gets the target's next UID in
    /// one transaction, so no copy is ever visible twice and the quota does not change.
    pub async fn move_messages(
        &self,
        from: i64,
        uids: &[i64],
        to: i64,
    ) -> Result<UidMap, MailStoreError> {
        let mut tx = self.db.pool().begin().await?;
        // Both mailboxes' locks, lower id first: two moves in opposite directions must not
        // each hold one and wait for the other.
        let (first, second) = (from.min(to), from.max(to));
        for id in [first, second] {
            lock_mailbox(&mut tx, id).await?;
        }
        let mut map = Vec::with_capacity(uids.len());
        for &uid in uids {
            let exists: Option<i64> =
                sqlx::query_scalar("SELECT uid FROM messages WHERE mailbox_id = $1 AND uid = $2")
                    .bind(from)
                    .bind(uid)
                    .fetch_optional(&mut *tx)
                    .await?;
            if exists.is_none() {
                // Expunged meanwhile: no UID is spent on it.
                continue;
            }
            let (new_uid, modseq) = next_uid(&mut tx, to).await?;
            let moved = sqlx::query("UPDATE messages SET mailbox_id = $1, uid = $2, modseq = $3, saved_at = $6 WHERE mailbox_id = $4 AND uid = $5")
                .bind(to)
                .bind(new_uid)
                .bind(modseq)
                .bind(from)
                .bind(uid)
                .bind(crate::clock::now_secs())
                .execute(&mut *tx)
                .await?;
            if moved.rows_affected() > 0 {
                map.push((uid, new_uid));
            }
        }
        // RFC 6851 §4.3: to the source mailbox a move is an expunge.
        let modseq: i64 = sqlx::query_scalar(
            "UPDATE mailboxes SET highest_modseq = highest_modseq + 1 WHERE id = $1 RETURNING highest_modseq",
        )
        .bind(from)
        .fetch_one(&mut *tx)
        .await?;
        let moved: Vec<i64> = map.iter().map(|(old, _)| *old).collect();
        super::vanished::record(&mut tx, from, &moved, modseq, crate::clock::now_secs()).await?;
        tx.commit().await?;
        self.publish(from);
        self.publish(to);
        Ok(map)
    }

    /// Stores new messages in a mailbox with their flags and internal dates (IMAP APPEND
    /// and MULTIAPPEND): all in one transaction, so either every one is there or none
    /// (RFC 3502 §6.3.11). Returns their UIDs, in order.
    pub async fn append_all(
        &self,
        messages: Vec<AppendedMessage>,
        target: &DeliveryTarget,
        mailbox_id: i64,
    ) -> Result<Vec<i64>, MailStoreError> {
        let mut keys = Vec::with_capacity(messages.len());
        let stored = async {
            for m in &messages {
                let key = message_key(&target.maildir, &m.message.unique, m.message.size);
                self.blobs.put_file(&key, m.message.path()).await?;
                keys.push(key);
            }
            Ok::<_, MailStoreError>(())
        }
        .await;
        let result = match stored {
            Err(e) => Err(e),
            Ok(()) => self
                .index_appended(&messages, &keys, target, mailbox_id)
                .await
                .map_err(MailStoreError::from),
        };
        if result.is_err() {
            for key in &keys {
                let _ = self.blobs.delete(key).await;
            }
        }
        result
    }

    async fn index_appended(
        &self,
        messages: &[AppendedMessage],
        keys: &[String],
        target: &DeliveryTarget,
        mailbox_id: i64,
    ) -> Result<Vec<i64>, sqlx::Error> {
        let mut tx = self.db.pool().begin().await?;
        let mut uids = Vec::with_capacity(messages.len());
        let mut size = 0i64;
        for (m, key) in messages.iter().zip(keys) {
            let (message_id, parents) = super::threads::ids_of(&m.message.header);
            let blob_id = insert_blob(&mut tx, key, &m.message, message_id.as_deref()).await?;
            let thread = super::threads::thread_for(
                &mut tx,
                target.user_id,
                message_id.as_deref(),
                &parents,
                blob_id,
            )
            .await?;
            let (uid, modseq) = next_uid(&mut tx, mailbox_id).await?;
            sqlx::query(
                "INSERT INTO messages (mailbox_id, uid, blob_id, size, flags, internal_date, modseq, saved_at, thread_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(mailbox_id)
            .bind(uid)
            .bind(blob_id)
            .bind(m.message.size as i64)
            .bind(&m.flags)
            .bind(m.internal_date)
            .bind(modseq)
            .bind(crate::clock::now_secs())
            .bind(thread)
            .execute(&mut *tx)
            .await?;
            size += m.message.size as i64;
            uids.push(uid);
        }
        sqlx::query("UPDATE virtual_users SET used_quota = used_quota + $1 WHERE id = $2")
            .bind(size)
            .bind(target.user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.publish(mailbox_id);
        Ok(uids)
    }
}

/// One message of an APPEND: the spooled bytes, its flags (space-separated) and INTERNALDATE.
#[derive(Debug)]
pub struct AppendedMessage {
    pub message: SpooledMessage,
    pub flags: String,
    pub internal_date: i64,
}
