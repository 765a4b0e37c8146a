//! The HTTP listener: `/healthz` (the process answers), `/readyz` (the database and the
//! blob store answer) and `/metrics` (Prometheus, OpenMetrics text). The admin console and
//! its API have their own TLS listener (`[listen] admin`, `baedal_admin::web`).

use std::sync::Arc;

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

/// What the endpoints look at.
#[derive(Clone)]
pub struct Health {
    pub db: Database,
    pub blobs: Arc<dyn BlobStore>,
    pub queue: Queue,
    /// The content filters of the current configuration generation.
    pub filters: FilterSlot,
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
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .with_state(health)
}

/// `ready`, then a line per content filter (`rspamd: ok`, `clamav: down (...)`); 503 when
/// the database or the blob store does not answer, or a filter that defers mail while it is
/// down (not `fail_open`) does not.
async fn ready(State(health): State<Health>) -> (StatusCode, String) {
    if let Err(e) = health.db.ping().await {
        tracing::warn!(error = %e, "readiness: database unreachable");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "database unreachable\n".into(),
        );
    }
    if let Err(e) = health.blobs.open(PROBE_KEY).await
        && !matches!(e, BlobError::NotFound(_))
    {
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

async fn metrics(State(health): State<Health>) -> impl IntoResponse {
    // The queue's size and age are read when asked, not kept up to date by every change.
    match (health.queue.waiting().await, health.queue.oldest().await) {
        (Ok(waiting), Ok(oldest)) => {
            let age = oldest.map_or(0, |created| baedal_storage::clock::now_secs() - created);
            baedal_metrics::set_queue(waiting, age);
        }
        (Err(e), _) | (_, Err(e)) => tracing::warn!(error = %e, "metrics: cannot read the queue"),
    }
    (
        [(header::CONTENT_TYPE, baedal_metrics::CONTENT_TYPE)],
        baedal_metrics::encode(),
    )
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
