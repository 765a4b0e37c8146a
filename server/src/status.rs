//! The running server's health in one answer: `/status` on the HTTP listener (JSON) and
//! `baedal status [--json]`, which asks it (the address from the server's
//! `run/listeners.json` in the data directory). What it tells: version, uptime, the bound
//! listeners, readiness (as `/readyz`), queue depth and age, the last LDAP sync, and whether
//! the database and the blob store answer.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long `baedal status` waits for the server.
const ASK_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest answer `baedal status` reads.
const ANSWER_MAX: u64 = 1 << 20;

static STARTED: OnceLock<i64> = OnceLock::new();
static LISTENERS: OnceLock<BTreeMap<String, Vec<String>>> = OnceLock::new();
static LDAP_SYNC: Mutex<Option<LdapSync>> = Mutex::new(None);

/// The outcome of the last periodic LDAP sync.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LdapSync {
    pub at: i64,
    pub ok: bool,
    pub detail: String,
}

/// A backend's answer to its probe.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Backend {
    pub ok: bool,
    pub millis: u64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QueueStatus {
    pub waiting: i64,
    pub oldest_age_seconds: i64,
}

/// What `/status` answers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub version: String,
    pub ready: bool,
    pub readiness: String,
    pub uptime_seconds: i64,
    pub listeners: BTreeMap<String, Vec<String>>,
    pub queue: Option<QueueStatus>,
    pub ldap_sync: Option<LdapSync>,
    pub database: Backend,
    pub blob_store: Backend,
}

/// Marks the start of the server (once).
pub fn started() {
    STARTED.get_or_init(baedal_storage::clock::now_secs);
}

pub fn uptime_seconds() -> i64 {
    STARTED
        .get()
        .map_or(0, |s| baedal_storage::clock::now_secs() - s)
}

/// The listeners as bound (once, when all are).
pub fn set_listeners(bound: &BTreeMap<&str, Vec<SocketAddr>>) {
    let named = bound
        .iter()
        .map(|(k, v)| (k.to_string(), v.iter().map(SocketAddr::to_string).collect()))
        .collect();
    let _ = LISTENERS.set(named);
}

pub fn listeners() -> BTreeMap<String, Vec<String>> {
    LISTENERS.get().cloned().unwrap_or_default()
}

/// Records the outcome of a periodic LDAP sync.
pub fn ldap_synced(ok: bool, detail: String) {
    if let Ok(mut last) = LDAP_SYNC.lock() {
        *last = Some(LdapSync {
            at: baedal_storage::clock::now_secs(),
            ok,
            detail,
        });
    }
}

pub fn last_ldap_sync() -> Option<LdapSync> {
    LDAP_SYNC.lock().ok().and_then(|last| last.clone())
}

/// Why `baedal status` has no answer: one line saying what to do.
#[derive(Debug, thiserror::Error)]
pub enum AskError {
    #[error("the server is not running here ({0} is missing): start it with `baedal serve`")]
    NotRunning(String),
    #[error("{0}")]
    Unreadable(String),
    #[error("no answer from the server at {0}: {1}; is `baedal serve` running?")]
    NoAnswer(SocketAddr, String),
    #[error("the server at {0} answered something else than a status: {1}")]
    BadAnswer(SocketAddr, String),
}

/// `baedal status`: asks the server whose data directory is `data_dir`.
pub async fn ask(data_dir: &Path) -> Result<Report, AskError> {
    let file = crate::serve::listeners_file(data_dir);
    let text = std::fs::read(&file).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => AskError::NotRunning(file.display().to_string()),
        _ => AskError::Unreadable(format!("cannot read {}: {e}", file.display())),
    })?;
    let bound: BTreeMap<String, Vec<SocketAddr>> = serde_json::from_slice(&text)
        .map_err(|e| AskError::Unreadable(format!("{} is not valid: {e}", file.display())))?;
    let mut addr = bound
        .get("http")
        .and_then(|a| a.first().copied())
        .ok_or_else(|| {
            AskError::Unreadable(format!("{} names no HTTP listener", file.display()))
        })?;
    // A wildcard address is reached on loopback.
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    let body = tokio::time::timeout(ASK_TIMEOUT, get(addr, "/status"))
        .await
        .map_err(|_| AskError::NoAnswer(addr, format!("nothing within {ASK_TIMEOUT:?}")))?
        .map_err(|e| AskError::NoAnswer(addr, e.to_string()))?;
    serde_json::from_slice(&body).map_err(|e| AskError::BadAnswer(addr, e.to_string()))
}

/// One HTTP/1.1 GET on loopback; the body.
async fn get(addr: SocketAddr, path: &str) -> std::io::Result<Vec<u8>> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut answer = Vec::new();
    stream.take(ANSWER_MAX).read_to_end(&mut answer).await?;
    let Some(end) = answer.windows(4).position(|w| w == b"\r\n\r\n") else {
        return Err(std::io::Error::other("no HTTP header"));
    };
    Ok(answer[end + 4..].to_vec())
}

/// The report as an operator reads it.
pub fn render(r: &Report) -> String {
    let mut out = format!(
        "baedal {}: {} (up {})\n",
        r.version,
        if r.ready { "ready" } else { "NOT READY" },
        duration(r.uptime_seconds)
    );
    if !r.ready {
        out.push_str(&format!("  {}\n", r.readiness.trim()));
    }
    for (name, addrs) in &r.listeners {
        out.push_str(&format!("listener {name:<12} {}\n", addrs.join(", ")));
    }
    match &r.queue {
        Some(q) => out.push_str(&format!(
            "queue               {} waiting, oldest {}\n",
            q.waiting,
            duration(q.oldest_age_seconds)
        )),
        None => out.push_str("queue               unreadable\n"),
    }
    match &r.ldap_sync {
        Some(s) => out.push_str(&format!(
            "last LDAP sync      {} ago, {}: {}\n",
            duration(baedal_storage::clock::now_secs() - s.at),
            if s.ok { "ok" } else { "FAILED" },
            s.detail
        )),
        None => out.push_str("last LDAP sync      none since start\n"),
    }
    for (name, b) in [("database", &r.database), ("blob store", &r.blob_store)] {
        match &b.error {
            None => out.push_str(&format!("{name:<19} ok ({} ms)\n", b.millis)),
            Some(e) => out.push_str(&format!("{name:<19} UNREACHABLE: {e}\n")),
        }
    }
    out
}

/// `3d 4h`, `2h 5m`, `7m 3s`, `12s`.
fn duration(secs: i64) -> String {
    let s = secs.max(0);
    let (d, h, m, sec) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m {sec}s")
    } else {
        format!("{sec}s")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(super::duration(12), "12s");
        assert_eq!(super::duration(7 * 60 + 3), "7m 3s");
        assert_eq!(super::duration(2 * 3600 + 5 * 60), "2h 5m");
        assert_eq!(super::duration(3 * 86_400 + 4 * 3600 + 1), "3d 4h");
        assert_eq!(super::duration(-5), "0s");
    }
}
