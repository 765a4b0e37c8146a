//! Console sessions: the `baedal_session` cookie (`Secure; HttpOnly; SameSite=Strict`), kept
//! server-side by the SHA-256 of its value, with a new value at each login step (no fixation),
//! expiry after `session_idle_secs` without a request and `session_max_secs` after login,
//! and the CSRF token every form carries.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use baedal_storage::AdminAccount;
use baedal_storage::admins::sessions::{AdminSession, SessionStage};

use super::i18n::Lang;
use super::{ClientAddr, Console, random_token};
use crate::ops::admins::api_key_hash;
use crate::ops::{Actor, Via};

pub const COOKIE: &str = "baedal_session";

/// The value of cookie `name` (the last one when it comes twice).
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
        .next_back()
        .filter(|v| !v.is_empty() && v.len() <= 256)
}

pub fn set_cookie(value: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/; Secure; HttpOnly; SameSite=Strict"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("baedal_session=; Path=/"))
}

pub fn clear_cookie() -> HeaderValue {
    HeaderValue::from_static(
        "baedal_session=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Strict",
    )
}

pub fn client_ip(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ClientAddr>()
        .map(|c| c.0.to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// A session as found by its cookie: still valid, or why not.
pub enum Found {
    Valid(String, AdminSession),
    Expired(String),
    None,
}

impl Console {
    /// Starts a session; returns the cookie value and the CSRF token.
    pub async fn start_session(
        &self,
        admin_id: Option<i64>,
        stage: SessionStage,
        ip: &str,
    ) -> Result<(String, String), crate::AdminError> {
        let value = random_token(32);
        let csrf = random_token(24);
        self.ctx()
            .admins
            .create_session(
                &api_key_hash(&value),
                admin_id,
                stage,
                &csrf,
                ip,
                self.now(),
            )
            .await?;
        Ok((value, csrf))
    }

    /// The session of the request's cookie, expired ones deleted.
    pub async fn find_session(&self, headers: &HeaderMap) -> Found {
        let Some(value) = cookie(headers, COOKIE) else {
            return Found::None;
        };
        let hash = api_key_hash(&value);
        let session = match self.ctx().admins.session(&hash).await {
            Ok(Some(s)) => s,
            Ok(None) => return Found::None,
            Err(e) => {
                tracing::error!(error = %e, "admin console: cannot read the session");
                return Found::None;
            }
        };
        let now = self.now();
        let c = self.config();
        if now - session.last_seen >= c.session_idle_secs
            || now - session.created_at >= c.session_max_secs
        {
            let _ = self.ctx().admins.delete_session(&hash).await;
            return Found::Expired(hash);
        }
        Found::Valid(hash, session)
    }
}

/// A logged-in administrator (a session at the full stage); anything else is sent to the
/// login page.
pub struct LoggedIn {
    pub actor: Actor,
    pub account: AdminAccount,
    pub csrf: String,
    pub lang: Lang,
    pub id_hash: String,
}

impl FromRequestParts<Console> for LoggedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, console: &Console) -> Result<Self, Response> {
        let lang = Lang::from_headers(&parts.headers);
        let (hash, session) = match console.find_session(&parts.headers).await {
            Found::Valid(h, s) => (h, s),
            Found::Expired(_) => return Err(to_login("/login?expired=1")),
            Found::None => return Err(to_login("/login")),
        };
        match session.stage {
            SessionStage::Full => {}
            SessionStage::Password => return Err(Redirect::to("/login/totp").into_response()),
            SessionStage::Enrol => return Err(Redirect::to("/account/totp").into_response()),
            SessionStage::Anonymous => return Err(to_login("/login")),
        }
        let account = match session.admin_id {
            Some(id) => console.ctx().admins.by_id(id).await.ok().flatten(),
            None => None,
        };
        let Some(account) = account.filter(|a| a.is_active) else {
            let _ = console.ctx().admins.delete_session(&hash).await;
            return Err(to_login("/login"));
        };
        let _ = console
            .ctx()
            .admins
            .touch_session(&hash, console.now())
            .await;
        let actor = Actor {
            admin_id: Some(account.id),
            name: account.name.clone(),
            role: account.role,
            domains: account.domains.clone(),
            source_ip: client_ip(parts),
            via: Via::Console,
        };
        Ok(Self {
            actor,
            account,
            csrf: session.csrf,
            lang,
            id_hash: hash,
        })
    }
}

/// A redirect to the login page that also drops the cookie.
fn to_login(to: &str) -> Response {
    let mut r = Redirect::to(to).into_response();
    r.headers_mut().insert(header::SET_COOKIE, clear_cookie());
    r
}

/// A posted form (`application/x-www-form-urlencoded`), its fields in order, repeated
/// names kept. At most 64 KiB.
pub struct FormData(pub Vec<(String, String)>);

impl FormData {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The field, trimmed, `None` when empty.
    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    }

    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Whether the form's `csrf` field is the session's token.
    pub fn csrf_ok(&self, expected: &str) -> bool {
        self.get("csrf")
            .is_some_and(|got| super::totp::constant_time_eq(got.as_bytes(), expected.as_bytes()))
    }
}

impl<S: Send + Sync> FromRequest<S> for FormData {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(IntoResponse::into_response)?;
        if bytes.len() > 64 * 1024 {
            return Err((StatusCode::PAYLOAD_TOO_LARGE, "form too large").into_response());
        }
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
            .map(FormData)
            .map_err(|_| (StatusCode::BAD_REQUEST, "malformed form").into_response())
    }
}
