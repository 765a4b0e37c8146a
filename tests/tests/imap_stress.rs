//! Many IMAP sessions on shared mailboxes, every response checked against the model a client
//! may hold and against the truth across sessions: `tests/clients/imap_stress.py` (raw sockets,
//! not imaplib, which loses the order of untagged responses). See its docstring for the rules:
//! EXISTS/EXPUNGE/FETCH consistency, UID and UIDVALIDITY stability, no lost flag updates, new
//! and expunged messages announced by NOOP, bodies of expunged-but-unannounced messages still
//! fetchable, keywords announced by FLAGS, no BAD / NO [UNAVAILABLE] / disconnects; with
//! CONDSTORE and QRESYNC sessions among them (`--extensions mixed`): MODSEQs that only rise,
//! VANISHED instead of EXPUNGE, conditional STOREs, CHANGEDSINCE, SEARCH MODSEQ and QRESYNC
//! resyncs checked against each session's model.

use std::path::PathBuf;
use std::process::Command;

use baedal_tests::{Profile, Site, on_both_profiles};
use serde_json::Value;

on_both_profiles!(concurrent_sessions_on_shared_mailboxes_see_a_consistent_state);

/// Users, sessions (2-4 per user at a time, so they share mailboxes) and seconds of load.
const USERS: usize = 6;
const CLIENTS: usize = 8;
const DURATION_SECS: u32 = 60;

fn stress_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("clients/imap_stress.py")
}

/// The checker itself: canned response sequences make every rule fire on a violating
/// sequence and stay quiet on a correct one (no server involved).
#[test]
fn the_stress_checker_passes_its_self_test() {
    let out = Command::new("python3")
        .arg(stress_script())
        .arg("--selftest")
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "imap_stress.py --selftest failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The last `n` lines of a text.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// CLIENTS sessions over IMAPS on USERS users for DURATION_SECS seconds, then a final check
/// of every mailbox: no state error of any kind, and every command kind exercised.
fn concurrent_sessions_on_shared_mailboxes_see_a_consistent_state(profile: Profile) {
    let site = Site::new(profile);
    let names: Vec<String> = (1..=USERS).map(|i| format!("stress{i}")).collect();
    let users: Vec<&str> = names.iter().map(String::as_str).collect();
    site.add_users("example.org", &users);
    let server = site.serve();
    let report_file = site.dir.path().join("imap_stress.json");
    let out = Command::new("python3")
        .arg(stress_script())
        .args([
            "--host",
            "127.0.0.1",
            "--tls",
            "--password",
            "pw",
            "--seed",
            "1",
        ])
        .args(["--port", &server.addr("imaps").port().to_string()])
        .arg("--cafile")
        .arg(site.data_dir().join("tls/cert.pem"))
        .args(["--user-pattern", "stress{i}@example.org"])
        .args(["--users-count", &USERS.to_string()])
        .args(["--clients", &CLIENTS.to_string()])
        .args(["--duration", &DURATION_SECS.to_string()])
        // Sessions take turns: plain IMAP4rev1, CONDSTORE and QRESYNC, on shared mailboxes.
        .args(["--extensions", "mixed"])
        .arg("--json")
        .arg(&report_file)
        .output()
        .expect("python3");
    let shown = format!(
        "imap_stress.py exited with {:?}\n--- its output:\n{}\n--- its stderr:\n{}\n--- server log (tail):\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        tail(&server.log_text(), 40)
    );
    let report: Value = std::fs::read_to_string(&report_file)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_else(|| panic!("no JSON report from imap_stress.py\n{shown}"));
    assert_eq!(
        report["errors"], 0,
        "state errors: {}\n{shown}",
        report["errors_by_kind"]
    );
    assert_eq!(
        report["missing_kinds"],
        serde_json::json!([]),
        "command kinds never exercised\n{shown}"
    );
    assert!(out.status.success(), "{shown}");
    assert_eq!(report["ok"].as_bool(), Some(true), "{shown}");
}
