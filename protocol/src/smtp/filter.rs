//! The content filters (Rspamd, ClamAV, the attachment policy) on a received or submitted
//! message: the session hands the spooled message and its facts to `baedal_filter`, writes
//! the refusal it returns, holds the copies it says to quarantine, or goes on with the
//! changed header section and the recipients whose copy goes to Junk. The verdicts go into
//! the message's log line.

use std::collections::HashSet;

use baedal_filter::{Envelope, Hold, Scan};
use baedal_storage::{Held, SpooledMessage};
use mail_parser::MessageParser;

use super::reply::{self, Reply};
use super::session::Session;

/// The message after the filters.
pub(super) struct Filtered {
    pub message: SpooledMessage,
    /// Users (ids) whose copy goes to Junk.
    pub junk: HashSet<i64>,
    /// Recipients (indexes into the transaction's) whose copy was quarantined.
    pub held: HashSet<usize>,
}

impl Session {
    /// Runs the content filters: the message to deliver (maybe with a new header section),
    /// or the reply that ends the transaction (a refusal, or `250` when every copy was
    /// quarantined).
    pub(super) async fn filter_message(
        &mut self,
        message: SpooledMessage,
    ) -> Result<Filtered, Reply> {
        let Some(filters) = self.service.filters.clone() else {
            return Ok(Filtered {
                message,
                junk: HashSet::new(),
                held: HashSet::new(),
            });
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
        let header_complete = message.header_complete();
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
        let mut held = HashSet::new();
        if let Some(hold) = outcome.hold {
            // The copy held is the message as it reached the filters, before their changes.
            let all = hold.recipients.len() == recipients.len();
            self.quarantine(&message, &hold, &mail_from, &recipients, all)
                .await?;
            if all {
                self.tx.note.id = Some(message.unique.clone());
                return Err(Reply::with_text(
                    250,
                    "2.0.0",
                    format!("OK: queued as {}", message.unique),
                ));
            }
            held.extend(hold.recipients);
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
        Ok(Filtered {
            message,
            junk,
            held,
        })
    }

    /// Holds `message` for the recipients of `hold` (their users and remote addresses).
    async fn quarantine(
        &mut self,
        message: &SpooledMessage,
        hold: &Hold,
        sender: &str,
        recipients: &[String],
        last_use: bool,
    ) -> Result<(), Reply> {
        let Some(quarantine) = &self.service.quarantine else {
            tracing::error!("a filter asked for the quarantine, which this service lacks");
            return Err(reply::LOCAL_ERROR);
        };
        let held: Vec<&super::session::Recipient> = hold
            .recipients
            .iter()
            .filter_map(|&i| self.tx.recipients.get(i))
            .collect();
        let mut local_users: Vec<String> = held
            .iter()
            .flat_map(|r| r.users.iter().map(|u| u.email.clone()))
            .collect();
        local_users.sort();
        local_users.dedup();
        let mut remote: Vec<String> = held.iter().flat_map(|r| r.remote.clone()).collect();
        remote.sort();
        remote.dedup();
        let parsed = MessageParser::default().parse_headers(&message.header[..]);
        let subject = parsed
            .as_ref()
            .and_then(|m| m.subject())
            .unwrap_or("")
            .chars()
            .take(200)
            .collect::<String>();
        let from_header = parsed
            .as_ref()
            .and_then(|m| m.from())
            .and_then(|f| f.first())
            .and_then(|a| a.address())
            .unwrap_or("")
            .to_string();
        let held_recipients: Vec<String> = held.iter().map(|r| r.address.clone()).collect();
        let client_ip = self.info.peer.ip().to_canonical().to_string();
        let entry = Held {
            id: &message.unique,
            spool_file: message.path(),
            size: message.size,
            sender,
            recipients: if last_use {
                recipients
            } else {
                &held_recipients
            },
            local_users: &local_users,
            remote: &remote,
            verdict: hold.verdict,
            reason: &hold.reason,
            subject: &subject,
            from_header: &from_header,
            client_ip: &client_ip,
            last_use,
        };
        let now = baedal_storage::clock::now_secs();
        if let Err(e) = quarantine
            .store
            .hold(&entry, now, quarantine.lifetime_secs)
            .await
        {
            tracing::error!(id = %message.unique, error = %e, "cannot quarantine the message");
            return Err(reply::LOCAL_ERROR);
        }
        baedal_metrics::filter_verdict("quarantine", hold.verdict);
        let note = self.tx.note.filters.get_or_insert_with(String::new);
        note.push_str(&format!(
            " quarantined={}:{}",
            hold.verdict,
            held_recipients.join(",")
        ));
        Ok(())
    }
}
