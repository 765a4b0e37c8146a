//! Baedal authentication: who may log in, and (later) which mail is genuine.
//!
//! # Layout
//! - [`password`]: local bcrypt passwords (cost 12), hashed and checked on the blocking pool.
//! - [`local`]: the local authenticator: a directory user's bcrypt password.
//! - [`sasl`]: SASL PLAIN and LOGIN for the AUTH commands of every protocol.

pub mod local;
pub mod password;
pub mod sasl;

pub use local::{AuthError, AuthOutcome, LocalAuthenticator};
