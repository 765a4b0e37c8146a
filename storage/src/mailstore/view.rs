//! Shared views of a mailbox's messages. Every IMAP session that has a mailbox selected
//! holds the same immutable [`MailboxView`]; a change makes one session read only the rows
//! whose modseq moved (plus a count that reveals expunges), and the others pick up that new
//! view. A thousand sessions in one 10,000-message INBOX then cost one copy of its index,
//! and a delivery costs one small query per session instead of a full reload each.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use sqlx::Row;

use super::{MailStore, MailStoreError, StoredMessage, read_messages};
use crate::db::Backend;

/// One consistent picture of a mailbox: its messages in UID order as of `highest_modseq`
/// (rows expunged since may still be listed until the next refresh notices them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailboxView {
    pub highest_modseq: i64,
    pub messages: Vec<StoredMessage>,
}

type Slot = Arc<tokio::sync::Mutex<Weak<MailboxView>>>;

/// The newest view of every mailbox some session holds. Views nobody holds are dropped
/// (weak references), so idle mailboxes cost nothing.
#[derive(Debug, Default)]
pub(crate) struct ViewCache {
    slots: Mutex<HashMap<i64, Slot>>,
}

/// Slots are pruned of dead views when the map grows past this.
const PRUNE_AT: usize = 1024;

impl ViewCache {
    fn slot(&self, mailbox_id: i64) -> Slot {
        let mut slots = self.slots.lock().unwrap_or_else(|e| e.into_inner());
        if slots.len() >= PRUNE_AT {
            slots.retain(|_, slot| {
                Arc::strong_count(slot) > 1
                    || slot.try_lock().map_or(true, |view| view.strong_count() > 0)
            });
        }
        slots.entry(mailbox_id).or_default().clone()
    }
}

impl MailStore {
    /// The current view of a mailbox. Cheap when nothing changed (one primary-key lookup);
    /// after a change, only the changed rows are read, once for all sessions.
    pub async fn view(&self, mailbox_id: i64) -> Result<Arc<MailboxView>, MailStoreError> {
        let committed: i64 =
            sqlx::query_scalar("SELECT highest_modseq FROM mailboxes WHERE id = $1")
                .bind(mailbox_id)
                .fetch_optional(self.db.pool())
                .await?
                .ok_or(MailStoreError::NoSuchMailbox)?;
        let slot = self.views.slot(mailbox_id);
        let mut cached = slot.lock().await;
        let previous = cached.upgrade();
        if let Some(view) = &previous
            && view.highest_modseq >= committed
        {
            return Ok(view.clone());
        }
        let view = Arc::new(match previous {
            Some(previous) => self.updated_view(mailbox_id, &previous).await?,
            None => self.full_view(mailbox_id).await?,
        });
        *cached = Arc::downgrade(&view);
        Ok(view)
    }

    /// A read transaction that sees one snapshot of the database for all its statements
    /// (PostgreSQL: REPEATABLE READ; SQLite in WAL mode: every read transaction).
    pub(super) async fn snapshot(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>, MailStoreError> {
        let mut tx = self.db.pool().begin().await?;
        if self.db.backend() == Backend::Postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .execute(&mut *tx)
                .await?;
        }
        Ok(tx)
    }

    /// `highest_modseq` and the message count of a mailbox in the snapshot.
    async fn modseq_and_count(
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        mailbox_id: i64,
    ) -> Result<(i64, i64), MailStoreError> {
        let row = sqlx::query(
            "SELECT highest_modseq, \
             (SELECT COUNT(*) FROM messages WHERE mailbox_id = $1) AS exists_count \
             FROM mailboxes WHERE id = $1",
        )
        .bind(mailbox_id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(MailStoreError::NoSuchMailbox)?;
        Ok((row.try_get("highest_modseq")?, row.try_get("exists_count")?))
    }

    async fn full_view(&self, mailbox_id: i64) -> Result<MailboxView, MailStoreError> {
        let mut tx = self.snapshot().await?;
        let (highest_modseq, _) = Self::modseq_and_count(&mut tx, mailbox_id).await?;
        let messages = read_messages(&mut *tx, mailbox_id, "", &[]).await?;
        tx.commit().await?;
        Ok(MailboxView {
            highest_modseq,
            messages,
        })
    }

    /// `previous` brought up to date from one snapshot: rows changed in `(previous, now]`
    /// are merged in. Every change to a mailbox takes its row lock before it takes a new
    /// modseq and holds it to its commit, so changes commit in modseq order and a snapshot
    /// holds every change up to its `highest_modseq`. The merged list then holds every
    /// message present at `now`, plus those expunged since `previous`: a count that does not
    /// match means expunges, and only then is the UID list read.
    async fn updated_view(
        &self,
        mailbox_id: i64,
        previous: &MailboxView,
    ) -> Result<MailboxView, MailStoreError> {
        let mut tx = self.snapshot().await?;
        let (now, count) = Self::modseq_and_count(&mut tx, mailbox_id).await?;
        let changed = read_messages(
            &mut *tx,
            mailbox_id,
            "AND m.modseq > $2",
            &[previous.highest_modseq],
        )
        .await?;
        let mut messages = previous.messages.clone();
        for row in changed {
            match messages.binary_search_by_key(&row.uid, |m| m.uid) {
                Ok(i) => messages[i] = row,
                Err(i) => messages.insert(i, row),
            }
        }
        if messages.len() as i64 != count {
            let present: Vec<i64> =
                sqlx::query_scalar("SELECT uid FROM messages WHERE mailbox_id = $1 ORDER BY uid")
                    .bind(mailbox_id)
                    .fetch_all(&mut *tx)
                    .await?;
            messages.retain(|m| present.binary_search(&m.uid).is_ok());
        }
        tx.commit().await?;
        Ok(MailboxView {
            highest_modseq: now,
            messages,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dead_views_are_pruned() {
        let cache = ViewCache::default();
        for id in 0..PRUNE_AT as i64 {
            cache.slot(id);
        }
        let held = cache.slot(PRUNE_AT as i64);
        let _ = cache.slot(PRUNE_AT as i64 + 1);
        let slots = cache.slots.lock().unwrap();
        assert!(slots.len() <= 2, "{} slots left", slots.len());
        assert!(slots.contains_key(&(PRUNE_AT as i64)));
        drop(held);
    }
}
