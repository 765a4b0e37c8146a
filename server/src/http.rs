//! The HTTP listener: `/healthz` (the process answers), `/readyz` (the database and the
//! blob store answer) and `/metrics` (Prometheus, OpenMetrics text). The admin console and
//! its API have their own TLS listener (`[listen] admin`, `baedal_admin::web`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use baedal_filter::ContentFilters;
use baedal_storage::{BlobError, BlobStore, Database, Queue};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// A key no message has: reading it proves the blob store answers (`NotFound` is an answer).
const PROBE_KEY: &str = "readyz/probe";
/// How long a probe for `/metrics` may take before its backend counts as down (below
/// Prometheus's default scrape timeout of 10 s).
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// What the endpoints look at.
#[derive(Clone)]
pub struct Health {
    pub db: Database,
    pub blobs: Arc<dyn BlobStore>,
    pub queue: Queue,
    /// The content filters of the current configuration generation.
    pub filters: FilterSlot,
    /// Client autoconfiguration (`crate::autoconfig`), when `[autoconfig] enabled`.
    pub autoconfig: Option<crate::autoconfig::Autoconfig>,
    /// The directories whose free space `/metrics` shows: `("data", dir)`, `("spool", dir)`.
    pub dirs: Vec<(&'static str, PathBuf)>,
}

/// The current generation's content filters, replaced at each reload.
#[derive(Clone, Default)]
pub struct FilterSlot(Arc<std::sync::RwLock<Option<Arc<ContentFilters>>>>);

impl FilterSlot {
    pub fn set(&self, filters: Option<Arc<ContentFilters>>) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = filters;
    }

    fn get(&self) -> Option<Arc<ContentFilters>> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

pub fn router(health: Health) -> Router {
    let autoconfig = health.autoconfig.clone();
    let router = Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .route("/status", get(status))
        .with_state(health);
    match autoconfig {
        Some(state) => router
            .merge(crate::mta_sts::routes(state.clone()))
            .merge(crate::autoconfig::routes(state)),
        None => router,
    }
}

/// `ready`, then a line per content filter (`rspamd: ok`, `clamav: down (...)`); 503 when
/// the database or the blob store does not answer, or a filter that defers mail while it is
/// down (not `fail_open`) does not.
async fn ready(State(health): State<Health>) -> (StatusCode, String) {
    if let Err(e) = probe_database(&health).await {
        tracing::warn!(error = %e, "readiness: database unreachable");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "database unreachable\n".into(),
        );
    }
    if let Err(e) = probe_blobs(&health).await {
        tracing::warn!(error = %e, "readiness: blob store unreachable");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "blob store unreachable\n".into(),
        );
    }
    let filters = match health.filters.get() {
        Some(filters) => filters.health().await,
        None => Vec::new(),
    };
    let mut status = StatusCode::OK;
    let mut details = String::new();
    for filter in &filters {
        match &filter.error {
            None => details.push_str(&format!("{}: ok\n", filter.filter)),
            Some(error) => {
                tracing::warn!(filter = filter.filter, %error, "readiness: content filter unreachable");
                let effect = if filter.fail_open {
                    "mail delivered unscanned"
                } else {
                    status = StatusCode::SERVICE_UNAVAILABLE;
                    "mail deferred"
                };
                details.push_str(&format!("{}: down ({error}; {effect})\n", filter.filter));
            }
        }
    }
    let head = if status == StatusCode::OK {
        "ready"
    } else {
        "not ready"
    };
    (status, format!("{head}\n{details}"))
}

/// `/status` (`baedal status`): what `crate::status` describes.
async fn status(State(health): State<Health>) -> impl IntoResponse {
    let (code, readiness) = ready(State(health.clone())).await;
    let queue = match (health.queue.waiting().await, health.queue.oldest().await) {
        (Ok(waiting), Ok(oldest)) => Some(crate::status::QueueStatus {
            waiting,
            oldest_age_seconds: oldest
                .map_or(0, |created| baedal_storage::clock::now_secs() - created),
        }),
        _ => None,
    };
    let (database, blob_store) = tokio::join!(
        timed_probe("database", probe_database(&health)),
        timed_probe("blob_store", probe_blobs(&health))
    );
    let report = crate::status::Report {
        version: env!("CARGO_PKG_VERSION").to_string(),
        ready: code == StatusCode::OK,
        readiness,
        uptime_seconds: crate::status::uptime_seconds(),
        listeners: crate::status::listeners(),
        queue,
        ldap_sync: crate::status::last_ldap_sync(),
        database,
        blob_store,
    };
    axum::Json(report)
}

/// A probe's outcome and time, bounded by [`PROBE_TIMEOUT`].
async fn timed(probe: impl Future<Output = Result<(), String>>) -> crate::status::Backend {
    let started = Instant::now();
    let result = tokio::time::timeout(PROBE_TIMEOUT, probe)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {PROBE_TIMEOUT:?}")));
    crate::status::Backend {
        ok: result.is_ok(),
        millis: started.elapsed().as_millis() as u64,
        error: result.err(),
    }
}

/// One `SELECT 1`.
async fn probe_database(health: &Health) -> Result<(), String> {
    health.db.ping().await.map_err(|e| e.to_string())
}

/// Reads a key no message has: `NotFound` is an answer.
async fn probe_blobs(health: &Health) -> Result<(), String> {
    match health.blobs.open(PROBE_KEY).await {
        Ok(_) | Err(BlobError::NotFound(_)) => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}

async fn metrics(State(health): State<Health>) -> impl IntoResponse {
    // The queue's size and age, the backends and the disks are read when asked, not kept
    // up to date by every change.
    match (health.queue.waiting().await, health.queue.oldest().await) {
        (Ok(waiting), Ok(oldest)) => {
            let age = oldest.map_or(0, |created| baedal_storage::clock::now_secs() - created);
            baedal_metrics::set_queue(waiting, age);
        }
        (Err(e), _) | (_, Err(e)) => tracing::warn!(error = %e, "metrics: cannot read the queue"),
    }
    tokio::join!(
        timed_probe("database", probe_database(&health)),
        timed_probe("blob_store", probe_blobs(&health)),
        record_disks(health.dirs.clone()),
    );
    (
        [(header::CONTENT_TYPE, baedal_metrics::CONTENT_TYPE)],
        baedal_metrics::encode(),
    )
}

/// Runs a probe of `backend` for at most [`PROBE_TIMEOUT`] and records its outcome.
async fn timed_probe(
    backend: &'static str,
    probe: impl Future<Output = Result<(), String>>,
) -> crate::status::Backend {
    let outcome = timed(probe).await;
    if let Some(e) = &outcome.error {
        tracing::warn!(backend, error = %e, "backend probe failed");
    }
    baedal_metrics::set_backend(backend, outcome.ok, Duration::from_millis(outcome.millis));
    outcome
}

/// The free space and size of each directory's file system (statvfs, off the runtime).
async fn record_disks(dirs: Vec<(&'static str, PathBuf)>) {
    let measure = tokio::task::spawn_blocking(move || {
        dirs.into_iter()
            .map(|(name, dir)| (name, rustix::fs::statvfs(&dir)))
            .collect::<Vec<_>>()
    });
    let Ok(Ok(measured)) = tokio::time::timeout(PROBE_TIMEOUT, measure).await else {
        tracing::warn!("metrics: no answer from statvfs");
        return;
    };
    for (name, result) in measured {
        match result {
            Ok(fs) => baedal_metrics::set_disk(
                name,
                fs.f_bavail.saturating_mul(fs.f_frsize),
                fs.f_blocks.saturating_mul(fs.f_frsize),
            ),
            Err(e) => tracing::warn!(dir = name, error = %e, "metrics: cannot read free space"),
        }
    }
}

/// Serves until `shutdown` turns true.
pub async fn serve(listener: TcpListener, health: Health, mut shutdown: watch::Receiver<bool>) {
    let result = axum::serve(listener, router(health))
        .with_graceful_shutdown(async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
        })
        .await;
    if let Err(e) = result {
        tracing::error!(error = %e, "http listener failed");
    }
}
