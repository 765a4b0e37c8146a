//! The administrator's commands: `baedal domain|user|alias|auth|dkim|queue|quarantine|quota|admin|audit ...`,
//! and the web console + JSON API (`web`) over the same operations (`ops`).
//!
//! # Layout
//! - [`AdminCommand`]: the clap command tree the `baedal` binary flattens into its own.
//! - `domain`, `user`, `alias`, `auth`, `ldap`, `mailbox`, `pop3`, `storage`, `dkim`, `queue`, `quarantine`, `quota`: one module per command group, each with its clap
//!   arguments and its handler.
//! - `input`: arguments parsed into directory types (addresses, sizes) and passwords read
//!   from stdin or a terminal prompt.
//! - `output`: human tables by default, JSON with `--json`.
//! - [`AdminError`]: what failed, and the exit code it maps to (1: the action failed,
//!   2: the input was wrong).

mod admin;
mod alias;
mod audit;
mod auth;
mod dkim;
mod domain;
mod error;
mod input;
mod ldap;
mod log;
mod mailbox;
pub mod ops;
mod output;
mod pop3;
mod quarantine;
mod queue;
mod quota;
mod storage;
mod user;
pub mod web;

use std::sync::Arc;

use baedal_auth::Authenticator;
use baedal_auth::ldap::LdapDirectory;
use baedal_storage::{AdminStore, Directory, DkimKeys, MailStore, Quarantine, Queue, Spool};
use clap::Subcommand;

pub use error::AdminError;
pub use output::Output;

/// Everything a command needs: the directory and how to print.
pub struct AdminContext {
    pub directory: Directory,
    /// Administrator accounts, their sessions and the audit log.
    pub admins: AdminStore,
    pub store: MailStore,
    pub dkim: DkimKeys,
    pub queue: Queue,
    /// Messages the content filters held (`quarantine`).
    pub quarantine: Quarantine,
    /// Where a released message is spooled before delivery.
    pub spool: Spool,
    /// The site's `[queue] lifetime` (released mail to remote recipients).
    pub queue_lifetime_secs: i64,
    /// The site's `[quota] warn_percent` (`quota report`).
    pub quota_warn_percent: i64,
    pub output: Output,
    /// The site's `[pop3] retention_days`.
    pub pop3_retention_days: i64,
    /// The login chain as the server runs it (`auth test`), without cache or lockout.
    pub authenticator: Authenticator,
    /// The LDAP directory, when `[ldap] url` is set (`ldap sync`).
    pub ldap: Option<Arc<LdapDirectory>>,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Administrators of the web console and the JSON API
    #[command(subcommand)]
    Admin(admin::AdminAccountCommand),
    /// The audit log of administrative changes
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Authentication, delivery and error events the server recorded
    #[command(subcommand)]
    Log(log::LogCommand),
    /// Local mail domains
    #[command(subcommand)]
    Domain(domain::DomainCommand),
    /// Mailbox users
    #[command(subcommand)]
    User(user::UserCommand),
    /// Aliases: addresses that deliver to other addresses
    #[command(subcommand)]
    Alias(alias::AliasCommand),
    /// Check a login the way the server would
    #[command(subcommand)]
    Auth(auth::AuthCommand),
    /// The LDAP directory of LDAP domains
    #[command(subcommand)]
    Ldap(ldap::LdapCommand),
    /// A user's mailboxes
    #[command(subcommand)]
    Mailbox(mailbox::MailboxCommand),
    /// POP3 maintenance
    #[command(subcommand)]
    Pop3(pop3::Pop3Command),
    /// Blob store and index consistency
    #[command(subcommand)]
    Storage(storage::StorageCommand),
    /// DKIM signing keys and their DNS records
    #[command(subcommand)]
    Dkim(dkim::DkimCommand),
    /// The outbound queue
    #[command(subcommand)]
    Queue(queue::QueueCommand),
    /// Messages the content filters held back
    #[command(subcommand)]
    Quarantine(quarantine::QuarantineCommand),
    /// Users near or over their quota
    #[command(subcommand)]
    Quota(quota::QuotaCommand),
}

pub async fn run(command: AdminCommand, ctx: &AdminContext) -> Result<(), AdminError> {
    match command {
        AdminCommand::Admin(cmd) => admin::run(cmd, ctx).await,
        AdminCommand::Audit(cmd) => audit::run(cmd, ctx).await,
        AdminCommand::Log(cmd) => log::run(cmd, ctx).await,
        AdminCommand::Domain(cmd) => domain::run(cmd, ctx).await,
        AdminCommand::User(cmd) => user::run(cmd, ctx).await,
        AdminCommand::Alias(cmd) => alias::run(cmd, ctx).await,
        AdminCommand::Auth(cmd) => auth::run(cmd, ctx).await,
        AdminCommand::Ldap(cmd) => ldap::run(cmd, ctx).await,
        AdminCommand::Mailbox(cmd) => mailbox::run(cmd, ctx).await,
        AdminCommand::Pop3(cmd) => pop3::run(cmd, ctx).await,
        AdminCommand::Storage(cmd) => storage::run(cmd, ctx).await,
        AdminCommand::Dkim(cmd) => dkim::run(cmd, ctx).await,
        AdminCommand::Queue(cmd) => queue::run(cmd, ctx).await,
        AdminCommand::Quarantine(cmd) => quarantine::run(cmd, ctx).await,
        AdminCommand::Quota(cmd) => quota::run(cmd, ctx).await,
    }
}
