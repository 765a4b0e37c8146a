//! The content stages of Baedal's message pipeline: Rspamd (spam), ClamAV (viruses) and the
//! attachment policy, run concurrently on one spooled message and combined into one
//! outcome: deliver (maybe to Junk, with header changes) or refuse with a named reply.
//!
//! # Layout
//! - [`config`]: `[rspamd]`, `[clamav]`, `[attachments]` of baedal.toml.
//! - [`rspamd`]: `POST /checkv2`, the message streamed from the spool, pooled connections.
//! - [`clamav`]: clamd `INSTREAM` in `IDSESSION`s, pooled.
//! - [`attachments`]: names, types and content of attachments (with [`zip`] for archives).
//! - [`headers`]: header changes a filter asks for, made safe and applied.
//! - [`pipeline`]: [`ContentFilters`], which runs the stages and decides.
//!
//! This crate never writes to a client's socket: the SMTP session writes the reply.

pub mod attachments;
pub mod clamav;
pub mod config;
pub mod headers;
pub mod pipeline;
pub mod rspamd;
mod verdict;
pub mod zip;

pub use pipeline::{ContentFilters, FilterHealth, Hold, Outcome, Refusal, Scan};

/// The envelope and session facts of a message, as the filters are told them (Rspamd's
/// request headers).
#[derive(Debug, Clone)]
pub struct Envelope<'a> {
    pub client_ip: std::net::IpAddr,
    pub helo: &'a str,
    pub mail_from: &'a str,
    /// Every RCPT, in order.
    pub recipients: &'a [String],
    /// The authenticated user (submission).
    pub user: Option<&'a str>,
    pub queue_id: &'a str,
    /// Our host name, as in our Received header.
    pub hostname: &'a str,
}

/// Why a filter gave no verdict.
#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    #[error("timed out")]
    Timeout,
    #[error("{0}")]
    Unavailable(String),
    #[error("unexpected reply: {0}")]
    Protocol(String),
    #[error("cannot read the spool file: {0}")]
    Spool(std::io::Error),
    #[error("{0}")]
    Config(String),
}

impl From<std::io::Error> for FilterError {
    fn from(e: std::io::Error) -> Self {
        Self::Unavailable(e.to_string())
    }
}
