//! MAIL FROM (RFC 5321 §4.1.1.2, SIZE RFC 1870, SMTPUTF8 RFC 6531).

use smtp_proto::{MAIL_SMTPUTF8, MailFrom};

use super::reply::{self, Reply};
use super::session::{Sender, Session};

/// RFC 5321 §4.5.3.1.3: a path is at most 256 octets.
pub(super) const MAX_PATH_LEN: usize = 256;

impl Session {
    pub(super) async fn handle_mail(&mut self, from: MailFrom<String>) -> Reply {
        if self.helo.is_none() {
            return reply::NEED_HELO;
        }
        if self.tx.sender.is_some() {
            return reply::NESTED_MAIL;
        }
        if from.address.len() > MAX_PATH_LEN {
            return reply::BAD_SENDER_SYNTAX;
        }
        let smtputf8 = from.flags & MAIL_SMTPUTF8 != 0;
        if !from.address.is_ascii() && !smtputf8 {
            return reply::UTF8_REQUIRED;
        }
        // RFC 1870 §6: refuse a declared size over the limit before any data.
        if from.size as u64 > self.service.limits.max_message_size {
            return reply::MESSAGE_TOO_BIG;
        }
        // RFC 5782: a listed client is refused before any transaction.
        if let Some(refusal) = self.check_client().await {
            return refusal;
        }
        if self.service.submission.is_some() {
            if self.user.is_none() {
                return reply::AUTH_REQUIRED;
            }
            match self.owned_by_user(&from.address).await {
                Ok(true) => {}
                Ok(false) => return reply::SENDER_NOT_OWNED,
                Err(refusal) => return refusal,
            }
        }
        tracing::debug!(from = %from.address, size = from.size, "MAIL");
        self.tx.sender = Some(Sender {
            address: from.address,
            declared_size: from.size as u64,
            smtputf8,
        });
        reply::SENDER_OK
    }
}
