//! `/users` (search, paging, create, CSV import and export) and `/users/{id}` (password,
//! quota, name and department, enable, disable, delete).

use std::fmt::Write;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use baedal_storage::{User, UserSearch};

use super::super::Console;
use super::super::html::{Flash, csrf_field, esc, page, post_button, size};
use super::super::session::{FormData, LoggedIn};
use super::directory::csv_response;
use super::{check_csrf, done, done_flash, quota_field, refusal, usage_bar};
use crate::AdminError;
use crate::ops::audit_log::csv_field;
use crate::ops::users::{UserChange, UserDraft, UserRef};
use crate::ops::{self, Permission};

const PAGE_SIZE: i64 = 50;
/// Rows one CSV import takes.
const IMPORT_MAX_ROWS: usize = 5000;

#[derive(serde::Deserialize, Default)]
pub struct ListQuery {
    q: Option<String>,
    domain: Option<String>,
    page: Option<i64>,
    done: Option<String>,
}

pub async fn list(
    State(console): State<Console>,
    logged: LoggedIn,
    Query(q): Query<ListQuery>,
) -> Response {
    let flash = done_flash(&logged, q.done.is_some());
    show_list(&console, &logged, &q, flash).await
}

async fn show_list(console: &Console, logged: &LoggedIn, q: &ListQuery, flash: Flash) -> Response {
    let lang = logged.lang;
    let page_no = q.page.unwrap_or(1).clamp(1, 1_000_000);
    let search = UserSearch {
        text: q
            .q
            .clone()
            .filter(|t| !t.trim().is_empty())
            .map(|t| t.trim().to_string()),
        domains: q.domain.clone().filter(|d| !d.is_empty()).map(|d| vec![d]),
        offset: (page_no - 1) * PAGE_SIZE,
        limit: PAGE_SIZE,
    };
    let (total, users) = match ops::users::list(console.ctx(), &logged.actor, search).await {
        Ok(found) => found,
        Err(e) => return page(lang, Some(logged), lang.t("users"), &refusal(logged, e), ""),
    };
    let text = q.q.clone().unwrap_or_default();
    let domain = q.domain.clone().unwrap_or_default();
    let mut html = format!(
        r#"<form method="get" class="search"><input name="q" value="{}" maxlength="200"><input name="domain" value="{}" placeholder="{}" maxlength="253"><button type="submit">{}</button></form>"#,
        esc(&text),
        esc(&domain),
        esc(lang.t("domain")),
        esc(lang.t("search"))
    );
    if logged.actor.may(Permission::ManageUsers) {
        let _ = write!(
            html,
            r#"<fieldset><form method="post" action="/users">{}<label>{} <input name="email" required maxlength="320"></label><label>{} <input name="password" type="password" autocomplete="new-password" maxlength="1024"></label><label>{} <input name="quota" value="1G" maxlength="20"></label><label>{} <input name="name" maxlength="200"></label><label>{} <input name="department" maxlength="200"></label><button type="submit">{}</button></form></fieldset>"#,
            csrf_field(&logged.csrf),
            esc(lang.t("email")),
            esc(lang.t("password")),
            esc(lang.t("quota")),
            esc(lang.t("display_name")),
            esc(lang.t("department")),
            esc(lang.t("add"))
        );
        let _ = write!(
            html,
            r#"<details><summary>CSV</summary><p><a href="/users.csv">{}</a></p><form method="post" action="/users/import">{}<textarea name="csv" rows="5" cols="80" placeholder="email,name,department,quota,password"></textarea><button type="submit">{}</button></form></details>"#,
            esc(lang.t("export_csv")),
            csrf_field(&logged.csrf),
            esc(lang.t("add"))
        );
    }
    let _ = write!(
        html,
        r#"<table id="users"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>"#,
        esc(lang.t("email")),
        esc(lang.t("display_name")),
        esc(lang.t("department")),
        esc(lang.t("usage")),
        esc(lang.t("active"))
    );
    let warn = console.ctx().quota_warn_percent;
    for u in &users {
        let _ = write!(
            html,
            r#"<tr><td><a href="/users/{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            u.id,
            esc(&u.email),
            esc(u.display_name.as_deref().unwrap_or("")),
            esc(u.department.as_deref().unwrap_or("")),
            usage_bar(logged, u.used_quota, u.quota, warn),
            esc(lang.t(if u.is_active { "yes" } else { "no" }))
        );
    }
    html.push_str("</table>");
    let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let link = |p: i64, label: &str| {
        format!(
            r#"<a href="/users?q={}&amp;domain={}&amp;page={p}">{}</a> "#,
            esc(&urlencode(&text)),
            esc(&urlencode(&domain)),
            esc(label)
        )
    };
    html.push_str(r#"<p class="paging">"#);
    if page_no > 1 {
        html.push_str(&link(page_no - 1, lang.t("previous")));
    }
    let _ = write!(
        html,
        "{} {page_no} {} {pages} ({total}) ",
        esc(lang.t("page")),
        esc(lang.t("of"))
    );
    if page_no < pages {
        html.push_str(&link(page_no + 1, lang.t("next")));
    }
    html.push_str("</p>");
    page(lang, Some(logged), lang.t("users"), &flash, &html)
}

fn urlencode(text: &str) -> String {
    serde_urlencoded::to_string([("v", text)])
        .map(|s| s[2..].to_string())
        .unwrap_or_default()
}

pub async fn create(State(console): State<Console>, logged: LoggedIn, form: FormData) -> Response {
    if let Some(r) = check_csrf(&logged, &form) {
        return r;
    }
    let result = async {
        let draft = UserDraft {
            email: form.text("email").unwrap_or_default(),
            password: form
                .get("password")
                .filter(|p| !p.is_empty())
                .map(str::to_string),
            quota: quota_field(form.text("quota"))?,
            name: form.text("name"),
            department: form.text("department"),
        };
        ops::users::create(console.ctx(), &logged.actor, draft).await
    }
    .await;
    match result {
        Ok(_) => done("/users"),
        Err(e) => {
            show_list(
                &console,
                &logged,
                &ListQuery::default(),
                refusal(&logged, e),
            )
            .await
        }
    }
}

#[derive(serde::Deserialize, Default)]
pub struct DoneQuery {
    done: Option<String>,
}

fn parse_id(id: &str) -> Result<i64, AdminError> {
    id.parse::<i64>()
        .map_err(|_| AdminError::NotFound(format!("no user with id {id}")))
}

pub async fn detail(
    State(console): State<Console>,
    logged: LoggedIn,
    Path(id): Path<String>,
    Query(q): Query<DoneQuery>,
) -> Response {
    let flash = done_flash(&logged, q.done.is_some());
    show_detail(&console, &logged, &id, flash).await
}

async fn show_detail(console: &Console, logged: &LoggedIn, id: &str, flash: Flash) -> Response {
    let lang = logged.lang;
    let found = match parse_id(id) {
        Ok(id) => {
            ops::users::find(
                console.ctx(),
                &logged.actor,
                Permission::ViewUsers,
                &UserRef::Id(id),
            )
            .await
        }
        Err(e) => Err(e),
    };
    let user = match found {
        Ok(u) => u,
        Err(e) => return page(lang, Some(logged), lang.t("users"), &refusal(logged, e), ""),
    };
    let html = detail_html(console, logged, &user);
    page(lang, Some(logged), &user.email, &flash, &html)
}

fn detail_html(console: &Console, logged: &LoggedIn, u: &User) -> String {
    let lang = logged.lang;
    let a = &logged.actor;
    let base = format!("/users/{}", u.id);
    let mut html = format!(
        r#"<table id="user"><tr><th>{}</th><td>{}</td></tr><tr><th>{}</th><td>{}</td></tr><tr><th>{}</th><td>{}</td></tr><tr><th>{}</th><td>{}</td></tr><tr><th>{}</th><td>{}</td></tr><tr><th>auth</th><td>{}</td></tr><tr><th>last login</th><td>{}</td></tr></table>"#,
        esc(lang.t("email")),
        esc(&u.email),
        esc(lang.t("display_name")),
        esc(u.display_name.as_deref().unwrap_or("")),
        esc(lang.t("department")),
        esc(u.department.as_deref().unwrap_or("")),
        esc(lang.t("usage")),
        usage_bar(
            logged,
            u.used_quota,
            u.quota,
            console.ctx().quota_warn_percent
        ),
        esc(lang.t("active")),
        esc(lang.t(if u.is_active { "yes" } else { "no" })),
        esc(&u.auth_source.to_string()),
        esc(u.last_login.as_deref().unwrap_or("-"))
    );
    let csrf = csrf_field(&logged.csrf);
    if a.check(Permission::ResetPasswords, Some(&u.domain)).is_ok() {
        let _ = write!(
            html,
            r#"<fieldset><form method="post" action="{base}/password">{csrf}<label>{} <input name="password" type="password" autocomplete="new-password" required maxlength="1024"></label><button type="submit">{}</button></form></fieldset>"#,
            esc(lang.t("new_password")),
            esc(lang.t("save"))
        );
    }
    if a.check(Permission::ManageQuotas, Some(&u.domain)).is_ok() {
        let _ = write!(
            html,
            r#"<fieldset><form method="post" action="{base}/quota">{csrf}<label>{} <input name="quota" value="{}" required maxlength="20"></label><button type="submit">{}</button></form></fieldset>"#,
            esc(lang.t("quota")),
            esc(&if u.quota == 0 {
                "0".to_string()
            } else {
                size(u.quota).replace(' ', "")
            }),
            esc(lang.t("save"))
        );
    }
    if a.check(Permission::ManageUsers, Some(&u.domain)).is_ok() {
        let _ = write!(
            html,
            r#"<fieldset><form method="post" action="{base}/edit">{csrf}<label>{} <input name="name" value="{}" maxlength="200"></label><label>{} <input name="department" value="{}" maxlength="200"></label><button type="submit">{}</button></form></fieldset>"#,
            esc(lang.t("display_name")),
            esc(u.display_name.as_deref().unwrap_or("")),
            esc(lang.t("department")),
            esc(u.department.as_deref().unwrap_or("")),
            esc(lang.t("save"))
        );
        let (action, label) = if u.is_active {
            ("disable", lang.t("disable"))
        } else {
            ("enable", lang.t("enable"))
        };
        html.push_str(&post_button(
            &format!("{base}/{action}"),
            &logged.csrf,
            label,
        ));
        html.push_str(&post_button(
            &format!("{base}/delete"),
            &logged.csrf,
            lang.t("delete"),
        ));
    }
    html
}

pub async fn action(
    State(console): State<Console>,
    logged: LoggedIn,
    Path((id, action)): Path<(String, String)>,
    form: FormData,
) -> Response {
    if let Some(r) = check_csrf(&logged, &form) {
        return r;
    }
    let result = async {
        let user = UserRef::Id(parse_id(&id)?);
        let ctx = console.ctx();
        let actor = &logged.actor;
        match action.as_str() {
            "password" => {
                let password = form.get("password").unwrap_or("").to_string();
                ops::users::set_password(ctx, actor, &user, password).await?;
            }
            "quota" => {
                let quota = quota_field(form.text("quota"))?
                    .ok_or_else(|| AdminError::field("quota", "give a size, or 0 for no limit"))?;
                let change = UserChange {
                    quota: Some(quota),
                    ..UserChange::default()
                };
                ops::users::update(ctx, actor, &user, change).await?;
            }
            "edit" => {
                let change = UserChange {
                    name: Some(form.text("name")),
                    department: Some(form.text("department")),
                    ..UserChange::default()
                };
                ops::users::update(ctx, actor, &user, change).await?;
            }
            "enable" | "disable" => {
                let change = UserChange {
                    is_active: Some(action == "enable"),
                    ..UserChange::default()
                };
                ops::users::update(ctx, actor, &user, change).await?;
            }
            "delete" => {
                ops::users::remove(ctx, actor, &user, form.get("delete_mail") == Some("true"))
                    .await?;
                return Ok(true);
            }
            _ => return Err(AdminError::NotFound(format!("no action {action}"))),
        }
        Ok::<bool, AdminError>(false)
    }
    .await;
    match result {
        Ok(true) => done("/users"),
        Ok(false) => done(&format!("/users/{id}")),
        Err(e) => show_detail(&console, &logged, &id, refusal(&logged, e)).await,
    }
}

/// `/users.csv`: email,name,department,quota,used,active (never a password or its hash).
pub async fn export(State(console): State<Console>, logged: LoggedIn) -> Response {
    let search = UserSearch {
        limit: 1_000_000,
        ..UserSearch::default()
    };
    match ops::users::list(console.ctx(), &logged.actor, search).await {
        Ok((_, users)) => {
            let mut csv = String::from("email,name,department,quota,used,active\r\n");
            for u in &users {
                let _ = write!(
                    csv,
                    "{},{},{},{},{},{}\r\n",
                    csv_field(&u.email),
                    csv_field(u.display_name.as_deref().unwrap_or("")),
                    csv_field(u.department.as_deref().unwrap_or("")),
                    u.quota,
                    u.used_quota,
                    u.is_active
                );
            }
            csv_response("users.csv", csv)
        }
        Err(e) => super::super::error::ApiError::from(e).into_response(),
    }
}

/// `POST /users/import`: CSV lines `email,name,department,quota,password` (a header line
/// starting with `email` is skipped), each through the same operation as `baedal user add`.
pub async fn import(State(console): State<Console>, logged: LoggedIn, form: FormData) -> Response {
    if let Some(r) = check_csrf(&logged, &form) {
        return r;
    }
    let text = form.get("csv").unwrap_or("");
    let mut added = 0;
    let mut refused = Vec::new();
    for (n, line) in text.lines().enumerate().take(IMPORT_MAX_ROWS) {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields
            .first()
            .is_none_or(|f| f.is_empty() || f.eq_ignore_ascii_case("email"))
        {
            continue;
        }
        let get = |i: usize| {
            fields
                .get(i)
                .filter(|f| !f.is_empty())
                .map(|f| f.to_string())
        };
        let draft = match quota_field(get(3)) {
            Ok(quota) => UserDraft {
                email: fields[0].to_string(),
                name: get(1),
                department: get(2),
                quota,
                password: get(4),
            },
            Err(e) => {
                refused.push(format!("line {}: {e}", n + 1));
                continue;
            }
        };
        match ops::users::create(console.ctx(), &logged.actor, draft).await {
            Ok(_) => added += 1,
            Err(e) => refused.push(format!("line {}: {e}", n + 1)),
        }
    }
    let flash = if refused.is_empty() {
        Flash::notice(format!("{} ({added})", logged.lang.t("done")))
    } else {
        Flash::error(
            StatusCode::BAD_REQUEST,
            format!("{added} added; {}", refused.join("; ")),
        )
    };
    show_list(&console, &logged, &ListQuery::default(), flash).await
}
