//! `/account`: the administrator's own password, API keys and sessions.

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use baedal_auth::password::verify_password;

use super::super::Console;
use super::super::html::{Flash, csrf_field, esc, page, post_button};
use super::super::session::{FormData, LoggedIn, clear_cookie};
use super::{check_csrf, done, done_flash, refusal};
use crate::ops;

#[derive(serde::Deserialize, Default)]
pub struct DoneQuery {
    done: Option<String>,
}

pub async fn show(logged: LoggedIn, Query(q): Query<DoneQuery>) -> Response {
    let flash = done_flash(&logged, q.done.is_some());
    render(&logged, flash, None)
}

fn render(logged: &LoggedIn, flash: Flash, new_key: Option<&str>) -> Response {
    let lang = logged.lang;
    let a = &logged.account;
    let mut html = format!(
        r#"<table id="account"><tr><th>{}</th><td>{}</td></tr><tr><th>{}</th><td>{}</td></tr><tr><th>{}</th><td>{}</td></tr><tr><th>TOTP</th><td>{}</td></tr></table>"#,
        esc(lang.t("name")),
        esc(&a.name),
        esc(lang.t("role")),
        esc(a.role.as_str()),
        esc(lang.t("domains")),
        esc(&a.domains.join(", ")),
        esc(lang.t(if a.totp_enabled { "yes" } else { "no" }))
    );
    html.push_str(&format!(
        r#"<fieldset><form method="post" action="/account/password">{}<label>{} <input name="current" type="password" autocomplete="current-password" required maxlength="1024"></label><label>{} <input name="password" type="password" autocomplete="new-password" required maxlength="1024"></label><button type="submit">{}</button></form></fieldset>"#,
        csrf_field(&logged.csrf),
        esc(lang.t("current_password")),
        esc(lang.t("new_password")),
        esc(lang.t("save"))
    ));
    html.push_str(&format!("<h2>{}</h2>", esc(lang.t("api_keys"))));
    if let Some(key) = new_key {
        html.push_str(&format!(
            r#"<p>{} <code id="api-key">{}</code></p>"#,
            esc(lang.t("api_key_once")),
            esc(key)
        ));
    }
    html.push_str(&post_button(
        "/account/api-keys",
        &logged.csrf,
        lang.t("new_api_key"),
    ));
    html.push_str("<h2></h2>");
    html.push_str(&post_button(
        "/account/logout-everywhere",
        &logged.csrf,
        lang.t("logout_everywhere"),
    ));
    page(lang, Some(logged), lang.t("account"), &flash, &html)
}

pub async fn password(
    State(console): State<Console>,
    logged: LoggedIn,
    form: FormData,
) -> Response {
    if let Some(r) = check_csrf(&logged, &form) {
        return r;
    }
    let current = form.get("current").unwrap_or("").to_string();
    let hash = match console
        .ctx()
        .admins
        .credentials_by_id(logged.account.id)
        .await
    {
        Ok(Some(c)) => c.password_hash,
        _ => return Redirect::to("/login").into_response(),
    };
    if current.is_empty() || !verify_password(current, hash).await.unwrap_or(false) {
        let flash = Flash::error(StatusCode::BAD_REQUEST, logged.lang.t("bad_login"));
        return render(&logged, flash, None);
    }
    let new = form.get("password").unwrap_or("").to_string();
    match ops::admins::set_own_password(console.ctx(), &logged.actor, new).await {
        Ok(()) => done("/account"),
        Err(e) => render(&logged, refusal(&logged, e), None),
    }
}

pub async fn api_key(State(console): State<Console>, logged: LoggedIn, form: FormData) -> Response {
    if let Some(r) = check_csrf(&logged, &form) {
        return r;
    }
    match ops::admins::new_api_key(console.ctx(), &logged.actor, &logged.account.name).await {
        Ok(key) => render(&logged, Flash::notice(logged.lang.t("done")), Some(&key)),
        Err(e) => render(&logged, refusal(&logged, e), None),
    }
}

pub async fn logout_everywhere(
    State(console): State<Console>,
    logged: LoggedIn,
    form: FormData,
) -> Response {
    if let Some(r) = check_csrf(&logged, &form) {
        return r;
    }
    match ops::admins::logout_everywhere(console.ctx(), &logged.actor).await {
        Ok(_) => {
            let mut r = Redirect::to("/login").into_response();
            r.headers_mut().insert(header::SET_COOKIE, clear_cookie());
            r
        }
        Err(e) => render(&logged, refusal(&logged, e), None),
    }
}
