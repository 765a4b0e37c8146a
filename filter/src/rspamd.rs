//! An Rspamd client: `POST /checkv2` to the normal worker (Rspamd's HTTP protocol), with
//! the message streamed from the spool file as the body and the envelope and session facts
//! as request headers. Connections are pooled (HTTP/1.1 keep-alive).

use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use futures_util::TryStreamExt;
use http_body_util::{BodyExt, StreamBody, combinators::BoxBody};
use hyper::body::Frame;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use tokio_util::io::ReaderStream;

use crate::headers::{HeaderEdit, clean_name, clean_value};
use crate::{Envelope, FilterError};

/// Rspamd's replies are small; a bigger one is not trusted.
const MAX_REPLY: usize = 1024 * 1024;
/// Symbols named in the log line, highest score first.
const MAX_LOGGED_SYMBOLS: usize = 40;
/// Headers taken from one reply.
const MAX_HEADERS: usize = 32;

/// Rspamd's `action`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    NoAction,
    Greylist,
    AddHeader,
    RewriteSubject,
    SoftReject,
    Reject,
}

impl Action {
    fn parse(action: &str) -> Option<Self> {
        Some(match action {
            "no action" => Self::NoAction,
            "greylist" => Self::Greylist,
            "add header" => Self::AddHeader,
            "rewrite subject" => Self::RewriteSubject,
            "soft reject" => Self::SoftReject,
            "reject" => Self::Reject,
            _ => return None,
        })
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::NoAction => "no action",
            Self::Greylist => "greylist",
            Self::AddHeader => "add header",
            Self::RewriteSubject => "rewrite subject",
            Self::SoftReject => "soft reject",
            Self::Reject => "reject",
        }
    }
}

/// What Rspamd said of one message.
#[derive(Debug, Clone, PartialEq)]
pub struct RspamdReply {
    pub action: Action,
    pub score: f64,
    pub required_score: f64,
    /// `NAME(score)`, highest score first, at most [`MAX_LOGGED_SYMBOLS`].
    pub symbols: Vec<String>,
    /// The new Subject for `rewrite subject`.
    pub subject: Option<String>,
    /// Headers to add and remove (`milter.add_headers` / `milter.remove_headers`).
    pub headers: HeaderEdit,
    /// `messages.smtp_message`: the text for the SMTP reply.
    pub smtp_message: Option<String>,
}

type Body = BoxBody<Bytes, std::io::Error>;

/// A client of one Rspamd normal worker.
pub struct Rspamd {
    check_url: hyper::Uri,
    ping_url: hyper::Uri,
    client: Client<HttpConnector, Body>,
    timeout: Duration,
}

impl Rspamd {
    /// `url` is the worker's base URL (`http://127.0.0.1:11333`).
    pub fn new(url: &str, timeout: Duration) -> Result<Self, FilterError> {
        let base = url.trim_end_matches('/');
        let parse = |path: &str| {
            format!("{base}{path}")
                .parse::<hyper::Uri>()
                .map_err(|e| FilterError::Config(format!("rspamd.url '{url}': {e}")))
        };
        let check_url = parse("/checkv2")?;
        if check_url.scheme_str() != Some("http") {
            return Err(FilterError::Config(format!(
                "rspamd.url '{url}': only http:// is supported (Rspamd's worker speaks plain HTTP)"
            )));
        }
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(timeout));
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(64)
            .build(connector);
        Ok(Self {
            check_url,
            ping_url: parse("/ping")?,
            client,
            timeout,
        })
    }

    /// Checks the message in the file at `path` (`size` bytes).
    pub async fn check(
        &self,
        request: &Envelope<'_>,
        path: &Path,
        size: u64,
    ) -> Result<RspamdReply, FilterError> {
        match tokio::time::timeout(self.timeout, self.post(request, path, size)).await {
            Ok(result) => result,
            Err(_) => Err(FilterError::Timeout),
        }
    }

    async fn post(
        &self,
        request: &Envelope<'_>,
        path: &Path,
        size: u64,
    ) -> Result<RspamdReply, FilterError> {
        let file = tokio::fs::File::open(path)
            .await
            .map_err(FilterError::Spool)?;
        let body: Body = BodyExt::boxed(StreamBody::new(
            ReaderStream::with_capacity(file, 64 * 1024).map_ok(Frame::data),
        ));
        let mut builder = hyper::Request::post(self.check_url.clone())
            .header("Content-Length", size)
            .header("IP", request.client_ip.to_canonical().to_string())
            .header("Queue-Id", header_safe(request.queue_id))
            .header("Hostname", header_safe(request.hostname))
            .header("Pass", "all");
        if !request.helo.is_empty() {
            builder = builder.header("Helo", header_safe(request.helo));
        }
        // The null reverse-path is sent as Rspamd expects it: an empty address.
        builder = builder.header("From", header_safe(request.mail_from));
        for rcpt in request.recipients {
            builder = builder.header("Rcpt", header_safe(rcpt));
        }
        if let Some(user) = request.user {
            builder = builder.header("User", header_safe(user));
        }
        let http_request = builder
            .body(body)
            .map_err(|e| FilterError::Protocol(format!("request: {e}")))?;
        let response = self
            .client
            .request(http_request)
            .await
            .map_err(|e| FilterError::Unavailable(format!("rspamd: {e}")))?;
        let status = response.status();
        let body = http_body_util::Limited::new(response.into_body(), MAX_REPLY)
            .collect()
            .await
            .map_err(|e| FilterError::Unavailable(format!("rspamd reply: {e}")))?
            .to_bytes();
        if !status.is_success() {
            return Err(FilterError::Unavailable(format!(
                "rspamd answered HTTP {status}: {}",
                String::from_utf8_lossy(&body[..body.len().min(200)])
            )));
        }
        parse_reply(&body)
    }

    /// Is the worker there? (`GET /ping`.)
    pub async fn ping(&self) -> Result<(), FilterError> {
        let request = hyper::Request::get(self.ping_url.clone())
            .body(BodyExt::boxed(
                http_body_util::Empty::new().map_err(|never| match never {}),
            ))
            .map_err(|e| FilterError::Protocol(e.to_string()))?;
        let ping = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| FilterError::Unavailable(format!("rspamd: {e}")))?;
            let status = response.status();
            let body = http_body_util::Limited::new(response.into_body(), 1024)
                .collect()
                .await
                .map_err(|e| FilterError::Unavailable(format!("rspamd: {e}")))?
                .to_bytes();
            if status.is_success() && body.starts_with(b"pong") {
                Ok(())
            } else {
                Err(FilterError::Unavailable(format!(
                    "rspamd answered /ping with HTTP {status}"
                )))
            }
        };
        match tokio::time::timeout(self.timeout.min(Duration::from_secs(5)), ping).await {
            Ok(result) => result,
            Err(_) => Err(FilterError::Timeout),
        }
    }
}

/// A peer-given string as an HTTP header value: visible ASCII and spaces, bounded.
fn header_safe(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii() && !c.is_ascii_control())
        .take(512)
        .collect()
}

/// The parts of a `/checkv2` JSON reply Baedal acts on.
pub fn parse_reply(body: &[u8]) -> Result<RspamdReply, FilterError> {
    let json: Value = serde_json::from_slice(body)
        .map_err(|e| FilterError::Protocol(format!("rspamd reply is not JSON: {e}")))?;
    let action_text = json
        .get("action")
        .and_then(Value::as_str)
        .ok_or_else(|| FilterError::Protocol("rspamd reply has no action".into()))?;
    let action = Action::parse(action_text)
        .ok_or_else(|| FilterError::Protocol(format!("unknown rspamd action '{action_text}'")))?;
    let number = |key: &str| json.get(key).and_then(Value::as_f64).unwrap_or(0.0);
    let mut symbols: Vec<(String, f64)> = json
        .get("symbols")
        .and_then(Value::as_object)
        .map(|symbols| {
            symbols
                .iter()
                .map(|(name, s)| {
                    let score = s.get("score").and_then(Value::as_f64).unwrap_or(0.0);
                    (name.clone(), score)
                })
                .collect()
        })
        .unwrap_or_default();
    symbols.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let symbols = symbols
        .into_iter()
        .take(MAX_LOGGED_SYMBOLS)
        .map(|(name, score)| format!("{}({score:.2})", header_safe(&name)))
        .collect();
    let subject = json.get("subject").and_then(Value::as_str).map(clean_value);
    let smtp_message = json
        .pointer("/messages/smtp_message")
        .and_then(Value::as_str)
        .map(header_safe)
        .filter(|s| !s.is_empty());
    let milter = json.get("milter");
    let mut headers = HeaderEdit::default();
    if let Some(add) = milter
        .and_then(|m| m.get("add_headers"))
        .and_then(Value::as_object)
    {
        for (name, value) in add {
            let Some(name) = clean_name(name) else {
                continue;
            };
            // A value is a string, `{"value": ..., "order": n}`, or a list of those.
            let values: Vec<&Value> = match value {
                Value::Array(list) => list.iter().collect(),
                other => vec![other],
            };
            for value in values {
                let text = match value {
                    Value::String(s) => Some(s.as_str()),
                    Value::Object(o) => o.get("value").and_then(Value::as_str),
                    _ => None,
                };
                if let Some(text) = text
                    && headers.add.len() < MAX_HEADERS
                {
                    headers.add.push((name.clone(), clean_value(text)));
                }
            }
        }
    }
    if let Some(remove) = milter
        .and_then(|m| m.get("remove_headers"))
        .and_then(Value::as_object)
    {
        for name in remove.keys() {
            if let Some(name) = clean_name(name)
                && headers.remove.len() < MAX_HEADERS
            {
                headers.remove.push(name);
            }
        }
    }
    Ok(RspamdReply {
        action,
        score: number("score"),
        required_score: number("required_score"),
        symbols,
        subject,
        headers,
        smtp_message,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_reply_with_milter_headers() {
        let reply = parse_reply(
            br#"{"is_skipped":false,"score":7.5,"required_score":15.0,"action":"add header",
            "symbols":{"A":{"score":1.0},"B":{"score":5.5},"C":{"score":-1.0}},
            "subject":"*** SPAM *** hi\r\nBcc: x@y",
            "messages":{"smtp_message":"Spam message rejected\r\n"},
            "milter":{"add_headers":{"X-Spamd-Result":{"value":"default: False [7.50 / 15.00];\n\tA(1.00)","order":0},
              "X-Spam-Status":"Yes, score=7.50","X-Multi":[{"value":"1","order":0},"2"],"Bad Name:":"x"},
              "remove_headers":{"X-Spam":1}}}"#,
        )
        .unwrap();
        assert_eq!(reply.action, Action::AddHeader);
        assert_eq!(reply.score, 7.5);
        assert_eq!(reply.symbols, ["B(5.50)", "A(1.00)", "C(-1.00)"]);
        // No header can be smuggled through a value.
        assert_eq!(
            reply.subject.as_deref(),
            Some("*** SPAM *** hi\r\n\tBcc: x@y")
        );
        assert_eq!(reply.smtp_message.as_deref(), Some("Spam message rejected"));
        assert!(reply.headers.add.contains(&(
            "X-Spamd-Result".into(),
            "default: False [7.50 / 15.00];\r\n\tA(1.00)".into()
        )));
        assert!(
            reply
                .headers
                .add
                .contains(&("X-Spam-Status".into(), "Yes, score=7.50".into()))
        );
        assert_eq!(
            reply
                .headers
                .add
                .iter()
                .filter(|(n, _)| n == "X-Multi")
                .count(),
            2
        );
        assert!(!reply.headers.add.iter().any(|(n, _)| n.contains(' ')));
        assert_eq!(reply.headers.remove, ["X-Spam"]);
    }

    #[test]
    fn refuses_what_is_not_a_reply() {
        assert!(parse_reply(b"<html>").is_err());
        assert!(parse_reply(br#"{"score":1}"#).is_err());
        assert!(parse_reply(br#"{"action":"discard everything"}"#).is_err());
    }
}
