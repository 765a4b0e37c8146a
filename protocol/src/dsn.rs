//! Delivery status notifications (RFC 3464): the bounce for a recipient that failed for
//! good, and the delay notice for one still being retried. A `multipart/report` with a
//! readable part, the `message/delivery-status` part and the original header section
//! (`text/rfc822-headers`, RFC 6522).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::language::Language;
use crate::time::rfc5322_date;

/// What is reported for a recipient (RFC 3464 §2.3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Failed,
    Delayed,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DsnRecipient {
    pub address: String,
    pub action: Action,
    /// The last error, e.g. `RCPT TO: 550 5.1.1 No such user`.
    pub diagnostic: String,
}

/// The report to the original sender.
#[derive(Debug, Clone)]
pub struct Dsn<'a> {
    /// Our host name (Reporting-MTA, From: MAILER-DAEMON@...).
    pub reporting_mta: &'a str,
    pub original_sender: &'a str,
    /// The queue id of the original message.
    pub original_id: &'a str,
    /// When the original message arrived (seconds since the epoch).
    pub arrival: i64,
    pub recipients: &'a [DsnRecipient],
    /// The original header section.
    pub original_header: &'a [u8],
    /// The language of the readable part and the subject (the sender's domain's).
    pub language: Language,
}

impl Dsn<'_> {
    /// The whole report message, CRLF line ends.
    pub fn render(&self, now: SystemTime, unique: &str) -> Vec<u8> {
        let delayed = self.recipients.iter().all(|r| r.action == Action::Delayed);
        let host = self.reporting_mta;
        let (subject, intro) = texts(self.language, delayed, host);
        // RFC 2047 for a subject that is not ASCII.
        let subject = baedal_filter::headers::encode_word(subject);
        let boundary = format!("=_baedal_dsn_{unique}");
        let mut out = String::new();
        out.push_str(&format!(
            "From: Mail Delivery System <MAILER-DAEMON@{host}>\r\n\
             To: <{}>\r\n\
             Subject: {subject}\r\n\
             Date: {}\r\n\
             Message-ID: <{unique}.dsn@{host}>\r\n\
             Auto-Submitted: auto-replied\r\n\
             MIME-Version: 1.0\r\n\
             Content-Type: multipart/report; report-type=delivery-status;\r\n\
             \tboundary=\"{boundary}\"\r\n\r\n\
             This is a MIME-encapsulated message.\r\n\r\n",
            self.original_sender,
            rfc5322_date(now),
        ));
        let mut readable = intro;
        for r in self.recipients {
            readable.push_str(&format!("<{}>: {}\r\n", r.address, one_line(&r.diagnostic)));
        }
        if readable.is_ascii() {
            out.push_str(&format!(
                "--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{readable}"
            ));
        } else {
            // 7-bit clean on the way back, whatever the relays between accept.
            out.push_str(&format!(
                "--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\
                 Content-Transfer-Encoding: base64\r\n\r\n{}\r\n",
                crate::mime::base64_lines(readable.as_bytes())
            ));
        }
        out.push_str(&format!(
            "\r\n--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\n\
             Reporting-MTA: dns; {host}\r\n\
             X-Baedal-Queue-ID: {}\r\n\
             Arrival-Date: {}\r\n",
            self.original_id,
            rfc5322_date(UNIX_EPOCH + Duration::from_secs(self.arrival.max(0) as u64)),
        ));
        for r in self.recipients {
            let (action, class) = match r.action {
                Action::Failed => ("failed", '5'),
                Action::Delayed => ("delayed", '4'),
            };
            out.push_str(&format!(
                "\r\nFinal-Recipient: rfc822; {}\r\nAction: {action}\r\nStatus: {}\r\n",
                r.address,
                status_code(&r.diagnostic, class),
            ));
            if let Some(reply) = smtp_reply(&r.diagnostic) {
                out.push_str(&format!("Diagnostic-Code: smtp; {}\r\n", one_line(reply)));
            }
        }
        out.push_str(&format!(
            "\r\n--{boundary}\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        ));
        let mut bytes = out.into_bytes();
        let header = self.original_header;
        let header = header
            .strip_suffix(b"\r\n\r\n")
            .map(|h| [h, b"\r\n"].concat())
            .unwrap_or_else(|| header.to_vec());
        bytes.extend_from_slice(&header);
        bytes.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        bytes
    }
}

/// The subject and the opening of the readable part.
fn texts(language: Language, delayed: bool, host: &str) -> (&'static str, String) {
    match (language, delayed) {
        (Language::English, true) => (
            "Delayed Mail (still being retried)",
            format!(
                "This is the mail system at {host}.\r\n\r\n\
                 Your message could not be delivered yet to the recipients below.\r\n\
                 It is still being retried; you need not send it again.\r\n\r\n"
            ),
        ),
        (Language::English, false) => (
            "Undelivered Mail Returned to Sender",
            format!(
                "This is the mail system at {host}.\r\n\r\n\
                 Your message could not be delivered to the recipients below.\r\n\
                 This is a permanent error; it will not be retried.\r\n\r\n"
            ),
        ),
        (Language::Korean, true) => (
            "배달 지연 안내 (계속 재시도 중)",
            format!(
                "{host} 메일 시스템입니다.\r\n\r\n\
                 보내신 메일을 아래 수신자에게 아직 배달하지 못했습니다.\r\n\
                 계속 다시 시도하고 있으니 메일을 다시 보내실 필요는 없습니다.\r\n\r\n"
            ),
        ),
        (Language::Korean, false) => (
            "배달되지 않은 메일이 반송되었습니다",
            format!(
                "{host} 메일 시스템입니다.\r\n\r\n\
                 보내신 메일을 아래 수신자에게 배달하지 못했습니다.\r\n\
                 영구적인 오류이므로 다시 시도하지 않습니다.\r\n\r\n"
            ),
        ),
    }
}

/// The enhanced status code in an error (RFC 3463), or `class.0.0`.
fn status_code(diagnostic: &str, class: char) -> String {
    diagnostic
        .split(|c: char| c.is_whitespace() || c == ':')
        .find(|word| {
            let parts: Vec<&str> = word.split('.').collect();
            parts.len() == 3
                && parts[0].len() == 1
                && parts[0].starts_with(class)
                && parts[1..]
                    .iter()
                    .all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()))
        })
        .map(str::to_string)
        .unwrap_or_else(|| format!("{class}.0.0"))
}

/// The SMTP reply inside an error such as `RCPT TO: 550 5.1.1 No such user`.
fn smtp_reply(diagnostic: &str) -> Option<&str> {
    let start = diagnostic.find(|c: char| c.is_ascii_digit())?;
    let reply = &diagnostic[start..];
    let code = reply.get(..3)?;
    (code.bytes().all(|b| b.is_ascii_digit()) && reply.as_bytes().get(3) == Some(&b' '))
        .then_some(reply)
}

fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(900)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bounce_names_each_recipient_with_its_status() {
        let recipients = [DsnRecipient {
            address: "nobody@remote.test".into(),
            action: Action::Failed,
            diagnostic: "RCPT TO: 550 5.1.1 <nobody@remote.test>: Recipient address rejected"
                .into(),
        }];
        let dsn = Dsn {
            reporting_mta: "mx.example.org",
            original_sender: "alice@example.org",
            original_id: "q1",
            arrival: 1_700_000_000,
            recipients: &recipients,
            original_header: b"Subject: hello\r\nFrom: alice@example.org\r\n\r\n",
            language: Language::English,
        };
        let text = String::from_utf8(dsn.render(UNIX_EPOCH, "u1")).unwrap();
        assert!(text.contains("Content-Type: multipart/report; report-type=delivery-status"));
        assert!(text.contains(
            "Final-Recipient: rfc822; nobody@remote.test\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        ));
        assert!(text.contains("Diagnostic-Code: smtp; 550 5.1.1 <nobody@remote.test>"));
        assert!(text.contains(
            "text/rfc822-headers\r\n\r\nSubject: hello\r\nFrom: alice@example.org\r\n\r\n--"
        ));
        assert!(text.contains("Subject: Undelivered Mail Returned to Sender"));
    }

    #[test]
    fn a_korean_report_is_7_bit_clean() {
        let recipients = [DsnRecipient {
            address: "bob@remote.test".into(),
            action: Action::Failed,
            diagnostic: "RCPT TO: 550 5.1.1 No such user".into(),
        }];
        let dsn = Dsn {
            reporting_mta: "mx.test.example",
            original_sender: "kim@company.kr",
            original_id: "q2",
            arrival: 1_700_000_000,
            recipients: &recipients,
            original_header: b"Subject: x\r\n\r\n",
            language: Language::Korean,
        };
        let bytes = dsn.render(UNIX_EPOCH, "u2");
        assert!(bytes.is_ascii(), "8-bit data in a report");
        let text = String::from_utf8(bytes).unwrap();
        assert!(text.contains("Subject: =?UTF-8?"), "{text}");
        assert!(text.contains("Content-Transfer-Encoding: base64"), "{text}");
        // The machine-readable part stays as RFC 3464 says.
        assert!(text.contains("Action: failed\r\nStatus: 5.1.1"), "{text}");
    }

    #[test]
    fn status_codes_fall_back_to_the_class() {
        assert_eq!(
            status_code("connect to 127.0.0.2:25: refused", '4'),
            "4.0.0"
        );
        assert_eq!(status_code("RCPT TO: 452 4.2.2 Mailbox full", '4'), "4.2.2");
    }
}
