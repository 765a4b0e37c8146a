//! Python imaplib against a running site: [`PRELUDE`] gives a script `imap()` (STARTTLS and
//! LOGIN as alice@example.org), `imaps()` and `s()` (bytes to text); [`run`] runs a script
//! after it with the server's ports and CA file in its environment and returns its JSON.

use serde_json::Value;

use crate::smtp::{self, assert_reply};
use crate::{Profile, Server, Site, python};

pub const PRELUDE: &str = r#"
import imaplib, json, os, poplib, socket, ssl, time
ctx = ssl.create_default_context(cafile=os.environ["CA"])
def imap(user="alice@example.org", pw="pw"):
    m = imaplib.IMAP4("localhost", int(os.environ["IMAP_PORT"]), timeout=30)
    m.starttls(ctx)
    if user:
        m.login(user, pw)
    return m
def imaps():
    m = imaplib.IMAP4_SSL("localhost", int(os.environ["IMAPS_PORT"]), ssl_context=ctx, timeout=30)
    m.login("alice@example.org", "pw")
    return m
def s(x):
    if isinstance(x, bytes): return x.decode("utf-8", "replace")
    if isinstance(x, (list, tuple)): return [s(i) for i in x]
    return x
"#;

/// Runs `body` after [`PRELUDE`] with IMAP_PORT, IMAPS_PORT, POP3_PORT, SMTP_PORT and CA set.
pub fn run(site: &Site, server: &Server, body: &str) -> Value {
    let env = vec![
        ("IMAP_PORT", server.addr("imap").port().to_string()),
        ("IMAPS_PORT", server.addr("imaps").port().to_string()),
        ("POP3_PORT", server.addr("pop3").port().to_string()),
        ("SMTP_PORT", server.addr("smtp").port().to_string()),
        (
            "CA",
            site.data_dir().join("tls/cert.pem").display().to_string(),
        ),
    ];
    python::run(&format!("{PRELUDE}\n{body}"), &env)
}

/// A site with alice@example.org, started, with `count` messages delivered to her over SMTP
/// (short login-failure delays).
pub fn site_with_mail(profile: Profile, count: usize) -> (Site, Server) {
    let site = Site::with_config(
        profile,
        "[imap]\nauth_failure_delay_ms = 300\n[pop3]\nauth_failure_delay_ms = 300\n",
    );
    site.add_users("example.org", &["alice"]);
    let server = site.serve();
    for i in 1..=count {
        deliver(&server, i);
    }
    (site, server)
}

/// Delivers message `i` (`Subject: message {i}`, `body of message {i}`) to alice over SMTP.
pub fn deliver(server: &Server, i: usize) {
    let body = format!(
        "From: Bob Lee <bob@remote.test>\r\nTo: alice@example.org\r\nSubject: message {i}\r\nMessage-ID: <{i}@remote.test>\r\nDate: Sat, 21 Nov 2026 06:35:00 +0000\r\n\r\nbody of message {i}\r\n"
    );
    let r = smtp::send(
        server.addr("smtp"),
        "bob@remote.test",
        &["alice@example.org"],
        body.as_bytes(),
        &[],
    );
    assert_reply(&r["data"], 250, "2.0.0");
}

/// The prelude of [`run_raw`]: `session(select="INBOX")` gives a raw client
/// (tests/clients/imap_raw.py) logged in as alice over IMAPS, with the mailbox selected.
pub const RAW_PRELUDE: &str = r#"
import json, os, sys, threading
sys.path.insert(0, os.environ["CLIENTS"])
from imap_raw import Raw, tagged, untagged
def session(select="INBOX"):
    c = Raw(int(os.environ["IMAPS_PORT"]), os.environ["CA"]).login("alice@example.org", "pw")
    if select:
        assert tagged(c.cmd("SELECT " + select))[0] == "OK"
    return c
"#;

/// Runs `body` after [`RAW_PRELUDE`] with IMAPS_PORT, IMAP_PORT, CA and CLIENTS set; returns
/// its JSON.
pub fn run_raw(site: &Site, server: &Server, body: &str) -> Value {
    let env = vec![
        ("IMAPS_PORT", server.addr("imaps").port().to_string()),
        ("IMAP_PORT", server.addr("imap").port().to_string()),
        (
            "CA",
            site.data_dir().join("tls/cert.pem").display().to_string(),
        ),
        (
            "CLIENTS",
            concat!(env!("CARGO_MANIFEST_DIR"), "/clients").to_string(),
        ),
    ];
    python::run(&format!("{RAW_PRELUDE}\n{body}"), &env)
}

/// A JSON array of strings (the response lines a raw-client script returns).
pub fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().unwrap_or_default().to_string())
        .collect()
}
