//! The mail store: each user's mailboxes and the messages in them.
//!
//! Tables (`migrations/*/0002_mailstore.sql`): `mailboxes` (name, special-use, UIDVALIDITY,
//! UIDNEXT, HIGHESTMODSEQ), `message_blobs` (one row per stored object: key, size, cached
//! header section and MIME structure) and `messages` (one row per message in a mailbox: UID,
//! flags, internal date, modseq, and the blob it shows).
//!
//! Locking: UIDs come from `UPDATE mailboxes SET uidnext = uidnext + 1 … RETURNING`, which
//! takes the mailbox row's write lock until the transaction ends, so concurrent deliveries to
//! one mailbox get distinct, ascending UIDs on PostgreSQL and SQLite alike.

mod copy;
mod expunge;
mod flags;
mod folders;
pub mod metadata;
pub mod structure;
mod threads;
pub mod utf7;
mod vanished;
mod verify;
mod view;

pub use copy::AppendedMessage;
pub use flags::{FlagChange, FlagUpdate, SYSTEM_FLAGS, apply_flags, canonical_flags, has_flag};
pub use folders::next_uidvalidity;
pub use verify::{EXPUNGED_GRACE_SECS, ORPHAN_GRACE_SECS, VerifyReport};
pub use view::MailboxView;

use std::sync::Arc;

use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::blob::{BlobError, BlobReader, BlobStore, message_key};
use crate::db::{Database, DbError};
use crate::spool::SpooledMessage;

/// Every user's folders, created with the user or at the first delivery (RFC 6154 attributes).
pub const DEFAULT_MAILBOXES: &[(&str, Option<&str>)] = &[
    ("INBOX", None),
    ("Sent", Some("\\Sent")),
    ("Drafts", Some("\\Drafts")),
    ("Trash", Some("\\Trash")),
    ("Junk", Some("\\Junk")),
    ("Archive", Some("\\Archive")),
];

#[derive(Debug, thiserror::Error)]
pub enum MailStoreError {
    #[error(transparent)]
    Blob(#[from] BlobError),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("no recipients")]
    NoRecipients,
    #[error("no such mailbox")]
    NoSuchMailbox,
    #[error("the mailbox already exists")]
    MailboxExists,
    #[error("invalid mailbox name: {0}")]
    InvalidName(&'static str),
    #[error("the mailbox has children: delete them first")]
    HasChildren,
    #[error("INBOX cannot be deleted")]
    InboxPermanent,
}

impl From<sqlx::Error> for MailStoreError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(DbError::Sql(e))
    }
}

/// A mailbox and how many messages it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mailbox {
    pub id: i64,
    pub name: String,
    pub special_use: Option<String>,
    pub uidvalidity: i64,
    pub uidnext: i64,
    pub highest_modseq: i64,
    pub subscribed: bool,
    /// Messages with a UID from here on are \Recent (not yet claimed by a session).
    pub first_recent_uid: i64,
    pub messages: i64,
}

/// A message as the index knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoredMessage {
    pub uid: i64,
    pub size: i64,
    pub flags: String,
    pub internal_date: i64,
    pub modseq: i64,
    pub blob_key: String,
    /// When it was saved into this mailbox (RFC 8514 SAVEDATE), seconds since the epoch.
    pub saved_at: i64,
    /// Its thread among the user's mail (RFC 8474 THREADID).
    pub thread_id: i64,
}

/// Where one copy of a message goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryTarget {
    pub user_id: i64,
    /// The user's `{domain}/{localpart}/Maildir/`.
    pub maildir: String,
    /// The mailbox name, usually `INBOX`.
    pub mailbox: String,
}

impl DeliveryTarget {
    /// A user's INBOX, where mail arriving for them goes.
    pub fn inbox(user: &crate::directory::LocalUser) -> Self {
        Self {
            user_id: user.id,
            maildir: user.maildir.clone(),
            mailbox: "INBOX".to_string(),
        }
    }

    /// A user's Junk folder (the mailbox with the `\Junk` attribute, RFC 6154), where
    /// quarantined mail goes; created with the default folders when missing.
    pub fn junk(user: &crate::directory::LocalUser) -> Self {
        Self {
            user_id: user.id,
            maildir: user.maildir.clone(),
            mailbox: JUNK.to_string(),
        }
    }
}

/// The default Junk folder's name.
const JUNK: &str = "Junk";

/// What one delivery stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    pub blob_key: String,
    pub copies: Vec<DeliveredCopy>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveredCopy {
    pub user_id: i64,
    pub mailbox_id: i64,
    pub uid: i64,
    pub modseq: i64,
}

#[derive(Debug, Clone)]
pub struct MailStore {
    db: Database,
    blobs: Arc<dyn BlobStore>,
    /// Mailbox ids, published after every committed change (DESIGN: changes reach every
    /// session). Sessions subscribe; a lagging receiver just refreshes.
    changes: tokio::sync::broadcast::Sender<i64>,
    views: Arc<view::ViewCache>,
}

/// How many change notices wait for slow subscribers before they lag.
const CHANGE_BACKLOG: usize = 4096;

/// Blob keys per query when header sections are read in bulk.
const HEADER_BATCH: usize = 256;

/// Creates the default mailboxes a user lacks, inside the caller's transaction; each new one
/// is subscribed (clients show subscribed folders) and gets a UIDVALIDITY never used before.
pub(crate) async fn create_default_mailboxes(
    tx: &mut Transaction<'static, Any>,
    user_id: i64,
) -> Result<(), sqlx::Error> {
    folders::take_folder_lock(tx).await?;
    let present: Vec<String> = sqlx::query_scalar("SELECT name FROM mailboxes WHERE user_id = $1")
        .bind(user_id)
        .fetch_all(&mut **tx)
        .await?;
    for (name, special_use) in DEFAULT_MAILBOXES {
        if present.iter().any(|p| p == name) {
            continue;
        }
        let uidvalidity = next_uidvalidity(tx).await?;
        sqlx::query(
            "INSERT INTO mailboxes (user_id, name, special_use, uidvalidity) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id, name) DO NOTHING",
        )
        .bind(user_id)
        .bind(*name)
        .bind(*special_use)
        .bind(uidvalidity)
        .execute(&mut **tx)
        .await?;
        sqlx::query(
            "INSERT INTO subscriptions (user_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(user_id)
        .bind(*name)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

impl MailStore {
    pub fn new(db: Database, blobs: Arc<dyn BlobStore>) -> Self {
        let (changes, _) = tokio::sync::broadcast::channel(CHANGE_BACKLOG);
        Self {
            db,
            blobs,
            changes,
            views: Arc::default(),
        }
    }

    /// Notices of changed mailboxes (their ids), from this process.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<i64> {
        self.changes.subscribe()
    }

    /// Tells subscribers a mailbox changed (after the commit).
    pub(crate) fn publish(&self, mailbox_id: i64) {
        // No subscriber is not an error.
        let _ = self.changes.send(mailbox_id);
    }

    pub fn blobs(&self) -> &Arc<dyn BlobStore> {
        &self.blobs
    }

    /// Stores a spooled message once and adds it to every target's mailbox, in one
    /// transaction. When this returns `Ok`, the blob is synced and the index committed;
    /// on `Err` nothing is visible (at worst an orphan blob, which `storage verify` finds).
    pub async fn deliver(
        &self,
        message: SpooledMessage,
        targets: &[DeliveryTarget],
        internal_date: i64,
    ) -> Result<Delivered, MailStoreError> {
        let first = targets.first().ok_or(MailStoreError::NoRecipients)?;
        let key = message_key(&first.maildir, &message.unique, message.size);
        self.blobs.put_file(&key, message.path()).await?;
        match self.index(&message, &key, targets, internal_date).await {
            Ok(copies) => {
                for copy in &copies {
                    self.publish(copy.mailbox_id);
                }
                Ok(Delivered {
                    blob_key: key,
                    copies,
                })
            }
            Err(e) => {
                if let Err(cleanup) = self.blobs.delete(&key).await {
                    tracing::warn!(key, error = %cleanup, "cannot remove the blob of a failed delivery");
                }
                Err(e)
            }
        }
    }

    async fn index(
        &self,
        message: &SpooledMessage,
        key: &str,
        targets: &[DeliveryTarget],
        internal_date: i64,
    ) -> Result<Vec<DeliveredCopy>, MailStoreError> {
        let size = message.size as i64;
        let mut tx = self.db.pool().begin().await?;
        let (message_id, parents) = threads::ids_of(&message.header);
        let blob_id = copy::insert_blob(&mut tx, key, message, message_id.as_deref()).await?;
        let mut copies = Vec::with_capacity(targets.len());
        for target in targets {
            let mailbox_id = Self::mailbox_id_for_delivery(&mut tx, target).await?;
            let thread = threads::thread_for(
                &mut tx,
                target.user_id,
                message_id.as_deref(),
                &parents,
                blob_id,
            )
            .await?;
            let (uid, modseq) = copy::next_uid(&mut tx, mailbox_id).await?;
            sqlx::query(
                "INSERT INTO messages (mailbox_id, uid, blob_id, size, flags, internal_date, modseq, saved_at, thread_id) \
                 VALUES ($1, $2, $3, $4, '', $5, $6, $7, $8)",
            )
            .bind(mailbox_id)
            .bind(uid)
            .bind(blob_id)
            .bind(size)
            .bind(internal_date)
            .bind(modseq)
            .bind(crate::clock::now_secs())
            .bind(thread)
            .execute(&mut *tx)
            .await?;
            sqlx::query("UPDATE virtual_users SET used_quota = used_quota + $1 WHERE id = $2")
                .bind(size)
                .bind(target.user_id)
                .execute(&mut *tx)
                .await?;
            copies.push(DeliveredCopy {
                user_id: target.user_id,
                mailbox_id,
                uid,
                modseq,
            });
        }
        tx.commit().await?;
        Ok(copies)
    }

    /// The target mailbox, creating the user's default mailboxes on first delivery. A
    /// mailbox name the user does not have falls back to INBOX.
    async fn mailbox_id_for_delivery(
        tx: &mut Transaction<'static, Any>,
        target: &DeliveryTarget,
    ) -> Result<i64, sqlx::Error> {
        let find = |name: &str| {
            sqlx::query_scalar::<_, i64>(
                "SELECT id FROM mailboxes WHERE user_id = $1 AND name = $2",
            )
            .bind(target.user_id)
            .bind(name.to_string())
        };
        if target.mailbox == JUNK {
            // The user may have renamed it: the \Junk attribute names the folder.
            let junk = sqlx::query_scalar::<_, i64>(
                "SELECT id FROM mailboxes WHERE user_id = $1 AND special_use = $2 ORDER BY id LIMIT 1",
            )
            .bind(target.user_id)
            .bind("\\Junk")
            .fetch_optional(&mut **tx)
            .await?;
            if let Some(id) = junk {
                return Ok(id);
            }
        }
        if let Some(id) = find(&target.mailbox).fetch_optional(&mut **tx).await? {
            return Ok(id);
        }
        create_default_mailboxes(tx, target.user_id).await?;
        if let Some(id) = find(&target.mailbox).fetch_optional(&mut **tx).await? {
            return Ok(id);
        }
        find("INBOX").fetch_one(&mut **tx).await
    }

    /// A user's mailboxes in name order.
    pub async fn mailboxes(&self, user_id: i64) -> Result<Vec<Mailbox>, MailStoreError> {
        let rows = sqlx::query(&format!(
            "{MAILBOX_SELECT} WHERE b.user_id = $1 ORDER BY b.name"
        ))
        .bind(user_id)
        .fetch_all(self.db.pool())
        .await?;
        Ok(rows
            .iter()
            .map(mailbox_from_row)
            .collect::<Result<_, _>>()?)
    }

    /// The messages of a mailbox in UID order.
    pub async fn messages(&self, mailbox_id: i64) -> Result<Vec<StoredMessage>, MailStoreError> {
        self.messages_where(mailbox_id, "", &[]).await
    }

    /// The messages of a mailbox in UID order, narrowed by `condition` (an `AND ...` clause
    /// whose placeholders `$2...` take `values`).
    pub(crate) async fn messages_where(
        &self,
        mailbox_id: i64,
        condition: &str,
        values: &[i64],
    ) -> Result<Vec<StoredMessage>, MailStoreError> {
        Ok(read_messages(self.db.pool(), mailbox_id, condition, values).await?)
    }

    /// Creates the default mailboxes a user lacks (users made before them, or by other tools).
    pub async fn ensure_default_mailboxes(&self, user_id: i64) -> Result<(), MailStoreError> {
        // Every login asks; a read answers almost all of them, so logins do not queue for
        // the database's one writer.
        let placeholders: Vec<String> = (0..DEFAULT_MAILBOXES.len())
            .map(|i| format!("${}", i + 2))
            .collect();
        let sql = format!(
            "SELECT COUNT(*) FROM mailboxes WHERE user_id = $1 AND name IN ({})",
            placeholders.join(", ")
        );
        let mut count = sqlx::query_scalar::<_, i64>(&sql).bind(user_id);
        for (name, _) in DEFAULT_MAILBOXES {
            count = count.bind(*name);
        }
        let present = count.fetch_one(self.db.pool()).await?;
        if usize::try_from(present).is_ok_and(|n| n >= DEFAULT_MAILBOXES.len()) {
            return Ok(());
        }
        let mut tx = self.db.pool().begin().await?;
        create_default_mailboxes(&mut tx, user_id).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Claims the \Recent messages of a mailbox for one session (RFC 3501 §2.3.2): returns
    /// the UID range `[from, to)` that is recent for it, and no other session.
    pub async fn claim_recent(&self, mailbox_id: i64) -> Result<(i64, i64), MailStoreError> {
        let row = sqlx::query(
            "UPDATE mailboxes SET recent_from = first_recent_uid, first_recent_uid = uidnext \
             WHERE id = $1 RETURNING recent_from, first_recent_uid",
        )
        .bind(mailbox_id)
        .fetch_one(self.db.pool())
        .await?;
        Ok((
            row.try_get("recent_from")?,
            row.try_get("first_recent_uid")?,
        ))
    }

    /// A user's mailbox by name.
    pub async fn mailbox(
        &self,
        user_id: i64,
        name: &str,
    ) -> Result<Option<Mailbox>, MailStoreError> {
        let row = sqlx::query(&format!(
            "{MAILBOX_SELECT} WHERE b.user_id = $1 AND b.name = $2"
        ))
        .bind(user_id)
        .bind(name)
        .fetch_optional(self.db.pool())
        .await?;
        Ok(row.as_ref().map(mailbox_from_row).transpose()?)
    }

    /// The cached header section and MIME structure of a blob.
    pub async fn cached_header(
        &self,
        blob_key: &str,
    ) -> Result<Option<(Vec<u8>, Option<String>)>, MailStoreError> {
        let row = sqlx::query("SELECT header, structure FROM message_blobs WHERE blob_key = $1")
            .bind(blob_key)
            .fetch_optional(self.db.pool())
            .await?;
        Ok(row
            .map(|r| Ok::<_, sqlx::Error>((r.try_get("header")?, r.try_get("structure")?)))
            .transpose()?)
    }

    /// The cached header sections of many blobs at once (a listing of a whole folder),
    /// keyed by blob key; blobs without a cached header are left out.
    pub async fn cached_headers(
        &self,
        blob_keys: &[&str],
    ) -> Result<std::collections::HashMap<String, Vec<u8>>, MailStoreError> {
        let mut headers = std::collections::HashMap::with_capacity(blob_keys.len());
        for chunk in blob_keys.chunks(HEADER_BATCH) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT blob_key, header FROM message_blobs WHERE blob_key IN ({})",
                placeholders.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for key in chunk {
                query = query.bind(*key);
            }
            for row in query.fetch_all(self.db.pool()).await? {
                headers.insert(row.try_get("blob_key")?, row.try_get("header")?);
            }
        }
        Ok(headers)
    }

    pub async fn open_blob(&self, key: &str) -> Result<BlobReader, MailStoreError> {
        Ok(self.blobs.open(key).await?)
    }

    /// Reads a blob from byte `offset` (a ranged GET on S3).
    pub async fn open_blob_from(
        &self,
        key: &str,
        offset: u64,
    ) -> Result<BlobReader, MailStoreError> {
        Ok(self.blobs.open_from(key, offset).await?)
    }
}

/// The columns of [`Mailbox`], for `mailbox_from_row`.
const MAILBOX_SELECT: &str = "SELECT b.id, b.name, b.special_use, b.uidvalidity, b.uidnext, \
     b.highest_modseq, CASE WHEN EXISTS (SELECT 1 FROM subscriptions s WHERE s.user_id = b.user_id \
     AND s.name = b.name) THEN 1 ELSE 0 END AS subscribed, b.first_recent_uid, \
     (SELECT COUNT(*) FROM messages m WHERE m.mailbox_id = b.id) AS messages \
     FROM mailboxes b";

fn mailbox_from_row(row: &AnyRow) -> Result<Mailbox, sqlx::Error> {
    Ok(Mailbox {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        special_use: row.try_get("special_use")?,
        uidvalidity: row.try_get("uidvalidity")?,
        uidnext: row.try_get("uidnext")?,
        highest_modseq: row.try_get("highest_modseq")?,
        subscribed: row.try_get::<i64, _>("subscribed")? != 0,
        first_recent_uid: row.try_get("first_recent_uid")?,
        messages: row.try_get("messages")?,
    })
}

/// The messages of a mailbox in UID order, narrowed by `condition` (an `AND ...` clause
/// whose placeholders `$2...` take `values`), read through `executor` (the pool or an open
/// transaction).
pub(crate) async fn read_messages<'e, E>(
    executor: E,
    mailbox_id: i64,
    condition: &str,
    values: &[i64],
) -> Result<Vec<StoredMessage>, sqlx::Error>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let sql = format!(
        "SELECT m.uid, m.size, m.flags, m.internal_date, m.modseq, b.blob_key, \
         COALESCE(m.saved_at, m.internal_date) AS saved_at, \
         COALESCE(m.thread_id, m.blob_id) AS thread_id \
         FROM messages m JOIN message_blobs b ON b.id = m.blob_id \
         WHERE m.mailbox_id = $1 {condition} ORDER BY m.uid"
    );
    let mut query = sqlx::query(&sql).bind(mailbox_id);
    for value in values {
        query = query.bind(*value);
    }
    let rows = query.fetch_all(executor).await?;
    rows.iter()
        .map(|r| {
            Ok(StoredMessage {
                uid: r.try_get("uid")?,
                size: r.try_get("size")?,
                flags: r.try_get("flags")?,
                internal_date: r.try_get("internal_date")?,
                modseq: r.try_get("modseq")?,
                blob_key: r.try_get("blob_key")?,
                saved_at: r.try_get("saved_at")?,
                thread_id: r.try_get("thread_id")?,
            })
        })
        .collect()
}
