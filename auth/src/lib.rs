//! Baedal authentication: who may log in, and (later) which mail is genuine.
//!
//! # Layout
//! - [`password`]: local bcrypt passwords (cost 12), hashed and checked on the blocking pool.
//! - [`local`]: the local authenticator: a directory user's bcrypt password.

pub mod local;
pub mod password;

pub use local::{AuthError, AuthOutcome, LocalAuthenticator};
