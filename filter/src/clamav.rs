//! A clamd client: `INSTREAM` over TCP or a Unix socket, inside `IDSESSION` so that one
//! connection scans many messages (clamd's protocol, `man clamd`).
//!
//! The message is sent from the spool file in chunks (`<4-byte big-endian length><data>`,
//! then a zero-length chunk), never read whole. Past its StreamMaxLength clamd answers
//! `INSTREAM size limit exceeded. ERROR` and closes the connection while we may still be
//! writing: the reply is read even after a write error. A reply of `... ERROR` is a scan
//! error, never a virus and never clean.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpStream, UnixStream};

use crate::FilterError;

/// Bytes of message data per INSTREAM chunk.
const CHUNK: usize = 64 * 1024;
/// A reply longer than this is not clamd's.
const MAX_REPLY: usize = 4096;
/// Idle connections kept for reuse.
const POOL_SIZE: usize = 32;
/// clamd closes a session idle for `IdleTimeout` (30 s by default): reuse only younger ones.
const POOL_IDLE: Duration = Duration::from_secs(20);

/// Where clamd listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClamdAddress {
    Tcp(String),
    Unix(PathBuf),
}

impl ClamdAddress {
    /// `host:port`, or a socket path (anything with a `/`).
    pub fn parse(address: &str) -> Self {
        if address.contains('/') {
            Self::Unix(PathBuf::from(address))
        } else {
            Self::Tcp(address.to_string())
        }
    }
}

/// What clamd said of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClamVerdict {
    Clean,
    /// The signature's name, as clamd reports it (`Test.EICAR.UNOFFICIAL`).
    Virus(String),
    /// The message is longer than clamd's StreamMaxLength.
    Oversize,
    /// clamd answered with an error (the text of its reply).
    Error(String),
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// An open `IDSESSION`.
struct Connection {
    stream: Box<dyn Stream>,
    idle_since: Instant,
}

/// A clamd client with a pool of open sessions.
pub struct Clamd {
    address: ClamdAddress,
    timeout: Duration,
    pool: Mutex<Vec<Connection>>,
}

impl Clamd {
    pub fn new(address: ClamdAddress, timeout: Duration) -> Self {
        Self {
            address,
            timeout,
            pool: Mutex::new(Vec::new()),
        }
    }

    /// Scans the file at `path`. `Err` when clamd cannot be reached or does not answer in
    /// time: the caller's policy for a filter that is down applies.
    pub async fn scan(&self, path: &Path) -> Result<ClamVerdict, FilterError> {
        match tokio::time::timeout(self.timeout, self.scan_pooled(path)).await {
            Ok(result) => result,
            Err(_) => Err(FilterError::Timeout),
        }
    }

    async fn scan_pooled(&self, path: &Path) -> Result<ClamVerdict, FilterError> {
        if let Some(mut reused) = self.take() {
            // A session clamd has closed since shows as an error or an empty reply: the
            // message is sent again on a new one.
            if let Ok(Some(verdict)) = scan_on(&mut reused, path).await {
                self.keep(reused, &verdict);
                return Ok(verdict);
            }
        }
        let mut fresh = self.connect().await?;
        match scan_on(&mut fresh, path).await? {
            Some(verdict) => {
                self.keep(fresh, &verdict);
                Ok(verdict)
            }
            None => Err(FilterError::Unavailable(
                "clamd closed the connection without a reply".into(),
            )),
        }
    }

    /// Is clamd there? (`PING` on a new connection.)
    pub async fn ping(&self) -> Result<(), FilterError> {
        let ping = async {
            let mut stream = self.open().await?;
            stream.write_all(b"zPING\0").await?;
            let reply = read_reply(&mut stream).await?;
            match reply.as_deref() {
                Some("PONG") => Ok(()),
                other => Err(FilterError::Unavailable(format!(
                    "clamd answered PING with {other:?}"
                ))),
            }
        };
        match tokio::time::timeout(self.timeout.min(Duration::from_secs(5)), ping).await {
            Ok(result) => result,
            Err(_) => Err(FilterError::Timeout),
        }
    }

    fn take(&self) -> Option<Connection> {
        let mut pool = self.pool.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(connection) = pool.pop() {
            if connection.idle_since.elapsed() < POOL_IDLE {
                return Some(connection);
            }
        }
        None
    }

    /// Back into the pool after a complete answer; clamd ends the session after errors.
    fn keep(&self, mut connection: Connection, verdict: &ClamVerdict) {
        if !matches!(verdict, ClamVerdict::Clean | ClamVerdict::Virus(_)) {
            return;
        }
        connection.idle_since = Instant::now();
        let mut pool = self.pool.lock().unwrap_or_else(|e| e.into_inner());
        if pool.len() < POOL_SIZE {
            pool.push(connection);
        }
    }

    async fn open(&self) -> Result<Box<dyn Stream>, FilterError> {
        let stream: Box<dyn Stream> = match &self.address {
            ClamdAddress::Tcp(address) => {
                let stream = TcpStream::connect(address).await?;
                stream.set_nodelay(true)?;
                Box::new(stream)
            }
            ClamdAddress::Unix(path) => Box::new(UnixStream::connect(path).await?),
        };
        Ok(stream)
    }

    async fn connect(&self) -> Result<Connection, FilterError> {
        let mut stream = self.open().await?;
        stream.write_all(b"zIDSESSION\0").await?;
        Ok(Connection {
            stream,
            idle_since: Instant::now(),
        })
    }
}

/// One INSTREAM on an open session: `None` when clamd closed it without a reply.
async fn scan_on(
    connection: &mut Connection,
    path: &Path,
) -> Result<Option<ClamVerdict>, FilterError> {
    let stream = &mut connection.stream;
    let mut file = tokio::fs::File::open(path)
        .await
        .map_err(FilterError::Spool)?;
    let sent = send_stream(stream, &mut file).await;
    // Past StreamMaxLength clamd answers and closes: its reply says why the write failed.
    let reply = read_reply(stream).await;
    match (sent, reply) {
        (_, Ok(Some(reply))) => Ok(Some(verdict(&reply))),
        (Err(SendError::Spool(e)), _) => Err(FilterError::Spool(e)),
        (Err(SendError::Socket(e)), _) => Err(e.into()),
        (Ok(()), Ok(None)) => Ok(None),
        (Ok(()), Err(e)) => Err(e.into()),
    }
}

enum SendError {
    Spool(std::io::Error),
    Socket(std::io::Error),
}

async fn send_stream(
    stream: &mut Box<dyn Stream>,
    file: &mut tokio::fs::File,
) -> Result<(), SendError> {
    stream
        .write_all(b"zINSTREAM\0")
        .await
        .map_err(SendError::Socket)?;
    let mut chunk = vec![0u8; CHUNK + 4];
    loop {
        let n = file.read(&mut chunk[4..]).await.map_err(SendError::Spool)?;
        // CHUNK fits in the 4-byte length.
        chunk[..4].copy_from_slice(&(n as u32).to_be_bytes());
        stream
            .write_all(&chunk[..4 + n])
            .await
            .map_err(SendError::Socket)?;
        if n == 0 {
            break;
        }
    }
    stream.flush().await.map_err(SendError::Socket)
}

/// clamd's reply up to its terminating NUL, without the `N: ` of a session; `None` at EOF
/// before any byte.
async fn read_reply(stream: &mut Box<dyn Stream>) -> std::io::Result<Option<String>> {
    let mut reply = Vec::new();
    let mut byte = [0u8; 256];
    loop {
        let n = match stream.read(&mut byte).await {
            Ok(n) => n,
            // A reset after clamd's reply and close still leaves the reply read so far.
            Err(_) if !reply.is_empty() => 0,
            Err(e) => return Err(e),
        };
        if n == 0 {
            break;
        }
        reply.extend_from_slice(&byte[..n]);
        if reply.contains(&0) || reply.len() > MAX_REPLY {
            break;
        }
    }
    if reply.is_empty() {
        return Ok(None);
    }
    let end = reply.iter().position(|&b| b == 0).unwrap_or(reply.len());
    let text = String::from_utf8_lossy(&reply[..end]).trim().to_string();
    Ok(Some(strip_session_id(&text).to_string()))
}

/// `1: stream: OK` → `stream: OK`.
fn strip_session_id(reply: &str) -> &str {
    match reply.split_once(": ") {
        Some((id, rest)) if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => rest,
        _ => reply,
    }
}

/// The verdict in one reply line.
pub fn verdict(reply: &str) -> ClamVerdict {
    let reply = reply.trim_end_matches('\0').trim();
    if let Some(found) = reply.strip_suffix(" FOUND") {
        let name = found.strip_prefix("stream: ").unwrap_or(found).trim();
        return ClamVerdict::Virus(name.to_string());
    }
    if reply.ends_with("ERROR") {
        if reply.contains("size limit exceeded") {
            return ClamVerdict::Oversize;
        }
        return ClamVerdict::Error(reply.to_string());
    }
    if reply == "stream: OK" {
        return ClamVerdict::Clean;
    }
    ClamVerdict::Error(reply.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies() {
        assert_eq!(verdict("stream: OK"), ClamVerdict::Clean);
        assert_eq!(
            verdict("stream: Test.EICAR.UNOFFICIAL FOUND"),
            ClamVerdict::Virus("Test.EICAR.UNOFFICIAL".into())
        );
        assert_eq!(
            verdict("INSTREAM size limit exceeded. ERROR"),
            ClamVerdict::Oversize
        );
        assert!(matches!(
            verdict("stream: Can't allocate memory ERROR"),
            ClamVerdict::Error(_)
        ));
        // Anything unknown is an error, never clean.
        assert!(matches!(verdict("stream: ?"), ClamVerdict::Error(_)));
        assert!(matches!(verdict(""), ClamVerdict::Error(_)));
        assert_eq!(strip_session_id("12: stream: OK"), "stream: OK");
        assert_eq!(strip_session_id("stream: OK"), "stream: OK");
    }

    #[test]
    fn addresses() {
        assert_eq!(
            ClamdAddress::parse("127.0.0.1:3310"),
            ClamdAddress::Tcp("127.0.0.1:3310".into())
        );
        assert_eq!(
            ClamdAddress::parse("/run/clamav/clamd.ctl"),
            ClamdAddress::Unix("/run/clamav/clamd.ctl".into())
        );
    }
}
