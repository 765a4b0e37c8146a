//! Flag changes (IMAP STORE, FETCH's implicit `\Seen`), applied by the database to the flags
//! as stored, never computed from a session's copy: two sessions that add and remove
//! different flags of one message at the same time both keep their change (RFC 3501 §6.4.6).
//!
//! Locking: the mailbox row is write-locked first (the same lock every change of the
//! mailbox takes), then the stored flags are read, changed and written in that transaction,
//! each changed message with its own new modseq. Changes of one mailbox are thereby
//! serialised in modseq order on PostgreSQL and SQLite alike.

use sqlx::Row;

use super::expunge::lock_mailbox;
use super::{MailStore, MailStoreError};

/// The system flags in their usual order (RFC 3501 §2.3.2; `\Recent` is never stored).
pub const SYSTEM_FLAGS: &[&str] = &["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"];

/// UIDs per statement when the stored flags are read.
const READ_BATCH: usize = 500;

/// How STORE changes the flags (RFC 3501 §6.4.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagChange {
    /// `+FLAGS`
    Add,
    /// `-FLAGS`
    Remove,
    /// `FLAGS`
    Replace,
}

/// A message's flags after a change, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagUpdate {
    pub uid: i64,
    /// Space-separated, canonical (see [`canonical_flags`]).
    pub flags: String,
    /// The message's modseq (new when `changed`).
    pub modseq: i64,
    pub changed: bool,
    /// Left alone because it changed after the client's UNCHANGEDSINCE modseq
    /// (RFC 7162 §3.1.3: it goes into the `[MODIFIED]` set).
    pub modified: bool,
}

/// True when the space-separated `flags` hold `flag` (case-insensitively, RFC 3501 §2.3.2).
pub fn has_flag(flags: &str, flag: &str) -> bool {
    flags
        .split_whitespace()
        .any(|f| f.eq_ignore_ascii_case(flag))
}

/// One spelling of a set of flags: system flags first in their usual order (spelled as the
/// RFC does), then keywords in the order first given, each once (flags are case-insensitive).
pub fn canonical_flags<'a>(flags: impl IntoIterator<Item = &'a str>) -> String {
    let mut system = [false; SYSTEM_FLAGS.len()];
    let mut keywords: Vec<&str> = Vec::new();
    for flag in flags {
        if let Some(i) = SYSTEM_FLAGS
            .iter()
            .position(|s| s.eq_ignore_ascii_case(flag))
        {
            system[i] = true;
        } else if !flag.eq_ignore_ascii_case("\\Recent")
            && !flag.is_empty()
            && !keywords.iter().any(|k| k.eq_ignore_ascii_case(flag))
        {
            keywords.push(flag);
        }
    }
    SYSTEM_FLAGS
        .iter()
        .zip(system)
        .filter(|(_, on)| *on)
        .map(|(name, _)| *name)
        .chain(keywords)
        .collect::<Vec<_>>()
        .join(" ")
}

/// `stored` changed by `change` with `given`.
pub fn apply_flags(stored: &str, change: FlagChange, given: &[String]) -> String {
    match change {
        FlagChange::Replace => canonical_flags(given.iter().map(String::as_str)),
        FlagChange::Add => canonical_flags(
            stored
                .split_whitespace()
                .chain(given.iter().map(String::as_str)),
        ),
        FlagChange::Remove => canonical_flags(
            stored
                .split_whitespace()
                .filter(|f| !given.iter().any(|g| g.eq_ignore_ascii_case(f))),
        ),
    }
}

impl MailStore {
    /// Changes the flags of the messages with `uids` in one transaction and returns every
    /// message found (in UID order) with its flags as now stored; those whose flags changed
    /// got a new modseq. Messages expunged meanwhile are simply not in the answer. With
    /// `unchanged_since` (RFC 7162 §3.1.3 UNCHANGEDSINCE), a message whose modseq is above it
    /// keeps its flags and comes back `modified`; the test and the change are one atomic step.
    pub async fn store_flags(
        &self,
        mailbox_id: i64,
        uids: &[i64],
        change: FlagChange,
        given: &[String],
        unchanged_since: Option<i64>,
    ) -> Result<Vec<FlagUpdate>, MailStoreError> {
        if uids.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.db.pool().begin().await?;
        // The mailbox's lock before the read: no other change of it can slip in between.
        lock_mailbox(&mut tx, mailbox_id).await?;
        let mut updates = Vec::with_capacity(uids.len());
        for chunk in uids.chunks(READ_BATCH) {
            let placeholders: Vec<String> =
                (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!(
                "SELECT uid, flags, modseq FROM messages WHERE mailbox_id = $1 AND uid IN ({})",
                placeholders.join(", ")
            );
            let mut query = sqlx::query(&sql).bind(mailbox_id);
            for uid in chunk {
                query = query.bind(*uid);
            }
            for row in query.fetch_all(&mut *tx).await? {
                let stored: String = row.try_get("flags")?;
                let modseq: i64 = row.try_get("modseq")?;
                let modified = unchanged_since.is_some_and(|since| modseq > since);
                let flags = if modified {
                    stored.clone()
                } else {
                    apply_flags(&stored, change, given)
                };
                updates.push(FlagUpdate {
                    uid: row.try_get("uid")?,
                    changed: flags != stored,
                    flags,
                    modseq,
                    modified,
                });
            }
        }
        updates.sort_by_key(|u| u.uid);
        let changed = updates.iter().filter(|u| u.changed).count() as i64;
        if changed == 0 {
            tx.rollback().await?;
            return Ok(updates);
        }
        let top: i64 = sqlx::query_scalar(
            "UPDATE mailboxes SET highest_modseq = highest_modseq + $1 WHERE id = $2 \
             RETURNING highest_modseq",
        )
        .bind(changed)
        .bind(mailbox_id)
        .fetch_one(&mut *tx)
        .await?;
        let mut modseq = top - changed;
        for update in updates.iter_mut().filter(|u| u.changed) {
            modseq += 1;
            update.modseq = modseq;
            sqlx::query(
                "UPDATE messages SET flags = $1, modseq = $2 WHERE mailbox_id = $3 AND uid = $4",
            )
            .bind(&update.flags)
            .bind(modseq)
            .bind(mailbox_id)
            .bind(update.uid)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        self.publish(mailbox_id);
        Ok(updates)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn given(flags: &[&str]) -> Vec<String> {
        flags.iter().map(|f| f.to_string()).collect()
    }

    #[test]
    fn changes_are_set_operations_on_the_stored_flags() {
        let cases: &[(&str, FlagChange, &[&str], &str)] = &[
            (
                "\\Seen",
                FlagChange::Add,
                &["\\Answered"],
                "\\Answered \\Seen",
            ),
            (
                "\\Answered \\Seen",
                FlagChange::Remove,
                &["\\seen"],
                "\\Answered",
            ),
            (
                "\\Seen $Label1",
                FlagChange::Add,
                &["$label1", "\\Flagged"],
                "\\Flagged \\Seen $Label1",
            ),
            (
                "\\Seen $A",
                FlagChange::Replace,
                &["$B", "\\Draft"],
                "\\Draft $B",
            ),
            ("", FlagChange::Add, &["\\Recent"], ""),
            ("\\Deleted", FlagChange::Remove, &["$Nothing"], "\\Deleted"),
        ];
        for (stored, change, flags, want) in cases {
            assert_eq!(
                apply_flags(stored, *change, &given(flags)),
                *want,
                "{stored} {change:?} {flags:?}"
            );
        }
    }

    #[test]
    fn has_flag_ignores_case() {
        assert!(has_flag("\\Seen \\Deleted", "\\deleted"));
        assert!(!has_flag("\\Seen", "\\Deleted"));
    }
}
