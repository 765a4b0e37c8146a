//! `/`: the dashboard. Statistics for the roles that may see them (super_admin, viewer);
//! the others see their links only.

use std::fmt::Write;

use axum::extract::State;
use axum::response::Response;
use baedal_metrics::Totals;

use super::super::Console;
use super::super::html::{Flash, esc, page, size};
use super::super::session::LoggedIn;
use crate::ops::{self, Permission};

fn minus(a: Totals, b: Totals) -> Totals {
    Totals {
        messages_in: a.messages_in.saturating_sub(b.messages_in),
        messages_submitted: a.messages_submitted.saturating_sub(b.messages_submitted),
        delivered: a.delivered.saturating_sub(b.delivered),
        delivery_failures: a.delivery_failures.saturating_sub(b.delivery_failures),
        auth_failures: a.auth_failures.saturating_sub(b.auth_failures),
        spam: a.spam.saturating_sub(b.spam),
        virus: a.virus.saturating_sub(b.virus),
    }
}

pub async fn show(State(console): State<Console>, logged: LoggedIn) -> Response {
    let lang = logged.lang;
    let mut html = String::from(r#"<section id="dashboard">"#);
    if logged.actor.may(Permission::ViewStats) {
        match ops::stats::collect(console.ctx(), &logged.actor).await {
            Ok(stats) => {
                let now = console.now();
                let last_hour = minus(stats.counters, console.totals_at(now - 3600));
                let cards = [
                    ("domains", stats.domains.to_string()),
                    ("users", stats.users.to_string()),
                    ("aliases", stats.aliases.to_string()),
                    ("queue_waiting", stats.queue_waiting.to_string()),
                    ("storage_used", size(stats.storage_used)),
                    ("users_near_quota", stats.users_near_quota.to_string()),
                ];
                html.push_str(r#"<div class="cards">"#);
                for (key, value) in cards {
                    let _ = write!(
                        html,
                        r#"<div class="card" id="stat-{key}">{}<b>{}</b></div>"#,
                        esc(lang.t(key)),
                        esc(&value)
                    );
                }
                html.push_str("</div>");
                let _ = write!(
                    html,
                    "<h2>{}</h2><table id=\"counters\"><tr><th></th><th>{}</th><th>{}</th></tr>",
                    esc(lang.t("messages_in")),
                    esc(lang.t("last_hour")),
                    esc(lang.t("since_start"))
                );
                let rows = |t: &Totals| {
                    [
                        ("messages_in", t.messages_in),
                        ("messages_submitted", t.messages_submitted),
                        ("delivered", t.delivered),
                        ("auth_failures", t.auth_failures),
                        ("spam", t.spam),
                        ("virus", t.virus),
                    ]
                };
                for ((key, hour), (_, total)) in
                    rows(&last_hour).into_iter().zip(rows(&stats.counters))
                {
                    let _ = write!(
                        html,
                        "<tr><th>{}</th><td>{hour}</td><td>{total}</td></tr>",
                        esc(lang.t(key))
                    );
                }
                html.push_str("</table>");
                let _ = write!(
                    html,
                    "<h2>{}</h2><table id=\"hourly\"><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr>",
                    esc(lang.t("per_hour")),
                    esc(lang.t("hour")),
                    esc(lang.t("messages_in")),
                    esc(lang.t("messages_submitted")),
                    esc(lang.t("delivered")),
                    esc(lang.t("auth_failures"))
                );
                let offset = console.config().tz_offset_secs;
                let hour_start = (now + offset).div_euclid(3600) * 3600 - offset;
                for h in 0..24 {
                    let from = hour_start - h * 3600;
                    let to = if h == 0 { now } else { from + 3600 };
                    let t = minus(console.totals_at(to), console.totals_at(from));
                    let label = ops::audit_log::timestamp(from, offset);
                    let _ = write!(
                        html,
                        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                        esc(&label[..16.min(label.len())]),
                        t.messages_in,
                        t.messages_submitted,
                        t.delivered,
                        t.auth_failures
                    );
                }
                html.push_str("</table>");
            }
            Err(e) => {
                let _ = write!(html, r#"<p class="error">{}</p>"#, esc(&e.to_string()));
            }
        }
    } else {
        let _ = write!(
            html,
            "<p>{} {} ({})</p>",
            esc(lang.t("logged_in_as")),
            esc(&logged.actor.name),
            esc(logged.actor.role.as_str())
        );
    }
    html.push_str("</section>");
    page(
        lang,
        Some(&logged),
        lang.t("dashboard"),
        &Flash::none(),
        &html,
    )
}
