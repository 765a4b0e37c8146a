//! The MTA-STS policy of each local domain (RFC 8461 §3.2), served on the HTTP listener as
//! `GET /.well-known/mta-sts.txt` for `Host: mta-sts.DOMAIN` (the site's HTTPS proxy
//! terminates TLS with a certificate for that name, as §3.3 requires). The policy names
//! `[autoconfig] host` as the one MX; `[mta_sts] mode` and `max_age` are the site's.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use baedal_storage::address::DomainName;

use crate::autoconfig::Autoconfig;

pub fn routes(state: Autoconfig) -> Router {
    Router::new()
        .route("/.well-known/mta-sts.txt", get(policy))
        .with_state(state)
}

/// RFC 8461 §3.2: `version`, `mode`, `mx`, `max_age`, CRLF line ends, text/plain.
async fn policy(State(state): State<Autoconfig>, headers: HeaderMap) -> Response {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| h.rsplit_once(':').map_or(h, |(name, _)| name))
        .unwrap_or("");
    let Some(domain) = host
        .to_ascii_lowercase()
        .strip_prefix("mta-sts.")
        .and_then(|d| DomainName::parse(d).ok())
    else {
        return (StatusCode::NOT_FOUND, "ask for mta-sts.DOMAIN\n").into_response();
    };
    match state.directory.domain(&domain).await {
        Ok(Some(d)) if d.is_active => {}
        Ok(_) => return (StatusCode::NOT_FOUND, "not a domain of this server\n").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "mta-sts: cannot read the directory");
            return (StatusCode::SERVICE_UNAVAILABLE, "try again later\n").into_response();
        }
    }
    let s = &state.settings;
    let body = format!(
        "version: STSv1\r\nmode: {}\r\nmx: {}\r\nmax_age: {}\r\n",
        s.mta_sts_mode,
        s.host.trim_end_matches('.'),
        s.mta_sts_max_age
    );
    ([(header::CONTENT_TYPE, "text/plain")], body).into_response()
}
