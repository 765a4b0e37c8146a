//! Python imaplib against a running site: [`PRELUDE`] gives a script `imap()` (STARTTLS and
//! LOGIN as alice@example.org), `imaps()` and `s()` (bytes to text); [`run`] runs a script
//! after it with the server's ports and CA file in its environment and returns its JSON.

use serde_json::Value;

use crate::{Server, Site, python};

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
