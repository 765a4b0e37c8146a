//! The spool: where an incoming message is streamed while it arrives, never held whole in
//! memory. A finished spool file is synced and then moved into the blob store.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncWriteExt, BufWriter};

use crate::mailstore::structure::{STRUCTURE_PARSE_LIMIT, structure_json};

/// The header section is cached in the index up to this size.
pub const MAX_CACHED_HEADER: usize = 1024 * 1024;

/// Creates spool files with Maildir-style unique names.
/// Clones share the counter, so their names stay unique.
#[derive(Debug, Clone)]
pub struct Spool {
    dir: PathBuf,
    hostname: String,
    counter: std::sync::Arc<AtomicU64>,
}

impl Spool {
    pub fn new(dir: impl Into<PathBuf>, hostname: &str) -> std::io::Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        // A host name with '/' or ':' would break Maildir names (Maildir convention: \057, \072).
        let hostname = hostname.replace('/', "\\057").replace(':', "\\072");
        Ok(Self {
            dir,
            hostname,
            counter: std::sync::Arc::new(AtomicU64::new(0)),
        })
    }

    /// A new, empty spool file named `{secs}.M{micros}P{pid}Q{n}.{host}`.
    pub async fn create(&self) -> std::io::Result<SpoolFile> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let unique = format!(
            "{}.M{}P{}Q{n}.{}",
            now.as_secs(),
            now.subsec_micros(),
            std::process::id(),
            self.hostname
        );
        self.open(unique, "tmp".into()).await
    }

    /// A new, empty spool file for a rewritten copy of the message `unique`: it keeps the
    /// name (the queue id in the Received header, the logs and the reply stays one).
    pub async fn create_for(&self, unique: &str) -> std::io::Result<SpoolFile> {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        self.open(unique.to_string(), format!("{n}.tmp")).await
    }

    async fn open(&self, unique: String, suffix: String) -> std::io::Result<SpoolFile> {
        let path = self.dir.join(format!("{unique}.{suffix}"));
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .await?;
        Ok(SpoolFile {
            path: Some(path),
            unique,
            file: BufWriter::with_capacity(256 * 1024, file),
            size: 0,
            header: Vec::new(),
            header_complete: false,
            copy: Some(Vec::new()),
        })
    }
}

/// A message being received.
pub struct SpoolFile {
    /// `None` once the file was handed over or removed.
    path: Option<PathBuf>,
    unique: String,
    file: BufWriter<tokio::fs::File>,
    size: u64,
    header: Vec<u8>,
    header_complete: bool,
    /// A copy kept while the message is small enough to parse at delivery.
    copy: Option<Vec<u8>>,
}

impl SpoolFile {
    pub async fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.file.write_all(bytes).await?;
        self.size += bytes.len() as u64;
        if !self.header_complete {
            self.capture_header(bytes);
        }
        if let Some(copy) = &mut self.copy {
            if self.size <= STRUCTURE_PARSE_LIMIT {
                copy.extend_from_slice(bytes);
            } else {
                self.copy = None;
            }
        }
        Ok(())
    }

    /// The Maildir-style unique name, also the message's queue id in logs and replies.
    pub fn unique(&self) -> &str {
        &self.unique
    }

    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    fn capture_header(&mut self, bytes: &[u8]) {
        // Search from a little before the new bytes, for a CRLFCRLF split across writes.
        let from = self.header.len().saturating_sub(3);
        let room = MAX_CACHED_HEADER - self.header.len();
        self.header
            .extend_from_slice(&bytes[..bytes.len().min(room)]);
        if self.header.starts_with(b"\r\n") {
            // No header fields at all: the header section is the empty line.
            self.header.truncate(2);
            self.header_complete = true;
        } else if let Some(end) = find(&self.header[from..], b"\r\n\r\n") {
            self.header.truncate(from + end + 4);
            self.header_complete = true;
        } else if self.header.len() >= MAX_CACHED_HEADER {
            self.header_complete = true;
        }
    }

    /// Flushes and syncs the file: after this the message survives a crash.
    pub async fn finish(self) -> std::io::Result<SpooledMessage> {
        self.finish_with(true).await
    }

    /// Like [`SpoolFile::finish`]; without `sync` the file is not yet durable (a caller
    /// that rewrites it into another spool file syncs that one, or calls
    /// [`SpooledMessage::sync`]).
    pub async fn finish_with(mut self, sync: bool) -> std::io::Result<SpooledMessage> {
        self.file.flush().await?;
        if sync {
            self.file.get_mut().sync_all().await?;
        }
        let copy = self.copy.take();
        let structure = match copy {
            Some(raw) => tokio::task::spawn_blocking(move || structure_json(&raw))
                .await
                .unwrap_or(None),
            None => None,
        };
        Ok(SpooledMessage {
            path: self.path.take(),
            unique: self.unique.clone(),
            size: self.size,
            header: std::mem::take(&mut self.header),
            structure,
        })
    }
}

impl Drop for SpoolFile {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// A complete message in the spool, synced to disk, ready for the blob store.
#[derive(Debug)]
pub struct SpooledMessage {
    path: Option<PathBuf>,
    pub unique: String,
    pub size: u64,
    /// The header section through its blank line (or the first `MAX_CACHED_HEADER` bytes).
    pub header: Vec<u8>,
    /// MIME structure JSON; `None` for messages over the parse limit.
    pub structure: Option<String>,
}

impl SpooledMessage {
    /// Whether `header` is the whole header section (it ends with its empty line, or is the
    /// whole message), not cut at the cache limit.
    pub fn header_complete(&self) -> bool {
        self.header.ends_with(b"\r\n\r\n")
            || self.header == b"\r\n"
            || self.header.len() as u64 == self.size
    }

    /// Makes the file durable (after [`SpoolFile::finish_with`] without sync).
    pub async fn sync(&self) -> std::io::Result<()> {
        tokio::fs::File::open(self.path()).await?.sync_all().await
    }

    pub fn path(&self) -> &Path {
        self.path
            .as_deref()
            .expect("a spooled message has its file until dropped")
    }
}

impl Drop for SpooledMessage {
    /// A message that was not moved into the blob store is removed from the spool.
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn captures_the_header_across_writes_and_syncs() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::new(dir.path(), "mx.example.org").unwrap();
        let mut f = spool.create().await.unwrap();
        for chunk in [&b"Subject: a\r\nFrom: b@c.d\r"[..], b"\n\r", b"\nbody\r\n"] {
            f.write(chunk).await.unwrap();
        }
        let m = f.finish().await.unwrap();
        assert_eq!(m.header, b"Subject: a\r\nFrom: b@c.d\r\n\r\n");
        assert_eq!(m.size, 33);
        assert_eq!(std::fs::read(m.path()).unwrap().len(), 33);
        assert!(m.structure.is_some());
        assert!(m.unique.ends_with(".mx.example.org"));
        let path = m.path().to_path_buf();
        drop(m);
        assert!(!path.exists(), "an undelivered spool file is removed");
    }

    #[tokio::test]
    async fn an_abandoned_spool_file_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let spool = Spool::new(dir.path(), "h").unwrap();
        let mut f = spool.create().await.unwrap();
        f.write(b"partial").await.unwrap();
        drop(f);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
