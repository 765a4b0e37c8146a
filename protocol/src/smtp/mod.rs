//! The SMTP server session (RFC 5321), for the MX and submission (RFC 6409) listeners.
//!
//! # Layout
//! - [`SmtpService`]: what every session shares (host name, limits, directory, mail store,
//!   spool, TLS acceptor); built once by the server.
//! - `session`: one connection: the read/flush loop, pipelining, timeouts, the error cutoff,
//!   STARTTLS, and the single dispatch over smtp-proto's `Request`.
//! - one file per stage: `ehlo` (EHLO/HELO), `mail`, `rcpt`, `data` (DATA, BDAT and
//!   delivery).
//! - `submission`: AUTH, the sender and From: checks, Date/Message-ID, DKIM signing.
//! - `quota`: the notices a user gets when their mailbox passes the warning threshold or
//!   refuses mail (one of each a day).
//! - `observe`: metrics of each reply (accepted messages, refusals, transaction latency).
//! - `filter`: the content filters (Rspamd, ClamAV, attachments) after the checks, on the
//!   MX and submission.
//! - `verify`: the MX's inbound checks (DNSBL/FCrDNS at MAIL; SPF, DKIM, ARC, DMARC,
//!   Authentication-Results and enforcement after DATA).
//! - `codec`: dot-unstuffing and line-end normalisation of message data.
//! - [`reply`]: every reply as a named constant (code, enhanced code, text).

mod codec;
mod data;
mod ehlo;
mod filter;
mod mail;
mod observe;
mod quota;
mod rcpt;
pub mod reply;
mod session;
mod submission;
#[cfg(test)]
mod tests;
mod verify;

use std::time::Duration;

use std::sync::Arc;

use baedal_auth::Authenticator;
use baedal_storage::{Directory, DkimKeys, MailStore, Queue, Spool};
use tokio_rustls::TlsAcceptor;

pub use crate::ConnectionInfo;
pub use quota::QuotaNotices;
pub use session::Session;
pub use submission::AUTH_FAILURE_DELAY;
pub use verify::{FcrdnsAction, InboundChecks};

/// RFC 5321 §4.5.3.1.4 allows 512 octets for a command line; extensions (SIZE, SMTPUTF8,
/// long addresses) need more. Longer lines get `500 5.5.2`.
pub const MAX_COMMAND_LINE: usize = 2048;

/// Limits of a session, resolved once when the service is built.
#[derive(Debug, Clone)]
pub struct SmtpLimits {
    /// Message size limit in bytes, advertised as SIZE (RFC 1870).
    pub max_message_size: u64,
    /// Recipients per message; more get `452 4.5.3` (RFC 5321 §4.5.3.1.8).
    pub max_recipients: usize,
    /// Error replies before the session is closed with `421 4.7.0`.
    pub max_errors: u32,
    /// Waiting for a command (RFC 5321 §4.5.3.2.7: at least 5 minutes).
    pub command_timeout: Duration,
    /// Waiting for more message data (RFC 5321 §4.5.3.2.5-6).
    pub data_timeout: Duration,
}

impl Default for SmtpLimits {
    fn default() -> Self {
        Self {
            max_message_size: 100 * 1024 * 1024,
            max_recipients: 100,
            max_errors: 20,
            command_timeout: Duration::from_secs(300),
            data_timeout: Duration::from_secs(600),
        }
    }
}

/// What every SMTP session shares.
pub struct SmtpService {
    /// Our name in the greeting, EHLO and Received headers.
    pub hostname: String,
    pub limits: SmtpLimits,
    pub directory: Directory,
    pub store: MailStore,
    pub spool: Spool,
    /// Offered as STARTTLS on plain connections.
    pub tls: Option<TlsAcceptor>,
    /// Answer VRFY truthfully; off by default (252 for everything, RFC 5321 §3.5.3).
    pub vrfy: bool,
    /// Submission (587/465): AUTH, sender checks, DKIM. `None` on the MX.
    pub submission: Option<Submission>,
    /// Where remote recipients go (submission, aliases that forward). `None`: refused.
    pub outbound: Option<Outbound>,
    /// SPF/DKIM/ARC/DMARC and client checks of the MX. `None`: off (and on submission).
    pub checks: Option<InboundChecks>,
    /// Rspamd, ClamAV and the attachment policy. `None`: all off.
    pub filters: Option<Arc<baedal_filter::ContentFilters>>,
    /// Where the filters' held messages go.
    pub quarantine: Option<Quarantining>,
    /// Tell users near or over their quota. `None`: off.
    pub quota_notices: Option<QuotaNotices>,
}

/// The quarantine, as sessions use it.
#[derive(Clone)]
pub struct Quarantining {
    pub store: baedal_storage::Quarantine,
    /// How long a held message is kept.
    pub lifetime_secs: i64,
}

/// What a submission listener adds to a session.
pub struct Submission {
    pub authenticator: Authenticator,
    pub dkim: DkimKeys,
    pub auth_failure_delay: Duration,
}

/// The outbound queue, as sessions use it.
#[derive(Clone)]
pub struct Outbound {
    pub queue: Queue,
    /// How long a message may wait before it bounces.
    pub lifetime_secs: i64,
    /// Wakes the queue workers after an enqueue.
    pub wake: Arc<tokio::sync::Notify>,
}
