//! Independent SMTP clients: Python's smtplib and raw sockets (`tests/clients/smtp_client.py`),
//! swaks and curl.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn client_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("clients/smtp_client.py")
}

/// One transaction with smtplib: `{"ehlo", "mail", "rcpt": [[code, text]...], "data"}`.
/// `options` are extra flags of `smtp_client.py send` (`--starttls CA`, `--bdat`, ...).
pub fn send(addr: SocketAddr, from: &str, to: &[&str], message: &[u8], options: &[&str]) -> Value {
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), message).expect("write message");
    let mut cmd = Command::new("python3");
    cmd.arg(client_script()).args([
        "send",
        &addr.ip().to_string(),
        &addr.port().to_string(),
        "--from",
        from,
    ]);
    for rcpt in to {
        cmd.args(["--to", rcpt]);
    }
    cmd.arg("--file").arg(file.path()).args(options);
    let out = cmd.output().expect("python3");
    assert!(
        out.status.success(),
        "smtp_client.py send failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON from smtp_client.py")
}

/// Sends `payload` in one write and returns every reply line until the server closes.
pub fn raw(addr: SocketAddr, payload: &[u8]) -> Vec<String> {
    let out = crate::python::pipe(
        &client_script(),
        &["raw", &addr.ip().to_string(), &addr.port().to_string()],
        payload,
    );
    let v: Value = serde_json::from_slice(&out).expect("JSON");
    v["replies"]
        .as_array()
        .expect("replies")
        .iter()
        .map(|l| l.as_str().expect("line").to_string())
        .collect()
}

/// `[code, text]` → (code, text).
pub fn code(reply: &Value) -> (i64, String) {
    (
        reply[0]
            .as_i64()
            .unwrap_or_else(|| panic!("no reply code in {reply}")),
        reply[1].as_str().unwrap_or("").to_string(),
    )
}

/// Asserts a reply's basic and enhanced code.
#[track_caller]
pub fn assert_reply(reply: &Value, basic: i64, enhanced: &str) {
    let (c, text) = code(reply);
    assert_eq!(c, basic, "reply {reply}");
    assert!(
        text.starts_with(enhanced),
        "reply {reply}, expected {enhanced}"
    );
}

/// Runs swaks (always with `--server`, never an MX lookup) and returns (exit code, transcript).
pub fn swaks(addr: SocketAddr, args: &[&str]) -> (i32, String) {
    let out = Command::new("swaks")
        .args([
            "--server",
            &addr.ip().to_string(),
            "--port",
            &addr.port().to_string(),
        ])
        .args(["--helo", "swaks.test.example", "--timeout", "60"])
        .args(args)
        .output()
        .expect("swaks");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}
