//! The console's pages, server-rendered. Each POST checks the CSRF token, calls one
//! operation of [`crate::ops`] as the logged-in administrator and answers `303` back to its
//! page (`?done=1`), or shows the page again with the reason it was refused.

mod account;
mod audit;
mod dashboard;
mod directory;
mod operations;
mod users;

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use super::Console;
use super::error::ApiError;
use super::html::{Flash, page};
use super::session::{FormData, LoggedIn};
use crate::AdminError;

pub fn routes() -> Router<Console> {
    Router::new()
        .route("/", get(dashboard::show))
        .route(
            "/domains",
            get(directory::domains).post(directory::add_domain),
        )
        .route("/domains/{name}/{action}", post(directory::domain_action))
        .route("/users", get(users::list).post(users::create))
        .route("/users.csv", get(users::export))
        .route("/users/import", post(users::import))
        .route("/users/{id}", get(users::detail))
        .route("/users/{id}/{action}", post(users::action))
        .route(
            "/aliases",
            get(directory::aliases).post(directory::add_alias),
        )
        .route("/aliases.csv", get(directory::export_aliases))
        .route("/aliases/delete", post(directory::remove_alias))
        .route("/queue", get(operations::queue))
        .route("/queue/{action}", post(operations::queue_action))
        .route("/dkim", get(operations::dkim))
        .route("/audit", get(audit::show))
        .route("/audit.csv", get(audit::csv))
        .route("/logs", get(audit::logs))
        .route("/account", get(account::show))
        .route("/account/password", post(account::password))
        .route("/account/api-keys", post(account::api_key))
        .route(
            "/account/logout-everywhere",
            post(account::logout_everywhere),
        )
}

/// An operation's failure as the page shows it.
pub(super) fn refusal(logged: &LoggedIn, e: AdminError) -> Flash {
    let api = ApiError::from(e);
    let text = match api.code {
        "forbidden" => format!("{} ({})", logged.lang.t("forbidden"), api.message),
        _ => api.message,
    };
    Flash::error(api.status, text)
}

/// A page's flash from `?done=1`.
pub(super) fn done_flash(logged: &LoggedIn, done: bool) -> Flash {
    if done {
        Flash::notice(logged.lang.t("done"))
    } else {
        Flash::none()
    }
}

/// `303` to `to` with `done=1`.
pub(super) fn done(to: &str) -> Response {
    let sep = if to.contains('?') { '&' } else { '?' };
    Redirect::to(&format!("{to}{sep}done=1")).into_response()
}

/// The answer to a form without the session's CSRF token: refused, nothing done.
pub(super) fn csrf_refused(logged: &LoggedIn) -> Response {
    page(
        logged.lang,
        Some(logged),
        logged.lang.t("title"),
        &Flash::error(StatusCode::FORBIDDEN, logged.lang.t("csrf")),
        "",
    )
}

/// Checks the form's CSRF token; `Some` is the refusal to send.
pub(super) fn check_csrf(logged: &LoggedIn, form: &FormData) -> Option<Response> {
    if form.csrf_ok(&logged.csrf) {
        None
    } else {
        tracing::warn!(admin = %logged.actor.name, "admin console: form without a valid CSRF token");
        Some(csrf_refused(logged))
    }
}

/// `2G`, `500M`, a number of bytes; `0` = unlimited. Empty = `None`.
pub(super) fn quota_field(text: Option<String>) -> Result<Option<u64>, AdminError> {
    match text {
        None => Ok(None),
        Some(t) => t
            .parse::<baedal_storage::ByteSize>()
            .map(|s| Some(s.bytes()))
            .map_err(|e| AdminError::field("quota", e)),
    }
}

/// A usage bar with the percentage and, at the warning level, a near-full badge.
pub(super) fn usage_bar(logged: &LoggedIn, used: i64, quota: i64, warn_percent: i64) -> String {
    use super::html::{esc, size};
    if quota <= 0 {
        return format!("{} / {}", size(used), esc(logged.lang.t("unlimited")));
    }
    let percent = (used.saturating_mul(100) / quota).clamp(0, 999);
    let full = percent >= warn_percent;
    format!(
        r#"<span class="bar{}"><span style="width:{}%"></span></span> {percent}% ({} / {}){}"#,
        if full { " full" } else { "" },
        percent.min(100),
        size(used),
        size(quota),
        if full {
            format!(
                r#"<span class="badge near-full">{}</span>"#,
                esc(logged.lang.t("near_full"))
            )
        } else {
            String::new()
        }
    )
}
