//! Baedal authentication: who may log in, and (later) which mail is genuine.
//!
//! # Layout
//! - [`password`]: local bcrypt passwords (cost 12), hashed and checked on the blocking pool.
//! - [`local`]: the local authenticator: a directory user's bcrypt password.
//! - [`sasl`]: SASL PLAIN and LOGIN for the AUTH commands of every protocol.
//! - [`dkim`]: DKIM keys (generation, DNS record) and signing of submitted mail.
//! - [`dns`]: Baedal's own resolver, pointed at the configured nameservers only.
//! - [`verify`]: inbound SPF, DKIM, ARC and DMARC on the MX, Authentication-Results, the
//!   enforcement verdict, and the client checks (DNSBL, FCrDNS).

pub mod dkim;
pub mod dns;
pub mod local;
pub mod password;
pub mod sasl;
pub mod verify;

pub use local::{AuthError, AuthOutcome, LocalAuthenticator};
