//! The filesystem blob store: blobs are files under `DATA_DIR/mail/`, so the tree is a set of
//! ordinary Maildirs an operator can browse.

use std::path::{Path, PathBuf};

use async_trait::async_trait;

use super::{BlobError, BlobInfo, BlobReader, BlobStore};

#[derive(Debug, Clone)]
pub struct FsBlobStore {
    root: PathBuf,
}

impl FsBlobStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file of a key. Keys come from the index, never from a peer, but a key with `..`
    /// is refused all the same.
    fn path(&self, key: &str) -> Result<PathBuf, BlobError> {
        if key.split('/').any(|c| c == ".." || c.is_empty()) {
            return Err(BlobError::NotFound(key.to_string()));
        }
        Ok(self.root.join(key))
    }
}

fn io(key: &str) -> impl FnOnce(std::io::Error) -> BlobError + '_ {
    move |source| BlobError::Io {
        key: key.to_string(),
        source,
    }
}

#[async_trait]
impl BlobStore for FsBlobStore {
    async fn put_file(&self, key: &str, spool_file: &Path) -> Result<(), BlobError> {
        let target = self.path(key)?;
        let spool_file = spool_file.to_path_buf();
        let key_owned = key.to_string();
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            let cur = target.parent().expect("a key has a directory");
            if !cur.exists() {
                // A complete Maildir: cur/ plus the new/ and tmp/ other tools expect.
                if let Some(maildir) = cur.parent() {
                    for sub in ["new", "tmp"] {
                        std::fs::create_dir_all(maildir.join(sub))?;
                    }
                }
                std::fs::create_dir_all(cur)?;
            }
            std::fs::rename(&spool_file, &target)?;
            // The rename is durable once the directory is synced.
            std::fs::File::open(cur)?.sync_all()
        })
        .await
        .map_err(|e| BlobError::Io {
            key: key_owned.clone(),
            source: std::io::Error::other(e),
        })?
        .map_err(io(key))
    }

    async fn open(&self, key: &str) -> Result<BlobReader, BlobError> {
        self.open_from(key, 0).await
    }

    async fn open_from(&self, key: &str, offset: u64) -> Result<BlobReader, BlobError> {
        use tokio::io::AsyncSeekExt;
        match tokio::fs::File::open(self.path(key)?).await {
            Ok(mut file) => {
                if offset > 0 {
                    file.seek(std::io::SeekFrom::Start(offset))
                        .await
                        .map_err(io(key))?;
                }
                Ok(Box::new(file))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(BlobError::NotFound(key.to_string()))
            }
            Err(e) => Err(io(key)(e)),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        match tokio::fs::remove_file(self.path(key)?).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(key)(e)),
            _ => Ok(()),
        }
    }

    async fn list(&self) -> Result<Vec<BlobInfo>, BlobError> {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || {
            let mut found = Vec::new();
            let mut dirs = vec![root.clone()];
            while let Some(dir) = dirs.pop() {
                let entries = match std::fs::read_dir(&dir) {
                    Ok(entries) => entries,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e),
                };
                for entry in entries {
                    let entry = entry?;
                    let meta = entry.metadata()?;
                    if meta.is_dir() {
                        dirs.push(entry.path());
                    } else if let Ok(key) = entry.path().strip_prefix(&root) {
                        let modified = meta
                            .modified()
                            .ok()
                            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                            .map(|d| d.as_secs() as i64)
                            .unwrap_or(0);
                        found.push(BlobInfo {
                            key: key.to_string_lossy().into_owned(),
                            modified,
                        });
                    }
                }
            }
            Ok(found)
        })
        .await
        .map_err(|e| BlobError::Io {
            key: String::new(),
            source: std::io::Error::other(e),
        })?
        .map_err(io(""))
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::AsyncReadExt;

    use super::*;

    #[tokio::test]
    async fn put_moves_the_spool_file_into_a_maildir() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsBlobStore::new(dir.path().join("mail"));
        let spool = dir.path().join("spool-1");
        std::fs::write(&spool, b"Subject: hi\r\n\r\nbody\r\n").unwrap();
        let key = "example.org/alice/Maildir/cur/1.M2P3.host,S=21";
        store.put_file(key, &spool).await.unwrap();
        assert!(!spool.exists());
        assert!(
            dir.path()
                .join("mail/example.org/alice/Maildir/new")
                .is_dir()
        );
        let mut text = String::new();
        store
            .open(key)
            .await
            .unwrap()
            .read_to_string(&mut text)
            .await
            .unwrap();
        assert_eq!(text, "Subject: hi\r\n\r\nbody\r\n");
        store.delete(key).await.unwrap();
        store.delete(key).await.unwrap();
        assert!(matches!(store.open(key).await, Err(BlobError::NotFound(_))));
        assert!(store.open("../etc/passwd").await.is_err());
    }
}
