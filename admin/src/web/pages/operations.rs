//! `/queue` (list, retry and delete by id or by filter) and `/dkim` (keys and their DNS
//! records).

use std::fmt::Write;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::super::Console;
use super::super::html::{Flash, csrf_field, esc, page, size};
use super::super::session::{FormData, LoggedIn};
use super::{check_csrf, done, done_flash, refusal};
use crate::AdminError;
use crate::ops::queue::{QueueAction, QueueFilter};
use crate::ops::{self, audit_log::timestamp};

#[derive(serde::Deserialize, Default)]
pub struct DoneQuery {
    done: Option<String>,
}

pub async fn queue(
    State(console): State<Console>,
    logged: LoggedIn,
    Query(q): Query<DoneQuery>,
) -> Response {
    let flash = done_flash(&logged, q.done.is_some());
    show_queue(&console, &logged, flash).await
}

async fn show_queue(console: &Console, logged: &LoggedIn, flash: Flash) -> Response {
    let lang = logged.lang;
    let list = match ops::queue::list(console.ctx(), &logged.actor).await {
        Ok(l) => l,
        Err(e) => return page(lang, Some(logged), lang.t("queue"), &refusal(logged, e), ""),
    };
    let tz = console.config().tz_offset_secs;
    let mut html = format!(
        r#"<form method="post" action="/queue/retry">{}<fieldset><label>{} <input name="sender_domain" maxlength="253"></label><label>{} <input name="recipient_domain" maxlength="253"></label><label>{} <input name="older_than_hours" type="number" min="0" max="100000"></label><button type="submit" formaction="/queue/retry">{}</button> <button type="submit" formaction="/queue/delete">{}</button></fieldset>"#,
        csrf_field(&logged.csrf),
        esc(lang.t("sender_domain")),
        esc(lang.t("recipient_domain")),
        esc(lang.t("older_than_hours")),
        esc(lang.t("retry")),
        esc(lang.t("delete"))
    );
    let _ = write!(
        html,
        r#"<table id="queue"><tr><th></th><th>ID</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>"#,
        esc(lang.t("sender")),
        esc(lang.t("recipients")),
        esc(lang.t("size")),
        esc(lang.t("queued_at"))
    );
    for m in &list {
        let rcpts: Vec<String> = m
            .recipients
            .iter()
            .map(|r| {
                format!(
                    "{} ({}, {}{})",
                    esc(&r.recipient),
                    esc(&r.status),
                    r.attempts,
                    r.last_error
                        .as_deref()
                        .map(|e| format!(": {}", esc(e)))
                        .unwrap_or_default()
                )
            })
            .collect();
        let _ = write!(
            html,
            r#"<tr><td><input type="checkbox" name="id" value="{0}"></td><td>{0}</td><td>{1}</td><td>{2}</td><td>{3}</td><td>{4}</td></tr>"#,
            esc(&m.id),
            esc(&m.sender),
            rcpts.join("<br>"),
            size(m.size),
            esc(&timestamp(m.created_at, tz))
        );
    }
    html.push_str("</table></form>");
    page(lang, Some(logged), lang.t("queue"), &flash, &html)
}

pub async fn queue_action(
    State(console): State<Console>,
    logged: LoggedIn,
    Path(action): Path<String>,
    form: FormData,
) -> Response {
    if let Some(r) = check_csrf(&logged, &form) {
        return r;
    }
    let action = match action.as_str() {
        "retry" => QueueAction::Retry,
        "delete" => QueueAction::Delete,
        "hold" => QueueAction::Hold,
        "release" => QueueAction::Release,
        _ => return (StatusCode::NOT_FOUND, "no such action").into_response(),
    };
    let result = async {
        let ids = form.all("id");
        if !ids.is_empty() {
            for id in &ids {
                ops::queue::act(console.ctx(), &logged.actor, id, action).await?;
            }
            return Ok(());
        }
        let older = match form.text("older_than_hours") {
            Some(h) => Some(
                h.parse::<i64>()
                    .ok()
                    .filter(|h| (0..=100_000).contains(h))
                    .ok_or_else(|| AdminError::field("older_than_hours", "a number of hours"))?
                    * 3600,
            ),
            None => None,
        };
        let filter = QueueFilter {
            sender_domain: form.text("sender_domain"),
            recipient_domain: form.text("recipient_domain"),
            older_than_secs: older,
        };
        ops::queue::act_matching(console.ctx(), &logged.actor, &filter, action)
            .await
            .map(|_| ())
    }
    .await;
    match result {
        Ok(()) => done("/queue"),
        Err(e) => show_queue(&console, &logged, refusal(&logged, e)).await,
    }
}

pub async fn dkim(State(console): State<Console>, logged: LoggedIn) -> Response {
    let lang = logged.lang;
    let keys = match ops::dkim::list(console.ctx(), &logged.actor).await {
        Ok(k) => k,
        Err(e) => return page(lang, Some(&logged), "DKIM", &refusal(&logged, e), ""),
    };
    let mut html = format!(
        r#"<table id="dkim"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>"#,
        esc(lang.t("domain")),
        esc(lang.t("selector")),
        esc(lang.t("algorithm")),
        esc(lang.t("active")),
        esc(lang.t("dns_record"))
    );
    for k in &keys {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code> TXT<pre>{}</pre></td></tr>",
            esc(&k.domain),
            esc(&k.selector),
            esc(&k.algorithm),
            esc(lang.t(if k.is_active { "yes" } else { "no" })),
            esc(&k.dns_name),
            esc(&k.dns_txt)
        );
    }
    html.push_str("</table><p>baedal dkim generate DOMAIN</p>");
    page(lang, Some(&logged), "DKIM", &Flash::none(), &html)
}
