//! The POP3 server session (RFC 1939, CAPA RFC 2449, STLS RFC 2595, AUTH RFC 5034).
//!
//! # Layout
//! - [`Pop3Service`]: what every session shares, including the per-user maildrop locks.
//! - `session`: one connection: AUTHORIZATION (CAPA, STLS, USER/PASS, AUTH), the dispatch of
//!   each command against the session state, QUIT's UPDATE.
//! - `maildrop`: the TRANSACTION state: the INBOX snapshot, STAT, LIST, UIDL, RETR, TOP,
//!   DELE, RSET.
//! - `transfer`: messages on the wire: dot-stuffing, CRLF, TOP's line limit.
//! - `reply`: every response as a named constant.

mod maildrop;
mod reply;
mod session;
mod transfer;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use baedal_auth::Authenticator;
use baedal_storage::{Directory, MailStore};
use tokio_rustls::TlsAcceptor;

pub use session::Session;

#[derive(Debug, Clone)]
pub struct Pop3Limits {
    /// RFC 1939 §3: the autologout timer is at least 10 minutes.
    pub idle_timeout: Duration,
    /// Pause before answering a failed login (slows password guessing).
    pub auth_failure_delay: Duration,
}

impl Default for Pop3Limits {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(600),
            auth_failure_delay: Duration::from_secs(2),
        }
    }
}

pub struct Pop3Service {
    pub hostname: String,
    pub directory: Directory,
    pub store: MailStore,
    pub authenticator: Authenticator,
    /// Offered as STLS on plain connections; USER/PASS/AUTH need TLS.
    pub tls: Option<TlsAcceptor>,
    pub limits: Pop3Limits,
    /// The site's retention of POP3-retrieved mail in days (0 = keep), for EXPIRE.
    pub retention_days: i64,
    /// Users whose maildrop a session holds (RFC 1939 §8: exclusive access).
    pub locks: Arc<MaildropLocks>,
}

/// The maildrops sessions hold, shared by every POP3 service of the process (a reload
/// builds new services while old sessions still hold their maildrops).
#[derive(Debug, Default)]
pub struct MaildropLocks(Mutex<HashSet<i64>>);

impl MaildropLocks {
    pub fn new() -> Arc<Self> {
        Arc::default()
    }
}

impl Pop3Service {
    /// The maildrop lock of `user_id`, or `None` while another session holds it. This lock
    /// is per process; several nodes need a database lock (noted for the cluster issue).
    fn lock(&self, user_id: i64) -> Option<MaildropLock> {
        let mut locked = self.locks.0.lock().unwrap_or_else(|p| p.into_inner());
        locked.insert(user_id).then(|| MaildropLock {
            locks: Arc::clone(&self.locks),
            user_id,
        })
    }
}

/// Held by the session that owns a maildrop; released on drop, however the session ends.
pub(crate) struct MaildropLock {
    locks: Arc<MaildropLocks>,
    user_id: i64,
}

impl Drop for MaildropLock {
    fn drop(&mut self) {
        let mut locked = self.locks.0.lock().unwrap_or_else(|p| p.into_inner());
        locked.remove(&self.user_id);
    }
}
