//! The web console and the JSON API, on their own TLS listener (`[listen] admin`). Both are
//! thin faces over [`crate::ops`]: they read a request into an operation's input, act as the
//! logged-in administrator ([`crate::ops::Actor`]) and show the result.
//!
//! # Layout
//! - [`Console`]: the shared state (the admin context, the settings, the clock, the token
//!   keys) and [`Console::router`].
//! - `serve`: the TLS accept loop; each connection carries its client address.
//! - `allow`: the IP allowlist; `clock`: "now", injectable; `totp`: RFC 6238; `token`: JWT.
//! - `session`: the cookie, CSRF and the idle/absolute expiry; `login`: password, TOTP,
//!   enrolment and the throttle.
//! - `api`: `/api/v1/`; `error`: the JSON errors and their HTTP statuses.
//! - `html`, `i18n`: page layout with escaping, and the Korean/English texts; `pages`: the
//!   console's pages.

pub mod allow;
mod api;
pub mod clock;
mod error;
mod html;
mod i18n;
mod login;
mod pages;
mod serve;
mod session;
pub mod token;
pub mod totp;

use std::net::IpAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use rand::RngCore;

pub use allow::AllowList;
pub use clock::{Clock, PausedClock, SystemClock};
pub use serve::serve;

use crate::{AdminContext, AdminError};

/// `[admin]` as the console uses it.
#[derive(Debug, Clone)]
pub struct WebConfig {
    pub allow: AllowList,
    pub session_idle_secs: i64,
    pub session_max_secs: i64,
    pub token_secs: i64,
    /// The site's time zone, seconds east of UTC (dates on pages and in CSV).
    pub tz_offset_secs: i64,
    /// Failed logins (password or code) per account, and per client address, within
    /// `failure_window_secs`, before logins are refused with 429.
    pub failures_per_account: i64,
    pub failures_per_ip: i64,
    pub failure_window_secs: i64,
    /// The name authenticator apps show (the server's host name).
    pub issuer: String,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            allow: AllowList::loopback(),
            session_idle_secs: 30 * 60,
            session_max_secs: 12 * 3600,
            token_secs: 15 * 60,
            tz_offset_secs: 0,
            failures_per_account: 5,
            failures_per_ip: 20,
            failure_window_secs: 15 * 60,
            issuer: "Baedal".into(),
        }
    }
}

/// The console's shared state.
#[derive(Clone)]
pub struct Console(Arc<Inner>);

struct Inner {
    ctx: AdminContext,
    config: WebConfig,
    clock: Arc<dyn Clock>,
    tokens: token::TokenKeys,
    /// The server's counters, sampled each minute for the dashboard's hourly figures.
    history: std::sync::Mutex<std::collections::VecDeque<(i64, baedal_metrics::Totals)>>,
}

/// Samples kept: 25 hours of minutes.
const HISTORY: usize = 25 * 60;

/// The client address of the connection a request came on.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub IpAddr);

impl Console {
    /// The token secret is shared by every node through the database (made by the first).
    pub async fn new(
        ctx: AdminContext,
        config: WebConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, AdminError> {
        let secret = ctx
            .admins
            .shared_secret("jwt_hs256", &random_token(32))
            .await?;
        let tokens = token::TokenKeys::new(secret.as_bytes());
        Ok(Self(Arc::new(Inner {
            ctx,
            config,
            clock,
            tokens,
            history: Default::default(),
        })))
    }

    pub fn ctx(&self) -> &AdminContext {
        &self.0.ctx
    }

    pub fn config(&self) -> &WebConfig {
        &self.0.config
    }

    pub fn now(&self) -> i64 {
        self.0.clock.now()
    }

    fn tokens(&self) -> &token::TokenKeys {
        &self.0.tokens
    }

    /// Every page and API call, behind the allowlist.
    pub fn router(&self) -> Router {
        Router::new()
            .merge(login::routes())
            .merge(pages::routes())
            .nest("/api/v1", api::routes())
            .layer(middleware::from_fn_with_state(self.clone(), guard))
            .with_state(self.clone())
    }

    /// Records the server's counters now (the serve loop calls it each minute).
    pub fn sample(&self) {
        let mut h = self.0.history.lock().unwrap_or_else(|e| e.into_inner());
        h.push_back((self.now(), baedal_metrics::totals()));
        while h.len() > HISTORY {
            h.pop_front();
        }
    }

    /// The counters at the newest sample at or before `at` (zero before the first).
    fn totals_at(&self, at: i64) -> baedal_metrics::Totals {
        let h = self.0.history.lock().unwrap_or_else(|e| e.into_inner());
        h.iter()
            .rev()
            .find(|(t, _)| *t <= at)
            .map(|(_, totals)| *totals)
            .unwrap_or_default()
    }

    /// Drops expired sessions, old login failures and audit entries past retention.
    pub async fn prune(&self, audit_retention_days: i64) -> Result<(), AdminError> {
        let now = self.now();
        let c = self.config();
        let admins = &self.ctx().admins;
        admins
            .prune_sessions(now - c.session_idle_secs, now - c.session_max_secs)
            .await?;
        admins
            .prune_login_failures(now - c.failure_window_secs)
            .await?;
        if audit_retention_days > 0 {
            admins
                .prune_audit(now - audit_retention_days * 86_400)
                .await?;
        }
        Ok(())
    }
}

/// The allowlist, then headers every answer carries: no caching, no framing, no sniffing,
/// no script but our own.
async fn guard(State(console): State<Console>, mut request: Request, next: Next) -> Response {
    let client = request.extensions().get::<ClientAddr>().map(|c| c.0);
    // `?lang=ko|en` on any page: this request and the next ones (by a cookie) in it.
    let chosen = request
        .uri()
        .query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("lang=")))
        .and_then(i18n::Lang::parse);
    if let Some(lang) = chosen {
        let cookie = format!("baedal_lang={}", lang.code());
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            request.headers_mut().append(header::COOKIE, v);
        }
    }
    let mut response = match client {
        Some(ip) if console.config().allow.allows(ip) => next.run(request).await,
        _ => {
            tracing::warn!(client = ?client, "admin console: address not in [admin] allow");
            error::ApiError::new(
                axum::http::StatusCode::FORBIDDEN,
                "forbidden_address",
                "this address may not use the admin console or API",
            )
            .into_response()
        }
    };
    let h = response.headers_mut();
    if let Some(lang) = chosen {
        let cookie = format!(
            "baedal_lang={}; Path=/; Secure; SameSite=Strict; Max-Age=31536000",
            lang.code()
        );
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            h.append(header::SET_COOKIE, v);
        }
    }
    for (name, value) in [
        (header::CACHE_CONTROL, "no-store"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::STRICT_TRANSPORT_SECURITY, "max-age=31536000"),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    response
}

/// `bytes` random bytes, base64url.
pub(crate) fn random_token(bytes: usize) -> String {
    let mut raw = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut raw);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}
