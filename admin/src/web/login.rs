//! Logging in: the password (bcrypt), then the TOTP code (or a recovery code), or on the
//! first login the TOTP enrolment; each step gets a new session id. Failures are counted per
//! account and per client address (in SQL, so every node sees them): past the limit,
//! logins are refused with 429 until the window has passed.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use baedal_auth::password::{hash_password, verify_password};
use baedal_storage::admins::sessions::SessionStage;
use data_encoding::BASE32_NOPAD;
use rand::RngCore;
use tokio::sync::OnceCell;

use super::html::{Flash, csrf_field, esc, page};
use super::i18n::Lang;
use super::session::{FormData, Found, LoggedIn, client_ip, set_cookie};
use super::{Console, totp};
use crate::ops::admins::{api_key_hash, record_totp_enrolment};
use crate::ops::{Actor, Via};

const RECOVERY_CODES: usize = 10;

pub fn routes() -> Router<Console> {
    Router::new()
        .route("/login", get(login_page).post(login_password))
        .route("/login/totp", get(totp_page).post(login_totp))
        .route("/account/totp", get(enrol_page).post(enrol_confirm))
        .route("/logout", post(logout))
}

#[derive(serde::Deserialize, Default)]
struct LoginQuery {
    expired: Option<String>,
}

/// The request's client address and language.
struct Client {
    ip: String,
    lang: Lang,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Client {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self {
            ip: client_ip(parts),
            lang: Lang::from_headers(&parts.headers),
        })
    }
}

fn with_cookie(mut response: Response, value: &str) -> Response {
    response
        .headers_mut()
        .insert(header::SET_COOKIE, set_cookie(value));
    response
}

fn internal(e: impl std::fmt::Display) -> Response {
    tracing::error!(error = %e, "admin console: login failed inside");
    (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
}

fn login_form(lang: Lang, csrf: &str) -> String {
    format!(
        r#"<form method="post" action="/login">{}<label>{} <input name="name" autocomplete="username" required maxlength="64"></label><label>{} <input name="password" type="password" autocomplete="current-password" required maxlength="1024"></label><button type="submit">{}</button></form>"#,
        csrf_field(csrf),
        esc(lang.t("name")),
        esc(lang.t("password")),
        esc(lang.t("login"))
    )
}

async fn login_page(
    State(console): State<Console>,
    client: Client,
    headers: HeaderMap,
    Query(q): Query<LoginQuery>,
) -> Response {
    let lang = client.lang;
    let flash = if q.expired.is_some() {
        Flash::notice(lang.t("expired"))
    } else {
        Flash::none()
    };
    match console.find_session(&headers).await {
        Found::Valid(_, s) if s.stage == SessionStage::Full => Redirect::to("/").into_response(),
        Found::Valid(_, s) => page(
            lang,
            None,
            lang.t("login"),
            &flash,
            &login_form(lang, &s.csrf),
        ),
        _ => match console
            .start_session(None, SessionStage::Anonymous, &client.ip)
            .await
        {
            Ok((value, csrf)) => with_cookie(
                page(
                    lang,
                    None,
                    lang.t("login"),
                    &flash,
                    &login_form(lang, &csrf),
                ),
                &value,
            ),
            Err(e) => internal(e),
        },
    }
}

/// Whether the account or the address has failed too often lately.
async fn throttled(console: &Console, keys: &[(String, i64)]) -> bool {
    let since = console.now() - console.config().failure_window_secs;
    for (key, limit) in keys {
        match console.ctx().admins.login_failures(key, since).await {
            Ok(n) if n >= *limit => return true,
            Ok(_) => {}
            Err(e) => {
                tracing::error!(error = %e, "admin console: cannot read login failures");
                return true;
            }
        }
    }
    false
}

async fn record_failure(console: &Console, keys: &[(String, i64)]) {
    for (key, _) in keys {
        let _ = console
            .ctx()
            .admins
            .record_login_failure(key, console.now())
            .await;
    }
}

fn throttle_keys(console: &Console, name: &str, ip: &str) -> Vec<(String, i64)> {
    let c = console.config();
    vec![
        (
            format!("account:{}", name.to_ascii_lowercase()),
            c.failures_per_account,
        ),
        (format!("ip:{ip}"), c.failures_per_ip),
    ]
}

/// A bcrypt hash to check unknown names against, so that they take as long as known ones.
async fn dummy_hash() -> String {
    static HASH: OnceCell<String> = OnceCell::const_new();
    HASH.get_or_init(|| async {
        hash_password(super::random_token(16))
            .await
            .unwrap_or_default()
    })
    .await
    .clone()
}

async fn login_password(
    State(console): State<Console>,
    client: Client,
    headers: HeaderMap,
    form: FormData,
) -> Response {
    let lang = client.lang;
    let (old_hash, session) = match console.find_session(&headers).await {
        Found::Valid(h, s) => (h, s),
        _ => return Redirect::to("/login?expired=1").into_response(),
    };
    let refuse = |status, key, csrf: &str| {
        page(
            lang,
            None,
            lang.t("login"),
            &Flash::error(status, lang.t(key)),
            &login_form(lang, csrf),
        )
    };
    if !form.csrf_ok(&session.csrf) {
        return refuse(StatusCode::FORBIDDEN, "csrf", &session.csrf);
    }
    let name = form.text("name").unwrap_or_default();
    let password = form.get("password").unwrap_or("").to_string();
    let keys = throttle_keys(&console, &name, &client.ip);
    if throttled(&console, &keys).await {
        tracing::warn!(admin = %name, client = %client.ip, "admin console: login throttled");
        return refuse(StatusCode::TOO_MANY_REQUESTS, "throttled", &session.csrf);
    }
    let credentials = console.ctx().admins.credentials(&name).await.ok().flatten();
    let hash = match &credentials {
        Some(c) => c.password_hash.clone(),
        None => dummy_hash().await,
    };
    let right = !password.is_empty()
        && password.len() <= 1024
        && verify_password(password, hash).await.unwrap_or(false);
    let Some(credentials) = credentials.filter(|c| right && c.account.is_active) else {
        record_failure(&console, &keys).await;
        tracing::warn!(admin = %name, client = %client.ip, "admin console: wrong password");
        return refuse(StatusCode::UNAUTHORIZED, "bad_login", &session.csrf);
    };
    let account = credentials.account;
    let _ = console.ctx().admins.delete_session(&old_hash).await;
    let (stage, next) = if account.totp_enabled {
        (SessionStage::Password, "/login/totp")
    } else {
        (SessionStage::Enrol, "/account/totp")
    };
    match console
        .start_session(Some(account.id), stage, &client.ip)
        .await
    {
        Ok((value, _)) => with_cookie(Redirect::to(next).into_response(), &value),
        Err(e) => internal(e),
    }
}

fn totp_form(lang: Lang, action: &str, csrf: &str) -> String {
    format!(
        r#"<p>{}</p><form method="post" action="{action}">{}<label>{} <input name="code" autocomplete="one-time-code" inputmode="numeric" required maxlength="16" autofocus></label><button type="submit">{}</button></form>"#,
        esc(lang.t("totp_prompt")),
        csrf_field(csrf),
        esc(lang.t("code")),
        esc(lang.t("continue"))
    )
}

/// The session at `stage`, or where to go instead.
async fn session_at(
    console: &Console,
    headers: &HeaderMap,
    stage: SessionStage,
) -> Result<(String, baedal_storage::admins::sessions::AdminSession, i64), Response> {
    match console.find_session(headers).await {
        Found::Valid(h, s) if s.stage == stage => match s.admin_id {
            Some(id) => Ok((h, s, id)),
            None => Err(Redirect::to("/login").into_response()),
        },
        Found::Valid(_, s) if s.stage == SessionStage::Full => {
            Err(Redirect::to("/").into_response())
        }
        Found::Expired(_) => Err(Redirect::to("/login?expired=1").into_response()),
        _ => Err(Redirect::to("/login").into_response()),
    }
}

async fn totp_page(State(console): State<Console>, client: Client, headers: HeaderMap) -> Response {
    match session_at(&console, &headers, SessionStage::Password).await {
        Ok((_, s, _)) => page(
            client.lang,
            None,
            client.lang.t("login"),
            &Flash::none(),
            &totp_form(client.lang, "/login/totp", &s.csrf),
        ),
        Err(r) => r,
    }
}

/// Checks a TOTP code (each time step accepted once) or uses up a recovery code.
async fn code_accepted(console: &Console, admin_id: i64, secret: &str, code: &str) -> bool {
    let admins = &console.ctx().admins;
    if let Some(step) = totp::matching_step(secret, code, console.now()) {
        // RFC 6238 §5.2: "the verifier MUST NOT accept the second attempt of the same OTP".
        return admins
            .claim_totp_step(admin_id, step)
            .await
            .unwrap_or(false);
    }
    let normalized = normalize_recovery(code);
    if normalized.len() != 10 {
        return false;
    }
    admins
        .use_recovery_code(admin_id, &api_key_hash(&normalized))
        .await
        .unwrap_or(false)
}

fn normalize_recovery(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

async fn login_totp(
    State(console): State<Console>,
    client: Client,
    headers: HeaderMap,
    form: FormData,
) -> Response {
    let lang = client.lang;
    let (hash, session, admin_id) =
        match session_at(&console, &headers, SessionStage::Password).await {
            Ok(found) => found,
            Err(r) => return r,
        };
    let refuse = |status, key| {
        page(
            lang,
            None,
            lang.t("login"),
            &Flash::error(status, lang.t(key)),
            &totp_form(lang, "/login/totp", &session.csrf),
        )
    };
    if !form.csrf_ok(&session.csrf) {
        return refuse(StatusCode::FORBIDDEN, "csrf");
    }
    let Ok(Some(credentials)) = console.ctx().admins.credentials_by_id(admin_id).await else {
        return Redirect::to("/login").into_response();
    };
    let keys = throttle_keys(&console, &credentials.account.name, &client.ip);
    if throttled(&console, &keys).await {
        return refuse(StatusCode::TOO_MANY_REQUESTS, "throttled");
    }
    let code = form.get("code").unwrap_or("");
    let secret = credentials.totp_secret.unwrap_or_default();
    if !credentials.account.totp_enabled || !code_accepted(&console, admin_id, &secret, code).await
    {
        record_failure(&console, &keys).await;
        tracing::warn!(admin = %credentials.account.name, client = %client.ip, "admin console: wrong TOTP code");
        return refuse(StatusCode::UNAUTHORIZED, "bad_code");
    }
    let _ = console.ctx().admins.clear_login_failures(&keys[0].0).await;
    let _ = console.ctx().admins.delete_session(&hash).await;
    tracing::info!(admin = %credentials.account.name, client = %client.ip, "admin console: logged in");
    match console
        .start_session(Some(admin_id), SessionStage::Full, &client.ip)
        .await
    {
        Ok((value, _)) => with_cookie(Redirect::to("/").into_response(), &value),
        Err(e) => internal(e),
    }
}

fn enrol_content(console: &Console, lang: Lang, name: &str, secret: &str, csrf: &str) -> String {
    let uri = totp::otpauth_uri(&console.config().issuer, name, secret);
    format!(
        r#"<p>{}</p><div class="qr">{}</div><p>{}: <code id="totp-secret">{}</code></p>{}"#,
        esc(lang.t("enrol_help")),
        totp::qr_svg(&uri),
        esc(lang.t("secret")),
        esc(secret),
        totp_form(lang, "/account/totp", csrf)
    )
}

async fn enrol_page(
    State(console): State<Console>,
    client: Client,
    headers: HeaderMap,
) -> Response {
    let (_, session, admin_id) = match session_at(&console, &headers, SessionStage::Enrol).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let Ok(Some(credentials)) = console.ctx().admins.credentials_by_id(admin_id).await else {
        return Redirect::to("/login").into_response();
    };
    let secret = match credentials.totp_secret {
        Some(s) if !credentials.account.totp_enabled => s,
        _ => {
            let s = totp::new_secret();
            if let Err(e) = console.ctx().admins.begin_totp(admin_id, &s).await {
                return internal(e);
            }
            s
        }
    };
    let lang = client.lang;
    page(
        lang,
        None,
        lang.t("enrol"),
        &Flash::none(),
        &enrol_content(
            &console,
            lang,
            &credentials.account.name,
            &secret,
            &session.csrf,
        ),
    )
}

async fn enrol_confirm(
    State(console): State<Console>,
    client: Client,
    headers: HeaderMap,
    form: FormData,
) -> Response {
    let lang = client.lang;
    let (hash, session, admin_id) = match session_at(&console, &headers, SessionStage::Enrol).await
    {
        Ok(found) => found,
        Err(r) => return r,
    };
    let Ok(Some(credentials)) = console.ctx().admins.credentials_by_id(admin_id).await else {
        return Redirect::to("/login").into_response();
    };
    let name = credentials.account.name.clone();
    let Some(secret) = credentials
        .totp_secret
        .filter(|_| !credentials.account.totp_enabled)
    else {
        return Redirect::to("/account/totp").into_response();
    };
    let refuse = |status, key| {
        page(
            lang,
            None,
            lang.t("enrol"),
            &Flash::error(status, lang.t(key)),
            &enrol_content(&console, lang, &name, &secret, &session.csrf),
        )
    };
    if !form.csrf_ok(&session.csrf) {
        return refuse(StatusCode::FORBIDDEN, "csrf");
    }
    let keys = throttle_keys(&console, &name, &client.ip);
    if throttled(&console, &keys).await {
        return refuse(StatusCode::TOO_MANY_REQUESTS, "throttled");
    }
    let code = form.get("code").unwrap_or("");
    let accepted = match totp::matching_step(&secret, code, console.now()) {
        Some(step) => console
            .ctx()
            .admins
            .claim_totp_step(admin_id, step)
            .await
            .unwrap_or(false),
        None => false,
    };
    if !accepted {
        record_failure(&console, &keys).await;
        return refuse(StatusCode::UNAUTHORIZED, "bad_code");
    }
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| recovery_code()).collect();
    let hashes: Vec<String> = codes
        .iter()
        .map(|c| api_key_hash(&normalize_recovery(c)))
        .collect();
    if let Err(e) = console.ctx().admins.enable_totp(admin_id, &hashes).await {
        return internal(e);
    }
    let actor = Actor {
        admin_id: Some(admin_id),
        name: name.clone(),
        role: credentials.account.role,
        domains: credentials.account.domains.clone(),
        source_ip: client.ip.clone(),
        via: Via::Console,
    };
    let _ = record_totp_enrolment(console.ctx(), &actor).await;
    let _ = console.ctx().admins.delete_session(&hash).await;
    let (value, _) = match console
        .start_session(Some(admin_id), SessionStage::Full, &client.ip)
        .await
    {
        Ok(v) => v,
        Err(e) => return internal(e),
    };
    let items: String = codes
        .iter()
        .map(|c| format!("<li><code>{}</code></li>", esc(c)))
        .collect();
    let content = format!(
        r#"<p>{}</p><ul id="recovery-codes">{items}</ul><p><a href="/">{}</a></p>"#,
        esc(lang.t("recovery_codes")),
        esc(lang.t("continue"))
    );
    with_cookie(
        page(
            lang,
            None,
            lang.t("enrol"),
            &Flash::notice(lang.t("done")),
            &content,
        ),
        &value,
    )
}

/// `XXXXX-XXXXX` from the base32 alphabet (50 random bits).
fn recovery_code() -> String {
    let mut raw = [0u8; 10];
    rand::rng().fill_bytes(&mut raw);
    let text = BASE32_NOPAD.encode(&raw);
    format!("{}-{}", &text[..5], &text[5..10])
}

async fn logout(State(console): State<Console>, logged: LoggedIn, form: FormData) -> Response {
    if !form.csrf_ok(&logged.csrf) {
        return page(
            logged.lang,
            Some(&logged),
            logged.lang.t("logout"),
            &Flash::error(StatusCode::FORBIDDEN, logged.lang.t("csrf")),
            "",
        );
    }
    let _ = console.ctx().admins.delete_session(&logged.id_hash).await;
    let mut r = Redirect::to("/login").into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, super::session::clear_cookie());
    r
}
