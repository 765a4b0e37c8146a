//! Baedal authentication: who may log in, and (later) which mail is genuine.
//!
//! # Layout
//! - [`authenticator`]: the login chain of every protocol: lockout, cache, LDAP, bcrypt.
//! - [`ldap`]: the LDAP directory (LDAPS or StartTLS, service bind, search, user bind) and
//!   its sync into `virtual_users`.
//! - [`provision`]: accounts for directory users.
//! - [`cache`]: the credentials cache (HMACs, never passwords).
//! - [`lockout`]: brute-force defence per IP and account.
//! - [`password`]: local bcrypt passwords (cost 12), hashed and checked on the blocking pool.
//! - [`sasl`]: SASL PLAIN and LOGIN for the AUTH commands of every protocol.
//! - [`dkim`]: DKIM keys (generation, DNS record) and signing of submitted mail.
//! - [`dns`]: Baedal's own resolver, pointed at the configured nameservers only.
//! - [`verify`]: inbound SPF, DKIM, ARC and DMARC on the MX, Authentication-Results, the
//!   enforcement verdict, and the client checks (DNSBL, FCrDNS).

pub mod authenticator;
pub mod cache;
pub mod dkim;
pub mod dns;
pub mod ldap;
pub mod lockout;
pub mod password;
pub mod provision;
pub mod sasl;
pub mod verify;

use baedal_storage::DirectoryError;

pub use authenticator::{
    AuthOutcome, AuthSettings, Authenticator, LdapFallback, Login, LoginAttempt,
};
pub use lockout::LockoutPolicy;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    #[error(transparent)]
    Password(#[from] password::PasswordError),
    #[error(transparent)]
    Ldap(#[from] ldap::LdapError),
    #[error("corrupt directory data: {0}")]
    Corrupt(String),
}
