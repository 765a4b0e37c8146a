//! The IMAP4rev1 server session (RFC 3501), parsing with imap-codec.
//!
//! # Layout
//! - [`ImapService`]: what every session shares.
//! - `session`: one connection: the fragmentizer loop (lines and literals, bounded), the
//!   state (not authenticated / authenticated / selected), the one dispatch of command
//!   against state, CAPABILITY, NOOP, LOGOUT.
//! - `condstore`: CONDSTORE/QRESYNC (RFC 7162): ENABLE, what a session enabled, the
//!   QRESYNC SELECT responses, VANISHED and MODIFIED UID sets.
//! - `auth`: STARTTLS, LOGIN, AUTHENTICATE; `idle`: IDLE and raw continuation lines.
//! - `mailboxes`: STATUS, SELECT, EXAMINE, CLOSE, UNSELECT, and the announcement of changes
//!   at the end of each command; `list`: LIST and LSUB over mailboxes and subscriptions;
//!   `list_extended`: the RFC 5258 LIST syntax (selection/return options, LIST-STATUS).
//! - `selected`: the selected mailbox as the client was told it: sequence numbers ↔ UIDs,
//!   sequence sets, keywords announced, expunges not yet reported, and `announce`, which
//!   brings it up to the store's view (EXPUNGE, FLAGS, FETCH FLAGS, EXISTS, RECENT).
//! - `fetch`: FETCH and UID FETCH; `bodystructure`: BODY and BODYSTRUCTURE; `binary`:
//!   BINARY and BINARY.SIZE (RFC 3516), parts with their transfer encoding undone.
//! - `store`: STORE, EXPUNGE, UID EXPUNGE; `copy`: COPY, MOVE, APPEND (UIDPLUS codes).
//! - `folders`: CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE.
//! - `search`: SEARCH and UID SEARCH; `quota`: GETQUOTA, GETQUOTAROOT (RFC 9208).
//! - `sort`: the SORT keys and order (RFC 5256 §3, RFC 5957 DISPLAYFROM/DISPLAYTO), and the
//!   header fields and sent date that THREAD reads too; `base_subject`: the RFC 5256 §2.1
//!   base subject that both compare.
//! - `thread`: THREAD=ORDEREDSUBJECT and THREAD=REFERENCES (RFC 5256 §3, §4) and the THREAD
//!   response syntax.
//! - `search_commands`: SEARCH, ESEARCH and SEARCHRES results, SORT, ESORT, THREAD.
//! - `search_context`: CONTEXT=SEARCH (RFC 5267): results kept current, CANCELUPDATE.
//! - `syntax`: command syntax the parser does not read (ESEARCH/ESORT `RETURN`, SEARCHRES
//!   `$`, `CHANGEDSINCE 0`), taken off before parsing; so are `multiappend`, `catenate`
//!   and `append_utf8` (RFC 6855 `APPEND … UTF8 (…)`).
//! - `wire`: response syntax (strings, literals, dates, ENVELOPE).

mod address;
mod append;
mod append_utf8;
mod auth;
mod base_subject;
mod binary;
mod bodystructure;
mod catenate;
mod condstore;
mod copy;
mod fetch;
mod folders;
mod idle;
mod list;
mod list_extended;
mod mailboxes;
mod metadata;
mod multiappend;
mod preview;
mod quota;
mod search;
mod search_commands;
mod search_context;
mod selected;
mod session;
mod sort;
mod store;
mod syntax;
mod thread;
mod uidonly;
mod wire;

use std::time::Duration;

use baedal_auth::Authenticator;
use baedal_storage::{Directory, MailStore, Spool};
use tokio_rustls::TlsAcceptor;

pub use session::Session;

#[derive(Debug, Clone)]
pub struct ImapLimits {
    /// RFC 3501 §5.4: the autologout timer is at least 30 minutes.
    pub idle_timeout: Duration,
    /// Pause before answering a failed login.
    pub auth_failure_delay: Duration,
    /// Largest command including its literals.
    pub max_command: u32,
    /// How often an IDLE session looks for changes made by other processes (changes in this
    /// process wake it at once).
    pub idle_poll: Duration,
}

impl Default for ImapLimits {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(1800),
            auth_failure_delay: Duration::from_secs(2),
            max_command: 1024 * 1024,
            idle_poll: Duration::from_secs(30),
        }
    }
}

pub struct ImapService {
    pub hostname: String,
    pub directory: Directory,
    pub store: MailStore,
    pub authenticator: Authenticator,
    /// Offered as STARTTLS on plain connections; LOGIN and AUTHENTICATE need TLS.
    pub tls: Option<TlsAcceptor>,
    pub limits: ImapLimits,
    /// Where APPENDed messages are written before they enter the store.
    pub spool: Spool,
}
