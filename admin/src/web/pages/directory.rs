//! `/domains` and `/aliases`.

use std::fmt::Write;

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use baedal_storage::{AuthType, DomainName, DomainUpdate};

use super::super::Console;
use super::super::html::{Flash, csrf_field, esc, page, post_button};
use super::super::session::{FormData, LoggedIn};
use super::{check_csrf, done, done_flash, refusal};
use crate::ops::{self, Permission};

#[derive(serde::Deserialize, Default)]
pub struct DoneQuery {
    done: Option<String>,
    domain: Option<String>,
}

pub async fn domains(
    State(console): State<Console>,
    logged: LoggedIn,
    Query(q): Query<DoneQuery>,
) -> Response {
    let flash = done_flash(&logged, q.done.is_some());
    show_domains(&console, &logged, flash).await
}

async fn show_domains(console: &Console, logged: &LoggedIn, flash: Flash) -> Response {
    let lang = logged.lang;
    let list = match ops::domains::list(console.ctx(), &logged.actor).await {
        Ok(l) => l,
        Err(e) => {
            return page(
                lang,
                Some(logged),
                lang.t("domains"),
                &refusal(logged, e),
                "",
            );
        }
    };
    let manage = logged.actor.may(Permission::ManageDomains);
    let mut html = String::new();
    if manage {
        let _ = write!(
            html,
            r#"<fieldset><form method="post" action="/domains">{}<label>{} <input name="name" required maxlength="253"></label><label>{} <select name="auth_type"><option value="local">local</option><option value="ldap">ldap</option></select></label><label>{} <input name="ldap_base_dn" maxlength="512"></label><button type="submit">{}</button></form></fieldset>"#,
            csrf_field(&logged.csrf),
            esc(lang.t("domain")),
            esc(lang.t("auth_type")),
            esc(lang.t("ldap_base_dn")),
            esc(lang.t("add"))
        );
    }
    let _ = write!(
        html,
        r#"<table id="domains"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th></th></tr>"#,
        esc(lang.t("domain")),
        esc(lang.t("auth_type")),
        esc(lang.t("ldap_base_dn")),
        esc(lang.t("active")),
        esc(lang.t("users_count")),
        esc(lang.t("aliases_count"))
    );
    for d in &list {
        let actions = if manage {
            let (action, label) = if d.is_active {
                ("disable", lang.t("disable"))
            } else {
                ("enable", lang.t("enable"))
            };
            post_button(
                &format!("/domains/{}/{action}", d.domain_name),
                &logged.csrf,
                label,
            )
        } else {
            String::new()
        };
        let _ = write!(
            html,
            r#"<tr><td><a href="/users?domain={0}">{0}</a></td><td>{1}</td><td>{2}</td><td>{3}</td><td>{4}</td><td>{5}</td><td>{actions}</td></tr>"#,
            esc(&d.domain_name),
            esc(&d.auth_type.to_string()),
            esc(d.ldap_base_dn.as_deref().unwrap_or("-")),
            esc(lang.t(if d.is_active { "yes" } else { "no" })),
            d.users,
            d.aliases
        );
    }
    html.push_str("</table>");
    page(lang, Some(logged), lang.t("domains"), &flash, &html)
}

pub async fn add_domain(
    State(console): State<Console>,
    logged: LoggedIn,
    form: FormData,
) -> Response {
    if let Some(r) = check_csrf(&logged, &form) {
        return r;
    }
    let auth_type = match form.get("auth_type").unwrap_or("local") {
        "ldap" => AuthType::Ldap,
        "local" | "" => AuthType::Local,
        _ => {
            let e = crate::AdminError::field("auth_type", "must be local or ldap");
            return show_domains(&console, &logged, refusal(&logged, e)).await;
        }
    };
    let draft = ops::domains::DomainDraft {
        name: form.text("name").unwrap_or_default(),
        auth_type,
        ldap_base_dn: form.text("ldap_base_dn"),
        transport: None,
        company_id: None,
    };
    match ops::domains::create(console.ctx(), &logged.actor, draft).await {
        Ok(_) => done("/domains"),
        Err(e) => show_domains(&console, &logged, refusal(&logged, e)).await,
    }
}

pub async fn domain_action(
    State(console): State<Console>,
    logged: LoggedIn,
    Path((name, action)): Path<(String, String)>,
    form: FormData,
) -> Response {
    if let Some(r) = check_csrf(&logged, &form) {
        return r;
    }
    let active = match action.as_str() {
        "enable" => true,
        "disable" => false,
        _ => return (StatusCode::NOT_FOUND, "no such action").into_response(),
    };
    let update = DomainUpdate {
        is_active: Some(active),
        ..DomainUpdate::default()
    };
    match ops::domains::update(console.ctx(), &logged.actor, &name, update).await {
        Ok(_) => done("/domains"),
        Err(e) => show_domains(&console, &logged, refusal(&logged, e)).await,
    }
}

pub async fn aliases(
    State(console): State<Console>,
    logged: LoggedIn,
    Query(q): Query<DoneQuery>,
) -> Response {
    let flash = done_flash(&logged, q.done.is_some());
    show_aliases(&console, &logged, q.domain.as_deref(), flash).await
}

async fn show_aliases(
    console: &Console,
    logged: &LoggedIn,
    domain: Option<&str>,
    flash: Flash,
) -> Response {
    let lang = logged.lang;
    let domain = domain.and_then(|d| DomainName::parse(d).ok());
    let list = match ops::aliases::list(console.ctx(), &logged.actor, domain.as_ref()).await {
        Ok(l) => l,
        Err(e) => {
            return page(
                lang,
                Some(logged),
                lang.t("aliases"),
                &refusal(logged, e),
                "",
            );
        }
    };
    let mut html = format!(
        r#"<fieldset><form method="post" action="/aliases">{}<label>{} <input name="source" required maxlength="320"></label><label>{} <input name="destination" required maxlength="4096"></label><button type="submit">{}</button></form></fieldset><p><a href="/aliases.csv">{}</a></p>"#,
        csrf_field(&logged.csrf),
        esc(lang.t("source")),
        esc(lang.t("destination")),
        esc(lang.t("add")),
        esc(lang.t("export_csv"))
    );
    let _ = write!(
        html,
        r#"<table id="aliases"><tr><th>{}</th><th>{}</th><th>{}</th><th></th></tr>"#,
        esc(lang.t("source")),
        esc(lang.t("destination")),
        esc(lang.t("active"))
    );
    for a in &list {
        let _ = write!(
            html,
            r#"<tr><td>{}</td><td>{}</td><td>{}</td><td><form method="post" action="/aliases/delete" class="inline">{}<input type="hidden" name="source" value="{}"><input type="hidden" name="destination" value="{}"><button type="submit">{}</button></form></td></tr>"#,
            esc(&a.source),
            esc(&a.destination),
            esc(lang.t(if a.is_active { "yes" } else { "no" })),
            csrf_field(&logged.csrf),
            esc(&a.source),
            esc(&a.destination),
            esc(lang.t("delete"))
        );
    }
    html.push_str("</table>");
    page(lang, Some(logged), lang.t("aliases"), &flash, &html)
}

pub async fn add_alias(
    State(console): State<Console>,
    logged: LoggedIn,
    form: FormData,
) -> Response {
    if let Some(r) = check_csrf(&logged, &form) {
        return r;
    }
    let result = async {
        let source = ops::aliases::parse_source(form.get("source").unwrap_or(""))?;
        let destinations = ops::aliases::parse_destinations(form.get("destination").unwrap_or(""))?;
        ops::aliases::add(console.ctx(), &logged.actor, &source, &destinations).await
    }
    .await;
    match result {
        Ok(_) => done("/aliases"),
        Err(e) => show_aliases(&console, &logged, None, refusal(&logged, e)).await,
    }
}

pub async fn remove_alias(
    State(console): State<Console>,
    logged: LoggedIn,
    form: FormData,
) -> Response {
    if let Some(r) = check_csrf(&logged, &form) {
        return r;
    }
    let result = async {
        let source = ops::aliases::parse_source(form.get("source").unwrap_or(""))?;
        let destination = match form.text("destination") {
            Some(d) => Some(
                baedal_storage::EmailAddress::parse(&d)
                    .map_err(|e| crate::AdminError::field("destination", e))?,
            ),
            None => None,
        };
        ops::aliases::remove(console.ctx(), &logged.actor, &source, destination.as_ref()).await
    }
    .await;
    match result {
        Ok(_) => done("/aliases"),
        Err(e) => show_aliases(&console, &logged, None, refusal(&logged, e)).await,
    }
}

/// `/aliases.csv`: source,destination,active.
pub async fn export_aliases(State(console): State<Console>, logged: LoggedIn) -> Response {
    match ops::aliases::list(console.ctx(), &logged.actor, None).await {
        Ok(list) => {
            let mut csv = String::from("source,destination,active\r\n");
            for a in &list {
                let _ = write!(
                    csv,
                    "{},{},{}\r\n",
                    crate::ops::audit_log::csv_field(&a.source),
                    crate::ops::audit_log::csv_field(&a.destination),
                    a.is_active
                );
            }
            csv_response("aliases.csv", csv)
        }
        Err(e) => super::super::error::ApiError::from(e).into_response(),
    }
}

pub(super) fn csv_response(name: &str, body: String) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}
