//! The content filters (Rspamd, ClamAV, the attachment policy) on a received or submitted
//! message: the session hands the spooled message and its facts to `baedal_filter`, writes
//! the refusal it returns, or goes on with the changed header section and the recipients
//! whose copy goes to Junk. The verdicts go into the message's log line.

use std::collections::HashSet;

use baedal_filter::{Envelope, Scan};
use baedal_storage::SpooledMessage;

use super::reply::Reply;
use super::session::Session;

impl Session {
    /// The message after the filters (maybe with a new header section) and the users (ids)
    /// whose copy goes to Junk, or the reply that refuses it.
    pub(super) async fn filter_message(
        &mut self,
        message: SpooledMessage,
    ) -> Result<(SpooledMessage, HashSet<i64>), Reply> {
        let Some(filters) = self.service.filters.clone() else {
            return Ok((message, HashSet::new()));
        };
        let recipients: Vec<String> = self
            .tx
            .recipients
            .iter()
            .map(|r| r.address.clone())
            .collect();
        let mail_from = self
            .tx
            .sender
            .as_ref()
            .map(|s| s.address.clone())
            .unwrap_or_default();
        let header = &message.header[..];
        let header_complete = header.ends_with(b"\r\n\r\n")
            || header == b"\r\n"
            || header.len() as u64 == message.size;
        let user = self.user.as_ref().map(|u| u.email.clone());
        let scan = Scan {
            path: message.path(),
            size: message.size,
            header,
            header_complete,
            envelope: Envelope {
                client_ip: self.info.peer.ip().to_canonical(),
                helo: self.helo.as_deref().unwrap_or(""),
                mail_from: &mail_from,
                recipients: &recipients,
                user: user.as_deref(),
                queue_id: &message.unique,
                hostname: &self.service.hostname,
            },
            submission: self.service.submission.is_some(),
        };
        let outcome = filters.run(&scan).await;
        self.tx.note.filters = Some(outcome.log);
        if let Some(refusal) = outcome.refusal {
            return Err(Reply::with_text(refusal.code, refusal.status, refusal.text));
        }
        let junk: HashSet<i64> = outcome
            .junk
            .iter()
            .filter_map(|&i| self.tx.recipients.get(i))
            .flat_map(|r| r.users.iter().map(|u| u.id))
            .collect();
        let message = match outcome.header {
            Some(header) => {
                let skip = message.header.len() as u64;
                self.rewrite_spool(message, &header, skip).await?
            }
            None => message,
        };
        Ok((message, junk))
    }
}
