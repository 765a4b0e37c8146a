//! Creating, deleting, renaming and subscribing mailboxes (IMAP CREATE, DELETE, RENAME,
//! SUBSCRIBE). The hierarchy delimiter is `/`.

use sqlx::{Any, Transaction};

use super::{MailStore, MailStoreError};
use crate::clock::now_secs;

/// Longest mailbox name, in bytes.
pub const MAX_MAILBOX_NAME: usize = 255;

fn check_name(name: &str) -> Result<(), MailStoreError> {
    let bad = MailStoreError::InvalidName;
    if name.is_empty() || name.len() > MAX_MAILBOX_NAME {
        return Err(bad("empty or longer than 255 bytes"));
    }
    if name.split('/').any(str::is_empty) {
        return Err(bad("empty hierarchy level"));
    }
    if name.chars().any(|c| c.is_control() || c == '*' || c == '%') {
        return Err(bad("control characters and wildcards are not allowed"));
    }
    Ok(())
}

/// A UIDVALIDITY never used before, by any mailbox of any user (RFC 3501 §2.3.1.1: a new
/// mailbox under an old name must not let clients keep their cached UIDs). It comes from one
/// counter row, so it never repeats after a restart or on another node; it is at least the
/// current time, so values stay distinct from those of a database restored from a backup.
pub async fn next_uidvalidity(tx: &mut Transaction<'static, Any>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE uidvalidity_counter SET last = CASE WHEN last + 1 > $1 THEN last + 1 ELSE $1 END \
         WHERE id = 1 RETURNING last",
    )
    .bind(now_secs())
    .fetch_one(&mut **tx)
    .await
}

/// Takes the write lock that creating and renaming folders serialise on (the UIDVALIDITY
/// counter's row), before the transaction reads anything: on SQLite a transaction that
/// reads first and writes later fails with SQLITE_BUSY when another writer got in between,
/// instead of waiting.
pub(super) async fn take_folder_lock(
    tx: &mut Transaction<'static, Any>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE uidvalidity_counter SET last = last WHERE id = 1")
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl MailStore {
    /// Creates a mailbox and any missing superiors (RFC 3501 §6.3.3); subscribes none of
    /// them (RFC 3501 §6.3.6: only SUBSCRIBE does).
    pub async fn create_mailbox(&self, user_id: i64, name: &str) -> Result<(), MailStoreError> {
        self.create_mailbox_for(user_id, name, None).await
    }

    /// As [`MailStore::create_mailbox`], the new mailbox with a special-use attribute
    /// (RFC 6154 §3 CREATE-SPECIAL-USE: `\Archive`, `\Drafts`, `\Junk`, `\Sent`, `\Trash`).
    pub async fn create_mailbox_for(
        &self,
        user_id: i64,
        name: &str,
        special_use: Option<&str>,
    ) -> Result<(), MailStoreError> {
        check_name(name)?;
        if name.eq_ignore_ascii_case("INBOX") {
            return Err(MailStoreError::MailboxExists);
        }
        let mut tx = self.db.pool().begin().await?;
        take_folder_lock(&mut tx).await?;
        let levels: Vec<&str> = name.split('/').collect();
        for depth in 1..=levels.len() {
            let path = levels[..depth].join("/");
            let exists: Option<i64> =
                sqlx::query_scalar("SELECT id FROM mailboxes WHERE user_id = $1 AND name = $2")
                    .bind(user_id)
                    .bind(&path)
                    .fetch_optional(&mut *tx)
                    .await?;
            match exists {
                Some(_) if depth == levels.len() => return Err(MailStoreError::MailboxExists),
                Some(_) => continue,
                None => {
                    let uidvalidity = next_uidvalidity(&mut tx).await?;
                    let attribute = special_use.filter(|_| depth == levels.len());
                    sqlx::query(
                        "INSERT INTO mailboxes (user_id, name, uidvalidity, special_use) \
                         VALUES ($1, $2, $3, $4)",
                    )
                    .bind(user_id)
                    .bind(&path)
                    .bind(uidvalidity)
                    .bind(attribute)
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a mailbox and its messages (RFC 3501 §6.3.4); not INBOX, not with children.
    pub async fn delete_mailbox(&self, user_id: i64, name: &str) -> Result<(), MailStoreError> {
        if name.eq_ignore_ascii_case("INBOX") {
            return Err(MailStoreError::InboxPermanent);
        }
        let mailbox = self
            .mailbox(user_id, name)
            .await?
            .ok_or(MailStoreError::NoSuchMailbox)?;
        let children: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM mailboxes WHERE user_id = $1 AND name LIKE $2 ESCAPE '\\'",
        )
        .bind(user_id)
        .bind(format!("{}/%", like_escape(name)))
        .fetch_one(self.db.pool())
        .await?;
        if children > 0 {
            return Err(MailStoreError::HasChildren);
        }
        let uids: Vec<i64> = self
            .messages(mailbox.id)
            .await?
            .iter()
            .map(|m| m.uid)
            .collect();
        self.expunge(mailbox.id, &uids).await?;
        sqlx::query("DELETE FROM mailboxes WHERE id = $1")
            .bind(mailbox.id)
            .execute(self.db.pool())
            .await?;
        // RFC 5464 §3.2: a deleted mailbox's annotations go with it.
        sqlx::query("DELETE FROM metadata WHERE user_id = $1 AND mailbox_id = $2")
            .bind(user_id)
            .bind(mailbox.id)
            .execute(self.db.pool())
            .await?;
        Ok(())
    }

    /// Renames a mailbox and its children (RFC 3501 §6.3.5). Renaming INBOX moves its
    /// messages to a new mailbox and leaves INBOX empty.
    pub async fn rename_mailbox(
        &self,
        user_id: i64,
        from: &str,
        to: &str,
    ) -> Result<(), MailStoreError> {
        check_name(to)?;
        if to.eq_ignore_ascii_case("INBOX") || self.mailbox(user_id, to).await?.is_some() {
            return Err(MailStoreError::MailboxExists);
        }
        let source = self
            .mailbox(user_id, from)
            .await?
            .ok_or(MailStoreError::NoSuchMailbox)?;
        if source.name == "INBOX" {
            self.create_mailbox(user_id, to).await?;
            let target = self
                .mailbox(user_id, to)
                .await?
                .ok_or(MailStoreError::NoSuchMailbox)?;
            let uids: Vec<i64> = self
                .messages(source.id)
                .await?
                .iter()
                .map(|m| m.uid)
                .collect();
            self.move_messages(source.id, &uids, target.id).await?;
            return Ok(());
        }
        let mut tx = self.db.pool().begin().await?;
        take_folder_lock(&mut tx).await?;
        let family: Vec<(i64, String)> = sqlx::query_as(
            "SELECT id, name FROM mailboxes WHERE user_id = $1 AND (name = $2 OR name LIKE $3 ESCAPE '\\')",
        )
        .bind(user_id)
        .bind(&source.name)
        .bind(format!("{}/%", like_escape(&source.name)))
        .fetch_all(&mut *tx)
        .await?;
        for (id, name) in family {
            let renamed = format!("{to}{}", &name[source.name.len()..]);
            sqlx::query("UPDATE mailboxes SET name = $1 WHERE id = $2")
                .bind(&renamed)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            // A subscribed folder stays subscribed under its new name (as in Dovecot).
            sqlx::query(
                "UPDATE subscriptions SET name = $1 WHERE user_id = $2 AND name = $3 \
                 AND NOT EXISTS (SELECT 1 FROM subscriptions WHERE user_id = $2 AND name = $1)",
            )
            .bind(&renamed)
            .bind(user_id)
            .bind(&name)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// SUBSCRIBE / UNSUBSCRIBE (RFC 3501 §6.3.6, §6.3.7). A subscription is a name: it may
    /// be taken for a mailbox that does not exist (yet), and unsubscribing a name that is
    /// not subscribed succeeds (as in Dovecot).
    pub async fn set_subscribed(
        &self,
        user_id: i64,
        name: &str,
        subscribed: bool,
    ) -> Result<(), MailStoreError> {
        if subscribed {
            check_name(name)?;
            sqlx::query(
                "INSERT INTO subscriptions (user_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(user_id)
            .bind(name)
            .execute(self.db.pool())
            .await?;
        } else {
            sqlx::query("DELETE FROM subscriptions WHERE user_id = $1 AND name = $2")
                .bind(user_id)
                .bind(name)
                .execute(self.db.pool())
                .await?;
        }
        Ok(())
    }

    /// The names a user subscribed to, existing or not, in name order.
    pub async fn subscriptions(&self, user_id: i64) -> Result<Vec<String>, MailStoreError> {
        Ok(
            sqlx::query_scalar("SELECT name FROM subscriptions WHERE user_id = $1 ORDER BY name")
                .bind(user_id)
                .fetch_all(self.db.pool())
                .await?,
        )
    }
}

/// Escapes LIKE's wildcards in a literal prefix (used with `ESCAPE '\'`).
fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

impl MailStore {
    /// How many messages a user has, in all mailboxes.
    pub async fn message_count(&self, user_id: i64) -> Result<i64, MailStoreError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id WHERE b.user_id = $1",
        )
        .bind(user_id)
        .fetch_one(self.db.pool())
        .await?)
    }

    /// Removes every message and mailbox of a user, and the objects no one else refers to
    /// (before the user is deleted: no session of theirs can still fetch them). Returns how
    /// many messages went.
    pub async fn purge_user(&self, user_id: i64) -> Result<usize, MailStoreError> {
        let mut removed = 0;
        let blob_ids: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT m.blob_id FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id \
             WHERE b.user_id = $1",
        )
        .bind(user_id)
        .fetch_all(self.db.pool())
        .await?;
        for mailbox in self.mailboxes(user_id).await? {
            let uids: Vec<i64> = self
                .messages(mailbox.id)
                .await?
                .iter()
                .map(|m| m.uid)
                .collect();
            removed += self.expunge(mailbox.id, &uids).await?.len();
        }
        self.purge_blobs(&blob_ids).await?;
        sqlx::query("DELETE FROM mailboxes WHERE user_id = $1")
            .bind(user_id)
            .execute(self.db.pool())
            .await?;
        sqlx::query("DELETE FROM subscriptions WHERE user_id = $1")
            .bind(user_id)
            .execute(self.db.pool())
            .await?;
        Ok(removed)
    }
}
