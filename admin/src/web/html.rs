//! Page layout. Every value shown goes through [`esc`]; nothing a user typed reaches a page
//! unescaped, and the CSP allows no script at all.

use std::fmt::Write;

use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use super::i18n::Lang;
use super::session::LoggedIn;
use crate::ops::Permission;

/// HTML-escapes text for element content and quoted attributes.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A message above the page's content: done, or refused with a reason.
#[derive(Debug, Clone)]
pub struct Flash {
    pub status: StatusCode,
    pub notice: Option<String>,
    pub error: Option<String>,
}

impl Flash {
    pub fn none() -> Self {
        Self {
            status: StatusCode::OK,
            notice: None,
            error: None,
        }
    }

    pub fn notice(text: impl Into<String>) -> Self {
        Self {
            notice: Some(text.into()),
            ..Self::none()
        }
    }

    pub fn error(status: StatusCode, text: impl Into<String>) -> Self {
        Self {
            status,
            notice: None,
            error: Some(text.into()),
        }
    }
}

pub fn csrf_field(csrf: &str) -> String {
    format!(r#"<input type="hidden" name="csrf" value="{}">"#, esc(csrf))
}

/// A form with one button that posts to `action`.
pub fn post_button(action: &str, csrf: &str, label: &str) -> String {
    format!(
        r#"<form method="post" action="{}" class="inline">{}<button type="submit">{}</button></form>"#,
        esc(action),
        csrf_field(csrf),
        esc(label)
    )
}

const STYLE: &str = "body{font-family:system-ui,'Noto Sans KR',sans-serif;margin:0;color:#1d2330;background:#f5f6f8}\
header{background:#1f3a5f;color:#fff;padding:.6em 1.2em;display:flex;gap:1.2em;align-items:center;flex-wrap:wrap}\
header a{color:#fff;text-decoration:none}header .who{margin-left:auto}\
main{padding:1.2em;max-width:1200px}table{border-collapse:collapse;background:#fff;width:100%;margin:.6em 0}\
th,td{border:1px solid #d5d9e0;padding:.35em .6em;text-align:left;vertical-align:top;font-size:.92em}\
th{background:#e9edf3}.notice{background:#e3f4e6;border:1px solid #8cc79a;padding:.6em}\
.error{background:#fbe4e4;border:1px solid #d98b8b;padding:.6em}form.inline{display:inline}\
fieldset{background:#fff;border:1px solid #d5d9e0;margin:.8em 0}label{display:inline-block;margin:.2em .8em .2em 0}\
.bar{display:inline-block;width:8em;height:.8em;background:#e2e6ec;vertical-align:middle}\
.bar span{display:block;height:100%;background:#3b7dd8}.bar.full span{background:#d84b3b}\
.badge{background:#d84b3b;color:#fff;border-radius:.4em;padding:0 .4em;font-size:.8em;margin-left:.4em}\
.cards{display:flex;flex-wrap:wrap;gap:.8em}.card{background:#fff;border:1px solid #d5d9e0;padding:.8em;min-width:11em}\
.card b{display:block;font-size:1.6em}code,pre{background:#eef1f5;padding:.1em .3em;white-space:pre-wrap;word-break:break-all}";

/// A whole page: the navigation for what the role may do, the flash, the content.
pub fn page(
    lang: Lang,
    logged: Option<&LoggedIn>,
    title: &str,
    flash: &Flash,
    content: &str,
) -> Response {
    let mut html = String::with_capacity(content.len() + 4096);
    let _ = write!(
        html,
        r#"<!DOCTYPE html><html lang="{}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>{} · {}</title><style>{STYLE}</style></head><body><header><strong>Baedal</strong>"#,
        lang.code(),
        esc(title),
        esc(lang.t("title"))
    );
    if let Some(l) = logged {
        let a = &l.actor;
        let nav: [(&str, &str, bool); 9] = [
            ("/", "dashboard", true),
            ("/domains", "domains", a.may(Permission::ViewDomains)),
            ("/users", "users", a.may(Permission::ViewUsers)),
            ("/aliases", "aliases", a.may(Permission::ManageAliases)),
            ("/queue", "queue", a.may(Permission::ManageQueue)),
            ("/dkim", "dkim", a.may(Permission::ManageDkim)),
            ("/logs", "logs", a.may(Permission::ViewLogs)),
            ("/audit", "audit", a.may(Permission::ViewAudit)),
            ("/account", "account", true),
        ];
        for (href, key, shown) in nav {
            if shown {
                let _ = write!(html, r#"<a href="{href}">{}</a>"#, esc(lang.t(key)));
            }
        }
        let _ = write!(
            html,
            r#"<span class="who">{} {} ({})</span><form method="post" action="/logout" class="inline logout">{}<button type="submit" class="logout">{}</button></form>"#,
            esc(lang.t("logged_in_as")),
            esc(&a.name),
            esc(a.role.as_str()),
            csrf_field(&l.csrf),
            esc(lang.t("logout"))
        );
    }
    let other = if lang == Lang::Ko { "en" } else { "ko" };
    let _ = write!(
        html,
        r#"<a href="?lang={other}">{}</a></header><main><h1>{}</h1>"#,
        esc(lang.t("language")),
        esc(title)
    );
    if let Some(n) = &flash.notice {
        let _ = write!(html, r#"<p class="notice">{}</p>"#, esc(n));
    }
    if let Some(e) = &flash.error {
        let _ = write!(html, r#"<p class="error">{}</p>"#, esc(e));
    }
    html.push_str(content);
    html.push_str("</main></body></html>");
    let mut response = (flash.status, Html(html)).into_response();
    response.headers_mut().insert(
        header::CONTENT_LANGUAGE,
        axum::http::HeaderValue::from_static(lang.code()),
    );
    response
}

/// A byte count for people: `1.5 GiB`.
pub fn size(bytes: i64) -> String {
    baedal_storage::ByteSize(u64::try_from(bytes).unwrap_or(0)).to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            super::esc(r#"<script>alert('x')</script>&"#),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;"
        );
        assert_eq!(super::esc("\" onmouseover=\""), "&quot; onmouseover=&quot;");
    }
}
