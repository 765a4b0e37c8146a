//! Reports to the sender (RFC 3464): bounces for recipients that failed for good, the
//! one delay notice for a message still retried. Never to the null sender (RFC 5321
//! §4.5.5, no bounce loops); a local sender gets the report in their INBOX directly, a
//! remote one through the queue with the null sender.

use std::time::SystemTime;

use baedal_protocol::dsn::{Dsn, DsnRecipient};
use baedal_storage::queue::{LeasedRecipient, Outgoing};
use baedal_storage::{DeliveryTarget, Resolution};
use tokio::io::AsyncReadExt;

use super::Outbound;

/// The header section is all a report carries of the original (RFC 6522).
const MAX_ORIGINAL_HEADER: usize = 64 * 1024;

impl Outbound {
    /// Sends one report for `message` (any recipient of it stands for the message).
    pub(super) async fn report(&self, message: &LeasedRecipient, recipients: &[DsnRecipient]) {
        if message.sender.is_empty() || recipients.is_empty() {
            return;
        }
        let header = self.original_header(&message.blob_key).await;
        let dsn = Dsn {
            reporting_mta: &self.hostname,
            original_sender: &message.sender,
            original_id: &message.message_id,
            arrival: message.created_at,
            recipients,
            original_header: &header,
            language: self.languages.for_address(&message.sender),
        };
        if let Err(e) = self.inject(&dsn, &message.sender).await {
            tracing::error!(id = %message.message_id, to = %message.sender, error = %e, "cannot send a delivery report");
        }
    }

    async fn original_header(&self, blob_key: &str) -> Vec<u8> {
        let mut header = Vec::new();
        if let Ok(reader) = self.queue.open(blob_key).await {
            let _ = reader
                .take(MAX_ORIGINAL_HEADER as u64)
                .read_to_end(&mut header)
                .await;
        }
        match header.windows(4).position(|w| w == b"\r\n\r\n") {
            Some(end) => header.truncate(end + 4),
            None => header.extend_from_slice(b"\r\n"),
        }
        header
    }

    async fn inject(&self, dsn: &Dsn<'_>, to: &str) -> anyhow::Result<()> {
        let mut file = self.spool.create().await?;
        let unique = file.unique().to_string();
        file.write(b"Return-Path: <>\r\n").await?;
        file.write(&dsn.render(SystemTime::now(), &unique)).await?;
        let message = file.finish().await?;
        let now = baedal_storage::clock::now_secs();
        match self.directory.resolve_recipient(to).await? {
            Resolution::Local(users) | Resolution::Forward { local: users, .. }
                if !users.is_empty() =>
            {
                let targets: Vec<DeliveryTarget> =
                    users.iter().map(DeliveryTarget::inbox).collect();
                self.store.deliver(message, &targets, now).await?;
                tracing::info!(id = unique, to, "delivery report delivered locally");
            }
            Resolution::NotLocal => {
                let recipients = [to.to_string()];
                let outgoing = Outgoing {
                    id: &unique,
                    spool_file: message.path(),
                    size: message.size,
                    sender: "",
                    recipients: &recipients,
                    last_use: true,
                };
                self.queue
                    .enqueue(&outgoing, now, self.settings.lifetime_secs)
                    .await?;
                self.wake.notify_one();
            }
            other => {
                tracing::warn!(to, resolution = ?other, "delivery report dropped: the sender takes no mail");
            }
        }
        Ok(())
    }
}
