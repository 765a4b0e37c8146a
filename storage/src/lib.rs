//! Baedal storage: everything Baedal keeps, behind types that know nothing of any wire
//! protocol.
//!
//! # Layout
//! - [`db`]: the SQL connection (SQLite embedded, PostgreSQL in production) through one
//!   `sqlx::AnyPool`, the per-database [`db::Dialect`] differences and the migrations of
//!   `migrations/sqlite` and `migrations/postgres`.
//! - [`address`]: mail addresses and domain names as the directory stores them (lowercase,
//!   validated), and alias sources (`user@domain` or the catch-all `@domain`).
//! - [`size`]: byte sizes as administrators write them (`1G`, `500M`, `1073741824`).
//! - [`directory`]: [`Directory`], the virtual domains, users and aliases
//!   (`domains`, `virtual_users`, `virtual_aliases`), and recipient resolution.
//! - [`mailstore`]: [`MailStore`], mailboxes and messages (`mailboxes`, `message_blobs`,
//!   `messages`), delivery in one transaction, the cached MIME structure.
//! - [`blob`]: [`BlobStore`], immutable message objects under Maildir-style keys; the
//!   filesystem and S3 backends.
//! - [`dkim`]: [`DkimKeys`], the domains' DKIM signing keys (`dkim_keys`).
//! - [`queue`]: [`Queue`], the outbound queue (`queue_messages`, `queue_recipients`).
//! - [`quarantine`]: [`Quarantine`], messages the content filters held (`quarantine`).
//! - [`admins`]: [`AdminStore`], the console's administrators, sessions, API keys and the
//!   audit log.
//! - [`clock`]: "now", read in one place.
//! - [`spool`]: incoming messages streamed to disk while they arrive.

pub mod address;
pub mod admins;
pub mod blob;
pub mod clock;
pub mod db;
pub mod directory;
pub mod dkim;
pub mod events;
pub mod mailstore;
pub mod quarantine;
pub mod queue;
pub mod size;
pub mod spool;
mod sql_filter;

pub use address::{AddressError, AliasSource, DomainName, EmailAddress};
pub use admins::{AdminAccount, AdminStore, AdminStoreError, NewAdmin, Role};
pub use blob::{BlobError, BlobStore, FsBlobStore, S3BlobStore, S3Settings};
pub use db::{Backend, Database, DbError};
pub use directory::{
    Alias, AuthSource, AuthType, Directory, DirectoryError, Domain, DomainUpdate, LocalUser,
    NewDomain, NewUser, Resolution, User, UserSearch, UserUpdate,
};
pub use dkim::{DkimKeyRecord, DkimKeys, DkimStoreError, NewDkimKey};
pub use mailstore::{DeliveryTarget, MailStore, MailStoreError};
pub use quarantine::{Held, Quarantine, QuarantinedMessage};
pub use queue::{Queue, QueueError, QueuedMessage};
pub use size::{ByteSize, SizeError};
pub use spool::{Spool, SpoolFile, SpooledMessage};
