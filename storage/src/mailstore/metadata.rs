//! IMAP METADATA (RFC 5464) entries of a user: on the server (mailbox id [`SERVER`]) and on
//! each mailbox (table `metadata`). Names are kept in lower case; values as base64 text.

use base64::Engine;

use super::{MailStore, MailStoreError};

/// The "mailbox" id of server entries.
pub const SERVER: i64 = 0;

/// One entry and its value.
pub type MetadataEntry = (String, Vec<u8>);

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

impl MailStore {
    /// Every entry of the user on `mailbox_id` (or [`SERVER`]), by name.
    pub async fn metadata(
        &self,
        user_id: i64,
        mailbox_id: i64,
    ) -> Result<Vec<MetadataEntry>, MailStoreError> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT name, value FROM metadata WHERE user_id = $1 AND mailbox_id = $2 ORDER BY name",
        )
        .bind(user_id)
        .bind(mailbox_id)
        .fetch_all(self.db.pool())
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(name, value)| Some((name, b64().decode(value).ok()?)))
            .collect())
    }

    /// Sets (`Some`) and removes (`None`) entries in one transaction. `Ok(false)`, with
    /// nothing changed, when the result would hold more than `max_entries` entries on that
    /// mailbox (RFC 5464 §4.3: `[METADATA TOOMANY]`).
    pub async fn set_metadata(
        &self,
        user_id: i64,
        mailbox_id: i64,
        entries: &[(String, Option<Vec<u8>>)],
        max_entries: i64,
    ) -> Result<bool, MailStoreError> {
        let mut tx = self.db.pool().begin().await?;
        for (name, value) in entries {
            match value {
                Some(value) => {
                    sqlx::query(
                        "INSERT INTO metadata (user_id, mailbox_id, name, value) VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (user_id, mailbox_id, name) DO UPDATE SET value = excluded.value",
                    )
                    .bind(user_id)
                    .bind(mailbox_id)
                    .bind(name)
                    .bind(b64().encode(value))
                    .execute(&mut *tx)
                    .await?;
                }
                None => {
                    sqlx::query(
                        "DELETE FROM metadata WHERE user_id = $1 AND mailbox_id = $2 AND name = $3",
                    )
                    .bind(user_id)
                    .bind(mailbox_id)
                    .bind(name)
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM metadata WHERE user_id = $1 AND mailbox_id = $2",
        )
        .bind(user_id)
        .bind(mailbox_id)
        .fetch_one(&mut *tx)
        .await?;
        if count > max_entries {
            tx.rollback().await?;
            return Ok(false);
        }
        tx.commit().await?;
        Ok(true)
    }
}
