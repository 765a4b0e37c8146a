//! RCPT TO (RFC 5321 §4.1.1.3): precondition, limit, resolution, quota.

use baedal_storage::Resolution;
use smtp_proto::RcptTo;

use super::mail::MAX_PATH_LEN;
use super::reply::{self, Reply};
use super::session::{Recipient, Session};

impl Session {
    pub(super) async fn handle_rcpt(&mut self, to: RcptTo<String>) -> Reply {
        let Some(sender) = &self.tx.sender else {
            return reply::NEED_MAIL;
        };
        // RFC 5321 §4.5.3.1.8: at least 100 must be accepted; past our limit, 452.
        if self.tx.recipients.len() >= self.service.limits.max_recipients {
            return reply::TOO_MANY_RECIPIENTS;
        }
        let address = to.address;
        if address.is_empty() || address.len() > MAX_PATH_LEN {
            return reply::BAD_RECIPIENT_SYNTAX;
        }
        if !address.is_ascii() && !sender.smtputf8 {
            return reply::UTF8_REQUIRED;
        }
        let declared_size = sender.declared_size;
        let resolution = match self.service.directory.resolve_recipient(&address).await {
            Ok(resolution) => resolution,
            Err(e) => {
                tracing::error!(rcpt = %address, error = %e, "recipient lookup failed");
                return reply::LOCAL_ERROR;
            }
        };
        let can_queue = self.service.outbound.is_some();
        let (users, remote) = match resolution {
            Resolution::Local(users) => (users, Vec::new()),
            // Only an authenticated submission may send to other domains (no open relay).
            Resolution::NotLocal if can_queue && self.user.is_some() => {
                (Vec::new(), vec![address.clone()])
            }
            Resolution::NotLocal => return reply::RELAY_DENIED,
            Resolution::DomainDisabled => return reply::DOMAIN_DISABLED,
            Resolution::UnknownUser => return reply::UNKNOWN_USER,
            Resolution::UserDisabled => return reply::USER_DISABLED,
            Resolution::Loop => return reply::ALIAS_LOOP,
            Resolution::Forward { local, remote } if can_queue => (local, remote),
            Resolution::Forward { .. } => return reply::FORWARD_UNAVAILABLE,
        };
        // Refuse only when every mailbox behind the address is full (RFC 3463 X.2.2); a
        // declared SIZE counts toward it.
        if remote.is_empty() && users.iter().all(|u| u.over_quota(declared_size.max(1))) {
            super::quota::refused(&self.service, &users);
            return reply::MAILBOX_FULL;
        }
        tracing::debug!(rcpt = %address, mailboxes = users.len(), remote = remote.len(), "RCPT");
        self.tx.recipients.push(Recipient {
            address,
            users,
            remote,
        });
        reply::RECIPIENT_OK
    }
}
