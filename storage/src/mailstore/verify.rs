//! `baedal storage verify`: the blob store and the index agree. The blob is written before
//! the index commits, so a crash between them leaves an orphan object; this finds those
//! (and removes them with `repair`) and reports index rows whose object is missing.

use std::collections::HashSet;

use serde::Serialize;

use super::{MailStore, MailStoreError};

/// Objects younger than this may belong to a delivery still in progress: never orphans.
pub const ORPHAN_GRACE_SECS: i64 = 3600;

/// How long the object of an expunged message outlives it by default, for the sessions that
/// were not yet told (`[imap] expunged_grace`).
pub const EXPUNGED_GRACE_SECS: i64 = 3600;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    pub objects: usize,
    pub indexed: usize,
    /// Objects no index row refers to (older than the grace period).
    pub orphan_objects: Vec<String>,
    /// Index rows whose object is gone.
    pub missing_objects: Vec<String>,
    /// Blob rows no message refers to any more.
    pub unreferenced_rows: Vec<String>,
    /// What `repair` removed.
    pub removed: usize,
}

impl VerifyReport {
    /// True when nothing is left to fix (after `repair`, if it ran).
    pub fn is_clean(&self) -> bool {
        let found = self.orphan_objects.len() + self.unreferenced_rows.len();
        self.missing_objects.is_empty() && found == self.removed
    }
}

impl MailStore {
    pub async fn verify(&self, now: i64, repair: bool) -> Result<VerifyReport, MailStoreError> {
        let objects = self.blobs.list().await?;
        // Rows orphaned by an expunge within the grace period wait for the purge: sessions
        // not yet told of the expunge may still fetch them.
        let indexed: Vec<(String, i64)> = sqlx::query_as(
            "SELECT b.blob_key, (SELECT COUNT(*) FROM messages m WHERE m.blob_id = b.id) \
             + CASE WHEN b.orphaned_at > $1 THEN 1 ELSE 0 END FROM message_blobs b",
        )
        .bind(now - EXPUNGED_GRACE_SECS)
        .fetch_all(self.db.pool())
        .await?;
        // Messages waiting in the outbound queue hold their own objects.
        let queued: Vec<String> = sqlx::query_scalar("SELECT blob_key FROM queue_messages")
            .fetch_all(self.db.pool())
            .await?;
        // So do quarantined ones.
        let held: Vec<String> = sqlx::query_scalar("SELECT blob_key FROM quarantine")
            .fetch_all(self.db.pool())
            .await?;
        let mut indexed_keys: HashSet<&str> = indexed.iter().map(|(k, _)| k.as_str()).collect();
        indexed_keys.extend(queued.iter().map(String::as_str));
        indexed_keys.extend(held.iter().map(String::as_str));
        let object_keys: HashSet<&str> = objects.iter().map(|o| o.key.as_str()).collect();
        let mut report = VerifyReport {
            objects: objects.len(),
            indexed: indexed.len(),
            ..VerifyReport::default()
        };
        for o in &objects {
            if !indexed_keys.contains(o.key.as_str()) && now - o.modified >= ORPHAN_GRACE_SECS {
                report.orphan_objects.push(o.key.clone());
            }
        }
        for (key, refs) in &indexed {
            if !object_keys.contains(key.as_str()) {
                report.missing_objects.push(key.clone());
            } else if *refs == 0 {
                report.unreferenced_rows.push(key.clone());
            }
        }
        report.orphan_objects.sort();
        report.missing_objects.sort();
        report.unreferenced_rows.sort();
        if repair {
            for key in &report.orphan_objects {
                self.blobs.delete(key).await?;
                report.removed += 1;
            }
            for key in &report.unreferenced_rows {
                let gone = sqlx::query(
                    "DELETE FROM message_blobs WHERE blob_key = $1 \
                     AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.blob_id = message_blobs.id)",
                )
                .bind(key)
                .execute(self.db.pool())
                .await?;
                if gone.rows_affected() > 0 {
                    self.blobs.delete(key).await?;
                    report.removed += 1;
                }
            }
        }
        Ok(report)
    }
}
