//! EHLO and HELO (RFC 5321 §4.1.1.1).

use super::Session;
use super::reply::Reply;

impl Session {
    pub(super) fn handle_ehlo(&mut self, host: String, esmtp: bool) -> Reply {
        // RFC 5321 §4.1.4: EHLO/HELO resets any transaction.
        self.rset();
        self.helo = Some(host.clone());
        self.esmtp = esmtp;
        let hostname = &self.service.hostname;
        if !esmtp {
            return Reply::with_text(250, "", hostname.clone());
        }
        let mut lines = vec![
            format!("{hostname} Hello {host} [{}]", self.info.peer.ip()),
            "PIPELINING".to_string(),
            format!("SIZE {}", self.service.limits.max_message_size),
            "8BITMIME".to_string(),
            "SMTPUTF8".to_string(),
            "ENHANCEDSTATUSCODES".to_string(),
            "CHUNKING".to_string(),
        ];
        if !self.tls && self.service.tls.is_some() {
            lines.push("STARTTLS".to_string());
        }
        // RFC 4954 §4 and RFC 8314 §3: no credentials over an unencrypted connection.
        if self.service.submission.is_some() && self.tls && self.user.is_none() {
            lines.push("AUTH PLAIN LOGIN".to_string());
        }
        Reply::with_text(250, "", lines.join("\n"))
    }
}
