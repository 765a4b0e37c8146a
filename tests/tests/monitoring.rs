//! The operator's monitoring files: `etc/prometheus/baedal-rules.yml` passes Prometheus's
//! own `promtool check rules` and the cases of `promtool test rules`, and every Baedal
//! metric that it or `etc/grafana/baedal-dashboard.json` names is one a running server
//! exports. The host's metrics (`node_...`) are node_exporter's and are not checked here.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;

use baedal_tests::smtp::{self, assert_reply};
use baedal_tests::{Profile, Site, imap, postfix};

const RULES: &str = "etc/prometheus/baedal-rules.yml";
const DASHBOARD: &str = "etc/grafana/baedal-dashboard.json";
/// `promtool test rules` cases: input series and the alerts they must raise.
const RULE_CASES: &str = "tests/monitoring/baedal-rules.test.yml";

/// A file of the repository, by its path from the top.
fn repo_file(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo_file(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every Baedal metric name in `text`: each `baedal_[a-z0-9_]+` not inside a longer word.
fn metric_names(text: &str) -> BTreeSet<String> {
    let is_name = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_';
    text.match_indices("baedal_")
        .filter(|(at, _)| !text[..*at].ends_with(is_name))
        .map(|(at, _)| {
            let rest = &text[at..];
            let end = rest.find(|c: char| !is_name(c)).unwrap_or(rest.len());
            rest[..end].to_string()
        })
        .collect()
}

/// The sample names of OpenMetrics text (`name{labels} value` or `name value`), which
/// include a histogram's `_bucket`, `_sum` and `_count`.
fn sample_names(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.split(['{', ' ']).next())
        .filter(|name| !name.is_empty())
        .map(str::to_string)
        .collect()
}

#[test]
fn finds_metric_names_in_expressions() {
    let names = metric_names(
        r#"expr: rate(baedal_a_total{x="baedal y"}[5m]) / xbaedal_no + `baedal queue list` baedal_b_bucket"#,
    );
    assert_eq!(
        names,
        BTreeSet::from(["baedal_a_total", "baedal_b_bucket"].map(String::from))
    );
    let samples = sample_names("# TYPE a counter\na_total{l=\"1\"} 2\nb 0\n# EOF\n");
    assert_eq!(samples, BTreeSet::from(["a_total", "b"].map(String::from)));
}

/// Runs promtool with `args` and a file of the repository; asserts it succeeds.
fn promtool(args: &[&str], path: &str) {
    let out = Command::new("promtool")
        .args(args)
        .arg(repo_file(path))
        .output()
        .expect("promtool (Debian's prometheus package, tests/peers/install.sh)");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "promtool {args:?} {path}: {report}");
    assert!(report.contains("SUCCESS"), "{report}");
}

#[test]
fn promtool_accepts_the_rules() {
    promtool(&["check", "rules"], RULES);
}

#[test]
fn the_rules_fire_on_the_series_they_are_meant_for() {
    promtool(&["test", "rules"], RULE_CASES);
}

#[test]
fn the_dashboard_imports_with_a_prometheus_data_source() {
    let dashboard: serde_json::Value =
        serde_json::from_str(&read(DASHBOARD)).expect("the dashboard is JSON");
    assert_eq!(dashboard["schemaVersion"], 39);
    assert_eq!(dashboard["__inputs"][0]["name"], "DS_PROMETHEUS");
    let panels = dashboard["panels"].as_array().expect("panels");
    let graphs: Vec<&serde_json::Value> = panels.iter().filter(|p| p["type"] != "row").collect();
    assert!(graphs.len() >= 8, "{} panels", graphs.len());
    for panel in graphs {
        let title = &panel["title"];
        assert_eq!(panel["datasource"]["uid"], "${DS_PROMETHEUS}", "{title}");
        let targets = panel["targets"].as_array().expect("targets");
        assert!(
            !targets.is_empty() && targets.iter().all(|t| t["expr"].is_string()),
            "{title}"
        );
    }
}

#[test]
fn every_metric_the_rules_and_the_dashboard_use_is_exported() {
    // Rspamd where nothing listens, fail_open: the message is delivered unscanned and the
    // filter's series exist (up = 0, a scan time, an "unscanned" verdict).
    let dead = postfix::free_port();
    let site = Site::with_config(
        Profile::Sqlite,
        &format!(
            "\n[imap]\nauth_failure_delay_ms = 50\n\n\
             [rspamd]\nurl = \"http://127.0.0.1:{dead}\"\nfail_open = true\n"
        ),
    );
    site.add_users("example.org", &["alice"]);
    let server = site.serve();
    imap::deliver(&server, 1);
    let r = smtp::send(
        server.addr("smtp"),
        "bob@remote.test",
        &["nobody@example.org"],
        b"Subject: x\r\n\r\nx\r\n",
        &[],
    );
    assert_reply(&r["rcpt"][0], 550, "5.1.1");
    let login = imap::run(
        &site,
        &server,
        r#"
m = imap(user=None)
try:
    m.login("alice@example.org", "wrong")
    refused = False
except imaplib.IMAP4.error:
    refused = True
m.logout()
print(json.dumps(refused))
"#,
    );
    assert_eq!(login, serde_json::json!(true));

    let (status, text) = server.http_get("/metrics");
    assert_eq!(status, 200, "{text}");
    let exported = sample_names(&text);
    let mut used = metric_names(&read(RULES));
    let in_rules = used.len();
    used.extend(metric_names(&read(DASHBOARD)));
    // The files name the queue, latency, sessions, logins, backends, disks and certificate.
    assert!(in_rules >= 15, "{used:?}");
    let missing: Vec<&String> = used.iter().filter(|n| !exported.contains(*n)).collect();
    assert!(
        missing.is_empty(),
        "named in {RULES} or {DASHBOARD} but not in /metrics: {missing:?}\n{text}"
    );
    assert_eq!(server.stop(), 0);
}
