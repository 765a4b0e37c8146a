//! `/metrics` as Prometheus reads it (parsed by Python's prometheus_client OpenMetrics
//! parser, which refuses malformed text), with counters that move when mail flows; and
//! `/readyz` telling an unreachable blob store apart.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use baedal_tests::dns::{self, TestDns};
use baedal_tests::smtp::{self, assert_reply};
use baedal_tests::{Profile, Server, Site, on_both_profiles, postfix, python};

on_both_profiles!(metrics_parse_and_move_when_mail_flows);

/// Parses OpenMetrics text strictly; prints every family (also those without samples yet)
/// and every sample.
const PARSE: &str = r#"
import json, os
from prometheus_client.openmetrics.parser import text_string_to_metric_families
families, samples = {}, []
for family in text_string_to_metric_families(os.environ["TEXT"]):
    families[family.name] = family.type
    for s in family.samples:
        samples.append([s.name, s.labels, s.value])
print(json.dumps({"families": families, "samples": samples}))
"#;

/// The metrics of a running server: family types, and samples keyed by
/// `name{label="value",...}` with labels sorted.
struct Scrape {
    families: BTreeMap<String, String>,
    samples: BTreeMap<String, f64>,
}

impl Scrape {
    fn of(server: &Server) -> Self {
        let (status, text) = server.http_get("/metrics");
        assert_eq!(status, 200, "{text}");
        let parsed = python::run(PARSE, &[("TEXT", text)]);
        let families = parsed["families"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect();
        let samples = parsed["samples"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let labels: BTreeMap<&str, &str> = s[1]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str().unwrap()))
                    .collect();
                let labels: Vec<String> =
                    labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
                (
                    format!("{}{{{}}}", s[0].as_str().unwrap(), labels.join(",")),
                    s[2].as_f64().unwrap(),
                )
            })
            .collect();
        Self { families, samples }
    }

    /// A sample's value, 0 when the series does not exist yet.
    fn get(&self, key: &str) -> f64 {
        self.samples.get(key).copied().unwrap_or(0.0)
    }
}

fn metrics_parse_and_move_when_mail_flows(profile: Profile) {
    // remote.test's MX is 127.0.0.2 on a port where nothing listens: deliveries defer.
    let dns_port = dns::free_port();
    let dead_port = postfix::free_port();
    let site = Site::with_config(
        profile,
        &format!(
            "\n[dns]\nnameservers = [\"127.0.0.1:{dns_port}\"]\n\n[smtp]\nauth_failure_delay_ms = 50\n\n\
             [queue]\nremote_port = {dead_port}\nretry_intervals = [600]\npoll_interval = 1\nconnect_timeout = 5\n"
        ),
    );
    let _dns = TestDns::start(
        dns_port,
        &["remote.test"],
        &[
            "mx-host=remote.test,mx.remote.test,10".to_string(),
            "host-record=mx.remote.test,127.0.0.2".to_string(),
        ],
    );
    site.add_users("example.org", &["alice"]);
    let server = site.serve();
    let before = Scrape::of(&server);
    // These series exist from the start, at 0.
    for (family, kind) in [
        ("baedal_connections", "counter"),
        ("baedal_connections_open", "gauge"),
        ("baedal_smtp_messages_accepted", "counter"),
        ("baedal_smtp_transaction_duration_seconds", "histogram"),
        ("baedal_auth_attempts", "counter"),
        ("baedal_deliveries", "counter"),
        ("baedal_queue_recipients", "gauge"),
        ("baedal_queue_oldest_message_age_seconds", "gauge"),
    ] {
        assert_eq!(
            before.families.get(family).map(String::as_str),
            Some(kind),
            "{family} in {:?}",
            before.families
        );
    }
    assert_eq!(before.get("baedal_queue_recipients{}"), 0.0);
    assert_eq!(
        before
            .samples
            .get("baedal_auth_attempts_total{protocol=\"imap\",result=\"failure\"}"),
        Some(&0.0)
    );

    // Mail flows: one message in, one unknown recipient refused, one submitted for a remote
    // domain, and an IMAP client reading the INBOX.
    let message = b"From: sender@remote.test\r\nTo: alice@example.org\r\nSubject: m\r\n\r\nhi\r\n";
    let r = smtp::send(
        server.addr("smtp"),
        "sender@remote.test",
        &["alice@example.org"],
        message,
        &[],
    );
    assert_reply(&r["data"], 250, "2.0.0");
    let r = smtp::send(
        server.addr("smtp"),
        "sender@remote.test",
        &["nobody@example.org"],
        message,
        &[],
    );
    assert_reply(&r["rcpt"][0], 550, "5.1.1");
    let ca = site.data_dir().join("tls/cert.pem");
    let ca = ca.to_str().unwrap();
    let r = smtp::send(
        server.addr("submission"),
        "alice@example.org",
        &["bob@remote.test"],
        b"From: alice@example.org\r\nTo: bob@remote.test\r\nSubject: out\r\n\r\nhi\r\n",
        &["--starttls", ca, "--login", "alice@example.org", "pw"],
    );
    assert_reply(&r["data"], 250, "2.0.0");
    let imaps = server.addr("imaps");
    let out = Command::new("curl")
        .args(["-sS", "--cacert", ca, "-u", "alice@example.org:pw"])
        .arg(format!("imaps://localhost:{}/INBOX;UID=1", imaps.port()))
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("hi"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The queue worker tries bob@remote.test, finds nobody listening, and defers.
    let deadline = Instant::now() + Duration::from_secs(30);
    let after = loop {
        let scrape = Scrape::of(&server);
        if scrape.get("baedal_deliveries_total{result=\"deferred\"}") >= 1.0 {
            break scrape;
        }
        assert!(
            Instant::now() < deadline,
            "no deferred delivery:\n{}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    for (family, kind) in [
        ("baedal_smtp_refusals", "counter"),
        ("baedal_imap_command_duration_seconds", "histogram"),
    ] {
        assert_eq!(
            after.families.get(family).map(String::as_str),
            Some(kind),
            "{family}"
        );
    }
    let moved = |key: &str| after.get(key) - before.get(key);
    assert!(moved("baedal_connections_total{protocol=\"smtp\"}") >= 2.0);
    assert!(moved("baedal_connections_total{protocol=\"submission\"}") >= 1.0);
    assert!(moved("baedal_connections_total{protocol=\"imaps\"}") >= 1.0);
    assert_eq!(
        moved("baedal_smtp_messages_accepted_total{listener=\"mx\"}"),
        1.0
    );
    assert_eq!(
        moved("baedal_smtp_messages_accepted_total{listener=\"submission\"}"),
        1.0
    );
    assert_eq!(
        moved(
            "baedal_smtp_refusals_total{listener=\"mx\",reason=\"unknown_user\",stage=\"rcpt\",status=\"5.1.1\"}"
        ),
        1.0,
        "{:?}",
        after.samples
    );
    assert_eq!(
        moved("baedal_smtp_transaction_duration_seconds_count{listener=\"mx\"}"),
        1.0
    );
    assert_eq!(
        moved("baedal_smtp_transaction_duration_seconds_count{listener=\"submission\"}"),
        1.0
    );
    assert!(
        after.get("baedal_smtp_transaction_duration_seconds_bucket{le=\"+Inf\",listener=\"mx\"}")
            >= 1.0
    );
    for command in ["AUTHENTICATE", "SELECT", "FETCH"] {
        let key = format!("baedal_imap_command_duration_seconds_count{{command=\"{command}\"}}");
        assert!(moved(&key) >= 1.0, "{key}: {:?}", after.samples);
    }
    assert_eq!(
        moved("baedal_auth_attempts_total{protocol=\"smtp\",result=\"success\"}"),
        1.0,
        "{:?}",
        after.samples
    );
    assert!(moved("baedal_auth_attempts_total{protocol=\"imap\",result=\"success\"}") >= 1.0);
    assert_eq!(after.get("baedal_queue_recipients{}"), 1.0);
    assert!(after.get("baedal_queue_oldest_message_age_seconds{}") >= 0.0);
    // Every connection above has closed.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = Scrape::of(&server);
        if now.get("baedal_connections_open{protocol=\"smtp\"}") == 0.0
            && now.get("baedal_connections_open{protocol=\"imaps\"}") == 0.0
        {
            break;
        }
        assert!(Instant::now() < deadline, "{:?}", now.samples);
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(server.stop(), 0);
}

#[test]
fn readyz_fails_while_the_blob_store_is_unreachable() {
    // S3 on a port where nothing listens; the database is fine.
    let dead = postfix::free_port();
    let site = Site::with_config(
        Profile::Sqlite,
        &format!(
            "\n[storage]\nbackend = \"s3\"\n\n[storage.s3]\nendpoint = \"http://127.0.0.2:{dead}\"\n\
             access_key = \"k\"\nsecret_key = \"s\"\n"
        ),
    );
    let server = site.serve();
    assert_eq!(server.http_get("/healthz"), (200, "ok\n".to_string()));
    assert_eq!(
        server.http_get("/readyz"),
        (503, "blob store unreachable\n".to_string())
    );
    assert_eq!(server.stop(), 0);
}
