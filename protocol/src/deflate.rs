//! A stream compressed both ways with raw DEFLATE (RFC 1951), as IMAP COMPRESS=DEFLATE
//! (RFC 4978) needs: every flush ends with a sync flush (RFC 4978 §4: the client must be
//! able to decompress each response completely when it arrives, never waiting on a partial
//! block), and memory per connection is fixed: one compressor and one decompressor (a 32 KiB
//! window each) and two buffers of at most [`CHUNK`] bytes beyond what the caller hands in.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::stream::BoxStream;

/// Compressed bytes read or written at a time.
const CHUNK: usize = 16 * 1024;

pub struct DeflateStream {
    inner: BoxStream,
    deflate: Compress,
    inflate: Decompress,
    /// Compressed input not yet inflated, from `input_pos`.
    input: Vec<u8>,
    input_pos: usize,
    /// Compressed output not yet written, from `output_pos`.
    output: Vec<u8>,
    output_pos: usize,
    /// The peer's stream ended (or its DEFLATE stream did).
    eof: bool,
    /// Uncompressed bytes taken in when the last sync flush was made.
    flushed_in: u64,
}

impl DeflateStream {
    /// Wraps `inner`; `already_read` are bytes the peer sent after its COMPRESS command that
    /// were read before compression started (they are compressed already).
    pub fn new(inner: BoxStream, already_read: Vec<u8>) -> Self {
        Self {
            inner,
            // Level 6 (zlib's default) compresses IMAP listings ~5:1 at little CPU.
            deflate: Compress::new(Compression::new(6), false),
            inflate: Decompress::new(false),
            input: already_read,
            input_pos: 0,
            output: Vec::with_capacity(CHUNK),
            output_pos: 0,
            eof: false,
            flushed_in: 0,
        }
    }

    /// Compresses `data` (all of it) into `output` with `flush`.
    fn compress(&mut self, mut data: &[u8], flush: FlushCompress) -> io::Result<()> {
        loop {
            if self.output.capacity() - self.output.len() < 64 {
                self.output.reserve(CHUNK);
            }
            let before_in = self.deflate.total_in();
            let before_out = self.deflate.total_out();
            self.deflate
                .compress_vec(data, &mut self.output, flush)
                .map_err(io::Error::other)?;
            let consumed = (self.deflate.total_in() - before_in) as usize;
            let produced = (self.deflate.total_out() - before_out) as usize;
            data = &data[consumed..];
            // Done when all input is taken and the compressor had room to spare (a full
            // buffer may hold back more output of a sync flush).
            let room_left = self.output.len() < self.output.capacity();
            if data.is_empty() && (room_left || produced == 0) {
                return Ok(());
            }
        }
    }

    /// Writes what is compressed to the inner stream.
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.output_pos < self.output.len() {
            let n =
                ready!(Pin::new(&mut self.inner).poll_write(cx, &self.output[self.output_pos..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.output_pos += n;
        }
        self.output.clear();
        self.output_pos = 0;
        // Keep the buffer bounded after a large response.
        if self.output.capacity() > 4 * CHUNK {
            self.output.shrink_to(CHUNK);
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncRead for DeflateStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            if this.input_pos < this.input.len() {
                let before_in = this.inflate.total_in();
                let before_out = this.inflate.total_out();
                let status = this
                    .inflate
                    .decompress(
                        &this.input[this.input_pos..],
                        buf.initialize_unfilled(),
                        FlushDecompress::Sync,
                    )
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                let consumed = (this.inflate.total_in() - before_in) as usize;
                let produced = (this.inflate.total_out() - before_out) as usize;
                this.input_pos += consumed;
                if this.input_pos == this.input.len() {
                    this.input.clear();
                    this.input_pos = 0;
                }
                buf.advance(produced);
                if status == Status::StreamEnd {
                    this.eof = true;
                }
                if produced > 0 || this.eof {
                    return Poll::Ready(Ok(()));
                }
                if consumed > 0 {
                    continue;
                }
                // Neither input taken nor output made: the rest of a block is still to come.
            }
            if this.eof {
                return Poll::Ready(Ok(()));
            }
            let mut chunk = [0u8; CHUNK];
            let mut raw = ReadBuf::new(&mut chunk);
            ready!(Pin::new(&mut this.inner).poll_read(cx, &mut raw))?;
            if raw.filled().is_empty() {
                this.eof = true;
                return Poll::Ready(Ok(()));
            }
            this.input.extend_from_slice(raw.filled());
        }
    }
}

impl AsyncWrite for DeflateStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        // Backpressure: what was compressed before goes out first once it is a chunk.
        if this.output.len() - this.output_pos >= CHUNK {
            ready!(this.poll_drain(cx))?;
        }
        let take = data.len().min(CHUNK);
        this.compress(&data[..take], FlushCompress::None)?;
        Poll::Ready(Ok(take))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        // A sync flush after every batch of responses; a second one with nothing new in
        // between would only add an empty block, so it is skipped when all is written.
        if this.deflate.total_in() != this.flushed_in {
            this.compress(&[], FlushCompress::Sync)?;
            this.flushed_in = this.deflate.total_in();
        }
        ready!(this.poll_drain(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.as_mut().poll_flush(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Each flushed response arrives whole at the other end, readable at once without
    /// waiting for more: the sync flush (RFC 4978 §4). Client and server both deflate.
    #[tokio::test]
    async fn every_flush_is_readable_at_once() {
        let (a, b) = tokio::io::duplex(1 << 20);
        let mut server = DeflateStream::new(Box::new(a), Vec::new());
        let mut client = DeflateStream::new(Box::new(b), Vec::new());
        for i in 0..50 {
            let line = format!("* {i} FETCH (FLAGS (\\Seen) UID {i})\r\n").repeat(i % 7 + 1);
            server.write_all(line.as_bytes()).await.unwrap();
            server.flush().await.unwrap();
            let mut got = vec![0u8; line.len()];
            tokio::time::timeout(
                std::time::Duration::from_secs(2),
                client.read_exact(&mut got),
            )
            .await
            .expect("a flushed response must not wait for more data")
            .unwrap();
            assert_eq!(got, line.as_bytes());
            client
                .write_all(format!("a{i} NOOP\r\n").as_bytes())
                .await
                .unwrap();
            client.flush().await.unwrap();
            let mut command = vec![0u8; format!("a{i} NOOP\r\n").len()];
            server.read_exact(&mut command).await.unwrap();
            assert_eq!(command, format!("a{i} NOOP\r\n").as_bytes());
        }
        // A large response (bigger than the buffers) goes through intact.
        let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let writer = tokio::spawn(async move {
            server.write_all(&big).await.unwrap();
            server.flush().await.unwrap();
            big
        });
        let mut got = vec![0u8; 3_000_000];
        client.read_exact(&mut got).await.unwrap();
        assert_eq!(got, writer.await.unwrap());
    }

    #[tokio::test]
    async fn garbage_is_an_error_not_a_panic() {
        let (a, mut b) = tokio::io::duplex(1024);
        let mut server = DeflateStream::new(Box::new(a), Vec::new());
        b.write_all(&[0xff; 64]).await.unwrap();
        let mut buf = [0u8; 64];
        assert!(server.read(&mut buf).await.is_err());
    }
}
