//! The S3 blob store (MinIO or any S3): the same keys as the filesystem, as object keys in
//! one bucket (`s3://mailboxes/{domain}/{localpart}/Maildir/cur/...`), path-style addressing.
//! Large messages go up in parts; reads from an offset use ranged GETs; every request has a
//! timeout and bounded retries with backoff (the SDK's standard retry policy).

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};

use super::{BlobError, BlobInfo, BlobReader, BlobStore};

/// Objects larger than this are uploaded in parts.
pub const MULTIPART_THRESHOLD: u64 = 32 * 1024 * 1024;
/// The size of each part (S3 needs at least 5 MiB but for the last).
pub const PART_SIZE: u64 = 16 * 1024 * 1024;
/// Attempts per request, the first included.
const MAX_ATTEMPTS: u32 = 4;

/// Where the bucket is and who we are to it.
#[derive(Debug, Clone)]
pub struct S3Settings {
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    pub access_key: String,
    pub secret_key: String,
}

#[derive(Debug, Clone)]
pub struct S3BlobStore {
    client: Client,
    bucket: String,
}

fn failed(key: &str, e: impl std::fmt::Display) -> BlobError {
    BlobError::Io {
        key: key.to_string(),
        source: std::io::Error::other(e.to_string()),
    }
}

impl S3BlobStore {
    pub fn new(settings: &S3Settings) -> Self {
        // rustls with ring: the one crypto provider of the process.
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .http_client(http)
            .endpoint_url(&settings.endpoint)
            .region(Region::new(settings.region.clone()))
            .credentials_provider(Credentials::new(
                &settings.access_key,
                &settings.secret_key,
                None,
                None,
                "baedal-config",
            ))
            .force_path_style(true)
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(MAX_ATTEMPTS)
                    .with_initial_backoff(Duration::from_millis(200)),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .read_timeout(Duration::from_secs(60))
                    .operation_attempt_timeout(Duration::from_secs(120))
                    .build(),
            )
            .build();
        Self {
            client: Client::from_conf(config),
            bucket: settings.bucket.clone(),
        }
    }

    /// Creates the bucket when it does not exist (first start, tests).
    pub async fn ensure_bucket(&self) -> Result<(), BlobError> {
        if self
            .client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .is_ok()
        {
            return Ok(());
        }
        self.client
            .create_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map_err(|e| failed(&self.bucket, aws_sdk_s3::error::DisplayErrorContext(e)))?;
        Ok(())
    }

    async fn put_multipart(&self, key: &str, path: &Path, size: u64) -> Result<(), BlobError> {
        let upload = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| failed(key, aws_sdk_s3::error::DisplayErrorContext(e)))?;
        let upload_id = upload.upload_id().unwrap_or_default().to_string();
        let result = async {
            let mut parts = Vec::new();
            let mut offset = 0u64;
            let mut number = 1i32;
            while offset < size {
                let length = PART_SIZE.min(size - offset);
                let body = ByteStream::read_from()
                    .path(path)
                    .offset(offset)
                    .length(aws_sdk_s3::primitives::Length::Exact(length))
                    .build()
                    .await
                    .map_err(|e| failed(key, e))?;
                let part = self
                    .client
                    .upload_part()
                    .bucket(&self.bucket)
                    .key(key)
                    .upload_id(&upload_id)
                    .part_number(number)
                    .body(body)
                    .send()
                    .await
                    .map_err(|e| failed(key, aws_sdk_s3::error::DisplayErrorContext(e)))?;
                parts.push(
                    CompletedPart::builder()
                        .part_number(number)
                        .set_e_tag(part.e_tag().map(str::to_string))
                        .build(),
                );
                offset += length;
                number += 1;
            }
            self.client
                .complete_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(&upload_id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(parts))
                        .build(),
                )
                .send()
                .await
                .map_err(|e| failed(key, aws_sdk_s3::error::DisplayErrorContext(e)))?;
            Ok(())
        }
        .await;
        if result.is_err() {
            let _ = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(&upload_id)
                .send()
                .await;
        }
        result
    }
}

#[async_trait]
impl BlobStore for S3BlobStore {
    async fn put_file(&self, key: &str, spool_file: &Path) -> Result<(), BlobError> {
        let size = tokio::fs::metadata(spool_file)
            .await
            .map_err(|e| failed(key, e))?
            .len();
        if size > MULTIPART_THRESHOLD {
            self.put_multipart(key, spool_file, size).await?;
        } else {
            let body = ByteStream::from_path(spool_file)
                .await
                .map_err(|e| failed(key, e))?;
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(key)
                .body(body)
                .send()
                .await
                .map_err(|e| failed(key, aws_sdk_s3::error::DisplayErrorContext(e)))?;
        }
        // The object is durable in the store: the spool copy is no longer needed.
        let _ = tokio::fs::remove_file(spool_file).await;
        Ok(())
    }

    async fn open(&self, key: &str) -> Result<BlobReader, BlobError> {
        self.open_from(key, 0).await
    }

    async fn open_from(&self, key: &str, offset: u64) -> Result<BlobReader, BlobError> {
        let mut get = self.client.get_object().bucket(&self.bucket).key(key);
        if offset > 0 {
            get = get.range(format!("bytes={offset}-"));
        }
        match get.send().await {
            Ok(object) => Ok(Box::new(object.body.into_async_read())),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => {
                Err(BlobError::NotFound(key.to_string()))
            }
            Err(e) => Err(failed(key, aws_sdk_s3::error::DisplayErrorContext(e))),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| failed(key, aws_sdk_s3::error::DisplayErrorContext(e)))?;
        Ok(())
    }

    async fn list(&self) -> Result<Vec<BlobInfo>, BlobError> {
        let mut found = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page =
                page.map_err(|e| failed(&self.bucket, aws_sdk_s3::error::DisplayErrorContext(e)))?;
            for object in page.contents() {
                if let Some(key) = object.key() {
                    found.push(BlobInfo {
                        key: key.to_string(),
                        modified: object.last_modified().map(|t| t.secs()).unwrap_or(0),
                    });
                }
            }
        }
        Ok(found)
    }
}
