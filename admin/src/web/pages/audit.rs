//! `/audit` and `/audit.csv`: the audit log, searched by administrator, object, action and
//! time range (dates in the site's time zone).

use std::fmt::Write;

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use baedal_storage::admins::audit::AuditQuery;

use super::super::Console;
use super::super::html::{Flash, esc, page};
use super::super::session::LoggedIn;
use super::directory::csv_response;
use super::refusal;
use crate::ops::audit_log::{self, timestamp};

const PAGE_SIZE: i64 = 100;

#[derive(serde::Deserialize, Default)]
pub struct AuditParams {
    actor: Option<String>,
    object: Option<String>,
    action: Option<String>,
    /// `YYYY-MM-DD` in the site's zone.
    since: Option<String>,
    until: Option<String>,
    page: Option<i64>,
}

/// `YYYY-MM-DD` (site zone) to seconds; `end` gives the end of that day.
pub fn parse_day(text: &str, offset: i64, end: bool) -> Option<i64> {
    let mut parts = text.trim().splitn(3, '-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: i64 = parts.next()?.parse().ok()?;
    let d: i64 = parts.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || !(1970..=9999).contains(&y) {
        return None;
    }
    // Days from civil (Howard Hinnant), the inverse of clock::civil_from_days.
    let y2 = if m <= 2 { y - 1 } else { y };
    let era = y2.div_euclid(400);
    let yoe = y2 - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let start = days * 86_400 - offset;
    Some(if end { start + 86_399 } else { start })
}

fn query_of(p: &AuditParams, offset: i64, limit: i64) -> AuditQuery {
    let some = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
    AuditQuery {
        actor: some(&p.actor),
        object: some(&p.object),
        action: some(&p.action),
        since: p.since.as_deref().and_then(|s| parse_day(s, offset, false)),
        until: p.until.as_deref().and_then(|s| parse_day(s, offset, true)),
        offset: (p.page.unwrap_or(1).clamp(1, 1_000_000) - 1) * limit,
        limit,
        ..AuditQuery::default()
    }
}

pub async fn show(
    State(console): State<Console>,
    logged: LoggedIn,
    Query(p): Query<AuditParams>,
) -> Response {
    let lang = logged.lang;
    let tz = console.config().tz_offset_secs;
    let (total, entries) =
        match audit_log::search(console.ctx(), &logged.actor, query_of(&p, tz, PAGE_SIZE)).await {
            Ok(found) => found,
            Err(e) => {
                return page(
                    lang,
                    Some(&logged),
                    lang.t("audit"),
                    &refusal(&logged, e),
                    "",
                );
            }
        };
    let v = |o: &Option<String>| esc(o.as_deref().unwrap_or(""));
    let mut html = format!(
        r#"<form method="get" action="/audit"><label>{} <input name="actor" value="{}"></label><label>{} <input name="object" value="{}"></label><label>{} <input name="action" value="{}"></label><label>{} <input name="since" type="date" value="{}"></label><label>{} <input name="until" type="date" value="{}"></label><button type="submit">{}</button></form><p><a href="/audit.csv?actor={}&amp;object={}&amp;action={}&amp;since={}&amp;until={}">{}</a> ({total})</p>"#,
        esc(lang.t("actor")),
        v(&p.actor),
        esc(lang.t("object")),
        v(&p.object),
        esc(lang.t("action")),
        v(&p.action),
        esc(lang.t("since")),
        v(&p.since),
        esc(lang.t("until")),
        v(&p.until),
        esc(lang.t("search")),
        v(&p.actor),
        v(&p.object),
        v(&p.action),
        v(&p.since),
        v(&p.until),
        esc(lang.t("export_csv"))
    );
    let _ = write!(
        html,
        r#"<table id="audit"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>"#,
        esc(lang.t("when")),
        esc(lang.t("actor")),
        esc(lang.t("role")),
        esc(lang.t("source_ip")),
        esc(lang.t("via")),
        esc(lang.t("action")),
        esc(lang.t("object")),
        esc(lang.t("change"))
    );
    for e in &entries {
        let json =
            |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string()).unwrap_or_default();
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code> → <code>{}</code></td></tr>",
            esc(&timestamp(e.at, tz)),
            esc(&e.actor),
            esc(&e.role),
            esc(&e.source_ip),
            esc(&e.via),
            esc(&e.action),
            esc(&e.object),
            esc(&json(&e.before)),
            esc(&json(&e.after))
        );
    }
    html.push_str("</table>");
    page(lang, Some(&logged), lang.t("audit"), &Flash::none(), &html)
}

pub async fn csv(
    State(console): State<Console>,
    logged: LoggedIn,
    Query(p): Query<AuditParams>,
) -> Response {
    let tz = console.config().tz_offset_secs;
    match audit_log::search(console.ctx(), &logged.actor, query_of(&p, tz, 100_000)).await {
        Ok((_, entries)) => csv_response("audit.csv", audit_log::to_csv(&entries, tz)),
        Err(e) => super::super::error::ApiError::from(e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn days_in_the_site_zone() {
        assert_eq!(super::parse_day("1970-01-01", 0, false), Some(0));
        assert_eq!(
            super::parse_day("1970-01-02", 9 * 3600, false),
            Some(86_400 - 9 * 3600)
        );
        assert_eq!(super::parse_day("2026-11-18", 0, true), Some(1_795_046_399));
        assert_eq!(super::parse_day("2026-13-01", 0, false), None);
        assert_eq!(super::parse_day("x", 0, false), None);
    }
}

#[derive(serde::Deserialize, Default)]
pub struct LogParams {
    kind: Option<String>,
    address: Option<String>,
    ip: Option<String>,
    message_id: Option<String>,
    since: Option<String>,
    until: Option<String>,
    page: Option<i64>,
}

/// `/logs`: authentication, delivery and error events, by kind, address, IP, message id
/// and day range.
pub async fn logs(
    State(console): State<Console>,
    logged: LoggedIn,
    Query(p): Query<LogParams>,
) -> Response {
    use baedal_storage::events::{EventKind, EventQuery};
    let lang = logged.lang;
    let tz = console.config().tz_offset_secs;
    let some = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
    let query = EventQuery {
        kind: p.kind.as_deref().and_then(EventKind::parse),
        address: some(&p.address),
        remote_ip: some(&p.ip),
        message_id: some(&p.message_id),
        since: p.since.as_deref().and_then(|s| parse_day(s, tz, false)),
        until: p.until.as_deref().and_then(|s| parse_day(s, tz, true)),
        offset: (p.page.unwrap_or(1).clamp(1, 1_000_000) - 1) * PAGE_SIZE,
        limit: PAGE_SIZE,
        ..EventQuery::default()
    };
    let (total, events) = match crate::ops::logs::search(console.ctx(), &logged.actor, query).await
    {
        Ok(found) => found,
        Err(e) => {
            return page(
                lang,
                Some(&logged),
                lang.t("logs"),
                &refusal(&logged, e),
                "",
            );
        }
    };
    let v = |o: &Option<String>| esc(o.as_deref().unwrap_or(""));
    let kind = p.kind.as_deref().unwrap_or("");
    let options: String = ["", "auth", "delivery", "error"]
        .iter()
        .map(|k| {
            format!(
                r#"<option value="{k}"{}>{k}</option>"#,
                if *k == kind { " selected" } else { "" }
            )
        })
        .collect();
    let mut html = format!(
        r#"<form method="get" action="/logs"><label>{} <select name="kind">{options}</select></label><label>{} <input name="address" value="{}"></label><label>IP <input name="ip" value="{}"></label><label>{} <input name="message_id" value="{}"></label><label>{} <input name="since" type="date" value="{}"></label><label>{} <input name="until" type="date" value="{}"></label><button type="submit">{}</button></form><p>({total})</p>"#,
        esc(lang.t("kind")),
        esc(lang.t("address")),
        v(&p.address),
        v(&p.ip),
        esc(lang.t("message_id")),
        v(&p.message_id),
        esc(lang.t("since")),
        v(&p.since),
        esc(lang.t("until")),
        v(&p.until),
        esc(lang.t("search"))
    );
    let _ = write!(
        html,
        r#"<table id="logs"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>IP</th><th>{}</th><th>{}</th></tr>"#,
        esc(lang.t("when")),
        esc(lang.t("kind")),
        esc(lang.t("protocol")),
        esc(lang.t("result")),
        esc(lang.t("address")),
        esc(lang.t("message_id")),
        esc(lang.t("detail"))
    );
    for e in &events {
        let _ = write!(
            html,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&timestamp(e.at, tz)),
            esc(e.kind.as_str()),
            esc(&e.protocol),
            esc(&e.result),
            esc(&e.address),
            esc(&e.remote_ip),
            esc(&e.message_id),
            esc(&e.detail)
        );
    }
    html.push_str("</table>");
    page(lang, Some(&logged), lang.t("logs"), &Flash::none(), &html)
}
