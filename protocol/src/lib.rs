//! Baedal's protocol sessions, generic over any byte stream (TLS, plain TCP, in-memory).
//!
//! # Layout
//! - [`stream`]: the boxed stream type every session reads and writes.
//! - [`smtp`]: the SMTP server session (MX): EHLO to QUIT, STARTTLS, DATA and BDAT streamed
//!   to the spool, delivery into the mail store.
//! - `time`: RFC 5322 dates for trace headers.

pub mod smtp;
pub mod stream;
mod time;
