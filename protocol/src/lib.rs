//! Baedal's protocol sessions, generic over any byte stream (TLS, plain TCP, in-memory).
//!
//! # Layout
//! - [`stream`]: the boxed stream type every session reads and writes.
//! - `conn`: buffered line I/O shared by the sessions: pipelined replies, bounded lines,
//!   timeouts, the TLS upgrade.
//! - `deflate`: a stream compressed both ways (IMAP COMPRESS=DEFLATE, RFC 4978).
//! - [`smtp`]: the SMTP server session (MX): EHLO to QUIT, STARTTLS, DATA and BDAT streamed
//!   to the spool, delivery into the mail store.
//! - [`smtp_client`]: the SMTP client of the outbound queue (STARTTLS, AUTH, per-recipient
//!   replies, dot-stuffed streaming).
//! - [`imap`]: the IMAP4rev1 server session (in progress: see its module docs).
//! - [`pop3`]: the POP3 server session: AUTHORIZATION with STLS and SASL, the INBOX as a
//!   maildrop, QUIT's UPDATE, retention bookkeeping.
//! - [`shutdown`]: the server's request that sessions end, and how each says goodbye.
//! - [`dsn`]: delivery status notifications (bounces and delay notices, RFC 3464).
//! - [`time`]: RFC 5322 dates for trace headers.

mod conn;
mod deflate;
pub mod dsn;
pub mod imap;
pub mod language;
pub mod mime;
pub mod pop3;
pub mod shutdown;
pub mod smtp;
pub mod smtp_client;
pub mod stream;
pub mod time;

use std::net::SocketAddr;

/// Where a connection comes from.
#[derive(Debug, Clone)]
pub struct ConnectionInfo {
    pub session_id: String,
    pub peer: SocketAddr,
    pub local: SocketAddr,
    /// True for implicit TLS (the session starts encrypted).
    pub tls: bool,
    /// Turns when the server stops; an idle session then says goodbye and closes.
    pub shutdown: shutdown::ShutdownSignal,
}
