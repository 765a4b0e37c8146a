//! Every SMTP reply the server sends: basic code (RFC 5321 §4.2), enhanced status code
//! (RFC 3463) and text, named for what they mean.

use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    /// Enhanced status code, e.g. "5.1.1"; empty for the greeting and 354.
    pub status: &'static str,
    pub text: Cow<'static, str>,
}

impl Reply {
    pub const fn new(code: u16, status: &'static str, text: &'static str) -> Self {
        Self {
            code,
            status,
            text: Cow::Borrowed(text),
        }
    }

    pub fn with_text(code: u16, status: &'static str, text: String) -> Self {
        Self {
            code,
            status,
            text: Cow::Owned(text),
        }
    }

    pub fn is_error(&self) -> bool {
        self.code >= 400
    }

    /// Appends the wire form: one line, or several for a multi-line text (RFC 5321 §4.2.1).
    pub fn write_to(&self, out: &mut Vec<u8>) {
        let lines: Vec<&str> = self.text.split('\n').collect();
        for (i, line) in lines.iter().enumerate() {
            let sep = if i + 1 == lines.len() { ' ' } else { '-' };
            let line = line.trim_end_matches('\r');
            if self.status.is_empty() {
                out.extend_from_slice(format!("{}{sep}{line}\r\n", self.code).as_bytes());
            } else {
                out.extend_from_slice(
                    format!("{}{sep}{} {line}\r\n", self.code, self.status).as_bytes(),
                );
            }
        }
    }
}

pub const CLOSING: Reply = Reply::new(221, "2.0.0", "Bye");
pub const OK: Reply = Reply::new(250, "2.0.0", "OK");
pub const RESET: Reply = Reply::new(250, "2.0.0", "Reset state");
pub const SENDER_OK: Reply = Reply::new(250, "2.1.0", "Sender OK");
pub const RECIPIENT_OK: Reply = Reply::new(250, "2.1.5", "Recipient OK");
pub const VRFY_DISABLED: Reply = Reply::new(
    252,
    "2.5.0",
    "Cannot VRFY user, but will accept message and attempt delivery",
);
pub const HELP: Reply = Reply::new(
    214,
    "2.0.0",
    "Commands: EHLO HELO AUTH MAIL RCPT DATA BDAT RSET NOOP QUIT HELP VRFY STARTTLS",
);
pub const START_DATA: Reply = Reply::new(354, "", "End data with <CR><LF>.<CR><LF>");
pub const READY_FOR_TLS: Reply = Reply::new(220, "2.0.0", "Ready to start TLS");

pub const TIMEOUT: Reply = Reply::new(421, "4.4.2", "Timeout, closing connection");
pub const TOO_MANY_ERRORS: Reply = Reply::new(421, "4.7.0", "Too many errors, closing connection");
pub const TOO_MANY_CONNECTIONS: Reply =
    Reply::new(421, "4.7.0", "Too many connections, try again later");
pub const SHUTTING_DOWN: Reply = Reply::new(421, "4.3.2", "Server shutting down, try again later");
pub const LOCAL_ERROR: Reply = Reply::new(451, "4.3.0", "Temporary local problem, try again later");
pub const FORWARD_UNAVAILABLE: Reply = Reply::new(
    451,
    "4.3.0",
    "Forwarding to remote addresses is not available yet, try again later",
);
pub const TOO_MANY_RECIPIENTS: Reply = Reply::new(452, "4.5.3", "Too many recipients");
pub const TLS_UNAVAILABLE: Reply = Reply::new(454, "4.7.0", "TLS not available");
pub const AUTH_TEMPORARY: Reply = Reply::new(454, "4.7.0", "Temporary authentication failure");
pub const AUTH_OK: Reply = Reply::new(235, "2.7.0", "Authentication successful");

pub const UNKNOWN_COMMAND: Reply = Reply::new(500, "5.5.1", "Unknown command");
pub const LINE_TOO_LONG: Reply = Reply::new(500, "5.5.2", "Line too long");
pub const BAD_SENDER_SYNTAX: Reply = Reply::new(501, "5.1.7", "Bad sender address syntax");
pub const BAD_RECIPIENT_SYNTAX: Reply = Reply::new(501, "5.1.3", "Bad recipient address syntax");
pub const NOT_IMPLEMENTED: Reply = Reply::new(502, "5.5.1", "Command not implemented");
pub const NEED_HELO: Reply = Reply::new(503, "5.5.1", "Send EHLO or HELO first");
pub const NEED_MAIL: Reply = Reply::new(503, "5.5.1", "Send MAIL first");
pub const NEED_RCPT: Reply = Reply::new(503, "5.5.1", "No valid recipients");
pub const NESTED_MAIL: Reply = Reply::new(503, "5.5.1", "Sender already given");
pub const TLS_ACTIVE: Reply = Reply::new(503, "5.5.1", "TLS already active");
pub const BDAT_IN_PROGRESS: Reply = Reply::new(
    503,
    "5.5.1",
    "BDAT transfer in progress: only BDAT, RSET or QUIT",
);
pub const AUTH_NOT_ENABLED: Reply =
    Reply::new(503, "5.5.1", "Authentication is not available on this port");
pub const ALREADY_AUTHENTICATED: Reply = Reply::new(503, "5.5.1", "Already authenticated");
pub const AUTH_IN_TRANSACTION: Reply = Reply::new(
    503,
    "5.5.1",
    "AUTH is not allowed during a mail transaction",
);
pub const AUTH_CANCELLED: Reply = Reply::new(501, "5.0.0", "Authentication cancelled");
pub const AUTH_BAD_RESPONSE: Reply =
    Reply::new(501, "5.5.2", "Cannot decode the authentication response");
pub const AUTH_MECHANISM: Reply = Reply::new(
    504,
    "5.5.4",
    "Unrecognized authentication mechanism: use PLAIN or LOGIN",
);
// RFC 4954 §6
pub const AUTH_REQUIRED: Reply = Reply::new(530, "5.7.0", "Authentication required");
pub const AUTH_FAILED: Reply = Reply::new(535, "5.7.8", "Authentication credentials invalid");
pub const ENCRYPTION_REQUIRED: Reply = Reply::new(
    538,
    "5.7.11",
    "Encryption required for requested authentication mechanism",
);
// RFC 6409 §6.1: the sender must be the authenticated user's.
pub const SENDER_NOT_OWNED: Reply = Reply::new(
    553,
    "5.7.1",
    "Sender address not owned by the authenticated user",
);
pub const FROM_NOT_OWNED: Reply = Reply::new(
    553,
    "5.7.1",
    "From: header address not owned by the authenticated user",
);
pub const UNKNOWN_USER: Reply = Reply::new(550, "5.1.1", "No such user here");
pub const DOMAIN_DISABLED: Reply = Reply::new(550, "5.1.2", "Domain does not accept mail");
pub const USER_DISABLED: Reply = Reply::new(550, "5.2.1", "Mailbox disabled");
pub const ALIAS_LOOP: Reply = Reply::new(550, "5.4.6", "Alias loop or nesting too deep");
pub const MAILBOX_FULL: Reply = Reply::new(552, "5.2.2", "Mailbox full");
pub const MESSAGE_TOO_BIG: Reply = Reply::new(552, "5.3.4", "Message size exceeds fixed limit");
pub const UTF8_REQUIRED: Reply = Reply::new(553, "5.6.7", "Non-ASCII address requires SMTPUTF8");
pub const RELAY_DENIED: Reply = Reply::new(554, "5.7.1", "Relay access denied");

// Inbound verification (RFC 7372 codes where it defines one).
pub const FCRDNS_FAILED: Reply = Reply::new(550, "5.7.25", "Reverse DNS validation failed");
pub const FCRDNS_TEMPERROR: Reply = Reply::new(
    451,
    "4.7.25",
    "Reverse DNS validation failed temporarily, try again later",
);

/// 554 for a client on a DNS blocklist, naming the list.
pub fn dnsbl_listed(ip: std::net::IpAddr, zone: &str) -> Reply {
    Reply::with_text(
        554,
        "5.7.1",
        format!("Service unavailable; client [{ip}] blocked using {zone}"),
    )
}

/// 550 at the end of DATA: the author domain's DMARC policy is reject (RFC 7489 §6.6.2).
pub fn dmarc_reject(domain: &str) -> Reply {
    Reply::with_text(
        550,
        "5.7.1",
        format!("Message rejected by the DMARC policy of {domain}"),
    )
}

/// 550 at the end of DATA: SPF fail without a passing DKIM signature (RFC 7372 §3.2).
pub fn spf_fail(domain: &str) -> Reply {
    Reply::with_text(
        550,
        "5.7.23",
        format!("SPF validation failed: {domain} does not designate this host"),
    )
}

/// 451: the DMARC policy of `domain` could not be read (DNS error or timeout).
pub fn dmarc_temperror(domain: &str) -> Reply {
    Reply::with_text(
        451,
        "4.7.1",
        format!("Temporary DNS error checking DMARC for {domain}, try again later"),
    )
}

/// 451: the SPF record of `domain` could not be read (RFC 7372 §3.2 X.7.24).
pub fn spf_temperror(domain: &str) -> Reply {
    Reply::with_text(
        451,
        "4.7.24",
        format!("Temporary DNS error checking SPF for {domain}, try again later"),
    )
}

/// 501 with the syntax the command needs.
pub fn syntax(what: &str) -> Reply {
    Reply::with_text(501, "5.5.4", format!("Syntax: {what}"))
}

/// 555 for a MAIL/RCPT parameter we do not support (RFC 5321 §4.1.1.11).
pub fn unsupported_parameter(param: &str) -> Reply {
    Reply::with_text(555, "5.5.4", format!("Unsupported parameter {param}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_single_and_multi_line_replies() {
        let mut out = Vec::new();
        UNKNOWN_USER.write_to(&mut out);
        START_DATA.write_to(&mut out);
        Reply::with_text(250, "", "mx.example.org\nPIPELINING\nSIZE 10".into()).write_to(&mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "550 5.1.1 No such user here\r\n354 End data with <CR><LF>.<CR><LF>\r\n\
             250-mx.example.org\r\n250-PIPELINING\r\n250 SIZE 10\r\n"
        );
    }
}
