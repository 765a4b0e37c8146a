//! Message objects: immutable blobs under Maildir-style keys.
//!
//! A key is `{domain}/{localpart}/Maildir/cur/{unique},S={size}` (DESIGN: storage layout).
//! A message for several local recipients is stored once, under the first recipient's
//! Maildir; the index points every recipient's copy at that one blob. Blobs never change:
//! flags and folders live in the index.

mod fs;
mod s3;

use std::path::Path;

use async_trait::async_trait;
use tokio::io::AsyncRead;

pub use fs::FsBlobStore;
pub use s3::{S3BlobStore, S3Settings};

#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    #[error("blob {0} not found")]
    NotFound(String),
    #[error("blob store I/O on {key}: {source}")]
    Io {
        key: String,
        #[source]
        source: std::io::Error,
    },
}

/// A readable blob.
pub type BlobReader = Box<dyn AsyncRead + Send + Unpin>;

#[async_trait]
pub trait BlobStore: Send + Sync + std::fmt::Debug {
    /// Moves a complete spool file (already synced to disk) into the store under `key`.
    /// When this returns, the blob is durable.
    async fn put_file(&self, key: &str, spool_file: &Path) -> Result<(), BlobError>;

    /// Opens a blob for reading from its start.
    async fn open(&self, key: &str) -> Result<BlobReader, BlobError>;

    /// Opens a blob for reading from byte `offset` (partial fetches).
    async fn open_from(&self, key: &str, offset: u64) -> Result<BlobReader, BlobError>;

    /// Removes a blob; removing a missing blob is not an error.
    async fn delete(&self, key: &str) -> Result<(), BlobError>;

    /// Every blob in the store, with its last modification (seconds since the epoch).
    async fn list(&self) -> Result<Vec<BlobInfo>, BlobError>;
}

/// Stores a synced spool file under `key`: moved when `last_use`, otherwise as a synced copy
/// (named with `copy_extension` beside it), so that the spool file stays for its other uses
/// (local delivery, the queue, the quarantine). When this returns, the blob is durable.
pub async fn put_spool_file(
    blobs: &dyn BlobStore,
    key: &str,
    spool_file: &Path,
    last_use: bool,
    copy_extension: &str,
) -> Result<(), BlobError> {
    if last_use {
        return blobs.put_file(key, spool_file).await;
    }
    let io = |source| BlobError::Io {
        key: key.to_string(),
        source,
    };
    let copy = spool_file.with_extension(copy_extension);
    let copied = async {
        tokio::fs::copy(spool_file, &copy).await?;
        tokio::fs::File::open(&copy).await?.sync_all().await
    }
    .await;
    let stored = match copied {
        Ok(()) => blobs.put_file(key, &copy).await,
        Err(e) => Err(io(e)),
    };
    let _ = tokio::fs::remove_file(&copy).await;
    stored
}

/// One stored object, as `list` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobInfo {
    pub key: String,
    pub modified: i64,
}

/// The key of a new message object in `maildir` (a user's `{domain}/{localpart}/Maildir/`).
pub fn message_key(maildir: &str, unique: &str, size: u64) -> String {
    format!("{}/cur/{unique},S={size}", maildir.trim_end_matches('/'))
}
