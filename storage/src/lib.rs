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
//!   (`domains`, `virtual_users`, `virtual_aliases`).

pub mod address;
pub mod db;
pub mod directory;
pub mod size;

pub use address::{AddressError, AliasSource, DomainName, EmailAddress};
pub use db::{Backend, Database, DbError};
pub use directory::{
    Alias, AuthSource, AuthType, Directory, DirectoryError, Domain, DomainUpdate, NewDomain,
    NewUser, User, UserUpdate,
};
pub use size::{ByteSize, SizeError};
