//! One stream type for every session: plain TCP, TLS over TCP, or an in-memory duplex in
//! tests. Boxing keeps STARTTLS simple: the session swaps its stream for the TLS one.

use tokio::io::{AsyncRead, AsyncWrite};

pub trait Stream: AsyncRead + AsyncWrite + Unpin + Send + Sync {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + Sync> Stream for T {}

pub type BoxStream = Box<dyn Stream>;
