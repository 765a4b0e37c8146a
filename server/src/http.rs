//! The HTTP listener: `/healthz` (the process answers), `/readyz` (the database and the
//! blob store answer) and `/metrics` (Prometheus, OpenMetrics text). The admin API joins
//! it later.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
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
}

pub fn router(health: Health) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .route("/metrics", get(metrics))
        .with_state(health)
}

async fn ready(State(health): State<Health>) -> (StatusCode, &'static str) {
    if let Err(e) = health.db.ping().await {
        tracing::warn!(error = %e, "readiness: database unreachable");
        return (StatusCode::SERVICE_UNAVAILABLE, "database unreachable\n");
    }
    match health.blobs.open(PROBE_KEY).await {
        Ok(_) | Err(BlobError::NotFound(_)) => (StatusCode::OK, "ready\n"),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: blob store unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "blob store unreachable\n")
        }
    }
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
