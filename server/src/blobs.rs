//! The configured blob store: Maildir files under the data dir, or an S3 bucket.

use std::sync::Arc;

use baedal_storage::{BlobStore, FsBlobStore, S3BlobStore, S3Settings};

use crate::config::{Config, StorageBackend};

/// The store of message objects. For S3 the bucket is created when missing; an unreachable
/// S3 at start is logged, not fatal: deliveries answer 451 until it returns.
pub async fn open(config: &Config, create_bucket: bool) -> Arc<dyn BlobStore> {
    match config.storage.backend {
        StorageBackend::Fs => Arc::new(FsBlobStore::new(config.mail_dir())),
        StorageBackend::S3 => {
            let s3 = &config.storage.s3;
            let store = S3BlobStore::new(&S3Settings {
                endpoint: s3.endpoint.clone(),
                region: s3.region.clone(),
                bucket: s3.bucket.clone(),
                access_key: s3.access_key.clone(),
                secret_key: s3.secret_key.clone(),
            });
            if create_bucket && let Err(e) = store.ensure_bucket().await {
                tracing::warn!(endpoint = %s3.endpoint, bucket = %s3.bucket, error = %e, "S3 bucket not reachable yet");
            }
            Arc::new(store)
        }
    }
}
