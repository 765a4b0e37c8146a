//! A line-oriented connection shared by every protocol session: buffered input, replies
//! queued and flushed only when the session needs more input (pipelining: RFC 2920,
//! RFC 2449 §6.6), bounded lines, timeouts, and the STARTTLS/STLS upgrade.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsAcceptor;

use crate::shutdown::ShutdownSignal;
use crate::stream::BoxStream;

/// Read buffer size; pipelined commands and message data arrive in chunks of this.
const READ_CHUNK: usize = 64 * 1024;
/// How long a TLS handshake may take.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a session ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// The session decided to close (QUIT, a fatal reply).
    Done,
    /// The peer went away or the stream failed.
    Disconnected,
    /// The peer was silent too long.
    Timeout,
    /// The server is stopping and the session was waiting for a command.
    Shutdown,
}

/// One line read from the peer.
pub enum Line {
    /// The line through its LF.
    Complete(Vec<u8>),
    /// Longer than allowed; it was read and dropped.
    TooLong,
}

pub struct Conn {
    stream: Option<BoxStream>,
    /// Bytes read but not yet consumed, from `input_pos`.
    input: Vec<u8>,
    input_pos: usize,
    /// Replies waiting to be flushed.
    output: Vec<u8>,
    /// Bound on writing a batch of replies.
    write_timeout: Duration,
    /// Where reads land before joining `input`, so a cancelled read loses nothing.
    scratch: Box<[u8]>,
    /// The server's stop request, heard while waiting for a command.
    shutdown: ShutdownSignal,
}

impl Conn {
    pub fn new(stream: BoxStream, write_timeout: Duration, shutdown: ShutdownSignal) -> Self {
        Self {
            shutdown,
            stream: Some(stream),
            input: Vec::with_capacity(READ_CHUNK),
            input_pos: 0,
            output: Vec::with_capacity(4096),
            write_timeout,
            scratch: vec![0; READ_CHUNK].into_boxed_slice(),
        }
    }

    /// Queues bytes for the peer.
    pub fn queue(&mut self, bytes: &[u8]) {
        self.output.extend_from_slice(bytes);
    }

    /// The queue itself, for writers that format in place.
    pub fn output(&mut self) -> &mut Vec<u8> {
        &mut self.output
    }

    /// Bytes queued and not yet flushed.
    pub fn queued(&self) -> usize {
        self.output.len()
    }

    pub async fn flush(&mut self) -> Result<(), Closed> {
        if self.output.is_empty() {
            return Ok(());
        }
        let stream = self.stream.as_mut().ok_or(Closed::Disconnected)?;
        let result = tokio::time::timeout(self.write_timeout, async {
            stream.write_all(&self.output).await?;
            stream.flush().await
        })
        .await;
        self.output.clear();
        match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(Closed::Disconnected),
            Err(_) => Err(Closed::Timeout),
        }
    }

    /// Reads more input, flushing queued replies first (a client waits for them before it
    /// sends more). When `until_shutdown`, a stop request ends the wait with
    /// [`Closed::Shutdown`]; input already arriving is still taken first.
    async fn fill(&mut self, timeout: Duration, until_shutdown: bool) -> Result<usize, Closed> {
        self.flush().await?;
        if self.input_pos > 0 {
            self.input.drain(..self.input_pos);
            self.input_pos = 0;
        }
        let stream = self.stream.as_mut().ok_or(Closed::Disconnected)?;
        // Cancel-safe: a read cancelled by a timeout or a stop leaves `input` as it was.
        let read = tokio::select! {
            biased;
            read = tokio::time::timeout(timeout, stream.read(&mut self.scratch)) => read,
            () = self.shutdown.requested(), if until_shutdown => return Err(Closed::Shutdown),
        };
        match read {
            Ok(Ok(0)) | Ok(Err(_)) => Err(Closed::Disconnected),
            Ok(Ok(n)) => {
                self.input.extend_from_slice(&self.scratch[..n]);
                Ok(n)
            }
            Err(_) => Err(Closed::Timeout),
        }
    }

    /// The next line, through its LF; lines over `max` bytes are read to their end and
    /// reported as [`Line::TooLong`].
    pub async fn read_line(&mut self, max: usize, timeout: Duration) -> Result<Line, Closed> {
        self.line(max, timeout, false).await
    }

    /// The next command line, as [`Conn::read_line`]; a stop request ends the wait with
    /// [`Closed::Shutdown`] unless a line is already buffered or arriving.
    pub async fn read_command(&mut self, max: usize, timeout: Duration) -> Result<Line, Closed> {
        self.line(max, timeout, true).await
    }

    async fn line(
        &mut self,
        max: usize,
        timeout: Duration,
        until_shutdown: bool,
    ) -> Result<Line, Closed> {
        let mut discarding = false;
        loop {
            let pending = &self.input[self.input_pos..];
            if let Some(lf) = pending.iter().position(|&b| b == b'\n') {
                let line = pending[..=lf].to_vec();
                self.input_pos += lf + 1;
                if discarding || line.len() > max {
                    return Ok(Line::TooLong);
                }
                return Ok(Line::Complete(line));
            }
            if pending.len() > max {
                discarding = true;
                self.input_pos = self.input.len();
            }
            self.fill(timeout, until_shutdown).await?;
        }
    }

    /// Takes up to `max` input bytes, reading more when none are buffered.
    pub async fn read_data(&mut self, max: usize, timeout: Duration) -> Result<Vec<u8>, Closed> {
        self.data(max, timeout, false).await
    }

    async fn data(
        &mut self,
        max: usize,
        timeout: Duration,
        until_shutdown: bool,
    ) -> Result<Vec<u8>, Closed> {
        if self.input_pos >= self.input.len() {
            self.fill(timeout, until_shutdown).await?;
        }
        let end = self.input.len().min(self.input_pos + max);
        let data = self.input[self.input_pos..end].to_vec();
        self.input_pos = end;
        Ok(data)
    }

    /// Whatever input is buffered, or the next bytes read.
    pub async fn read_some(&mut self, timeout: Duration) -> Result<Vec<u8>, Closed> {
        self.data(READ_CHUNK, timeout, false).await
    }

    /// As [`Conn::read_some`], for the first bytes of a command: a stop request ends the
    /// wait with [`Closed::Shutdown`] when nothing is buffered.
    pub async fn read_command_bytes(&mut self, timeout: Duration) -> Result<Vec<u8>, Closed> {
        self.data(READ_CHUNK, timeout, true).await
    }

    /// Gives back the last `count` bytes taken (read past the end of message data).
    pub fn unread(&mut self, count: usize) {
        self.input_pos -= count;
    }

    /// Flushes, drops any input that arrived before the handshake (RFC 3207 §4.2, RFC 2595
    /// §4; CVE-2011-0411) and continues over TLS.
    pub async fn start_tls(&mut self, acceptor: &TlsAcceptor) -> Result<(), Closed> {
        self.flush().await?;
        self.input.clear();
        self.input_pos = 0;
        let plain = self.stream.take().ok_or(Closed::Disconnected)?;
        let tls = tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(plain))
            .await
            .map_err(|_| Closed::Timeout)?
            .map_err(|e| {
                tracing::info!(error = %e, "TLS handshake failed");
                Closed::Disconnected
            })?;
        self.stream = Some(Box::new(tls));
        Ok(())
    }

    /// Flushes what is queued (uncompressed) and continues with the stream compressed both
    /// ways (IMAP COMPRESS=DEFLATE, RFC 4978); input already read goes to the decompressor.
    pub async fn start_deflate(&mut self) -> Result<(), Closed> {
        self.flush().await?;
        let already_read = self.input.split_off(self.input_pos);
        self.input.clear();
        self.input_pos = 0;
        let plain = self.stream.take().ok_or(Closed::Disconnected)?;
        self.stream = Some(Box::new(crate::deflate::DeflateStream::new(
            plain,
            already_read,
        )));
        Ok(())
    }

    /// Flushes what is queued and closes the stream.
    pub async fn close(&mut self) {
        let _ = self.flush().await;
        if let Some(mut stream) = self.stream.take() {
            let _ = stream.shutdown().await;
        }
    }
}
