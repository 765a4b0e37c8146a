//! The HTTP listener: `/healthz` (the process answers) and `/readyz` (the database answers).
//! Metrics and the admin API join it later.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use baedal_storage::Database;
use tokio::net::TcpListener;
use tokio::sync::watch;

pub fn router(db: Database) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(ready))
        .with_state(db)
}

async fn ready(State(db): State<Database>) -> (StatusCode, &'static str) {
    match db.ping().await {
        Ok(()) => (StatusCode::OK, "ready\n"),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable\n")
        }
    }
}

/// Serves until `shutdown` turns true.
pub async fn serve(listener: TcpListener, db: Database, mut shutdown: watch::Receiver<bool>) {
    let result = axum::serve(listener, router(db))
        .with_graceful_shutdown(async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
        })
        .await;
    if let Err(e) = result {
        tracing::error!(error = %e, "http listener failed");
    }
}
