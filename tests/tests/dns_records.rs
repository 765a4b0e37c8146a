//! `baedal dns records` and `baedal dns check`: the records printed for a domain, loaded into
//! the test DNS server (dnsmasq), make `dns check` report every one present; a record taken
//! away, or published with another value, is reported and the exit code says so.

use baedal_tests::dns::{self, TestDns};
use baedal_tests::{Profile, Site};
use serde_json::Value;

/// dnsmasq's line for one printed record.
fn dnsmasq_line(r: &Value) -> String {
    let name = r["name"].as_str().unwrap().trim_end_matches('.');
    let value = r["value"].as_str().unwrap();
    let words: Vec<&str> = value.split_whitespace().collect();
    match r["type"].as_str().unwrap() {
        "MX" => format!(
            "mx-host={name},{},{}",
            words[1].trim_end_matches('.'),
            words[0]
        ),
        "CNAME" => format!("cname={name},{}", value.trim_end_matches('.')),
        "SRV" if words[3] == "." => format!("srv-host={name}"),
        "SRV" => format!(
            "srv-host={name},{},{},{},{}",
            words[3].trim_end_matches('.'),
            words[2],
            words[0],
            words[1]
        ),
        "TXT" => {
            // The zone-file form: "…" "…" strings.
            let text: String = value
                .split("\" \"")
                .map(|part| part.trim_matches('"'))
                .collect();
            dns::txt_record(name, &text)
        }
        other => panic!("unexpected type {other}"),
    }
}

#[test]
fn printed_records_loaded_into_dns_check_as_present() {
    let dns_port = dns::free_port();
    let site = Site::with_config(
        Profile::Sqlite,
        &format!(
            "\n[autoconfig]\nhost = \"mx.company.kr\"\n[dns]\nnameservers = [\"127.0.0.1:{dns_port}\"]\n"
        ),
    );
    site.cli(&["domain", "add", "company.kr"]).ok();
    site.cli(&["dkim", "generate", "company.kr", "--selector", "s1"])
        .ok();
    let text = site.cli(&["dns", "records", "company.kr"]).ok().to_string();
    assert!(
        text.contains("company.kr.") && text.contains(" IN MX    10 mx.company.kr."),
        "{text}"
    );
    assert!(text.contains("; DKIM"), "{text}");
    let records = site.cli(&["--json", "dns", "records", "company.kr"]).json();
    let records = records.as_array().unwrap().clone();
    let types: Vec<&str> = records
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    for t in ["MX", "TXT", "CNAME", "SRV"] {
        assert!(types.contains(&t), "{t}: {types:?}");
    }
    let names: Vec<&str> = records
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    for n in [
        "s1._domainkey.company.kr.",
        "_dmarc.company.kr.",
        "_mta-sts.company.kr.",
        "_smtp._tls.company.kr.",
        "_imaps._tcp.company.kr.",
        "_submission._tcp.company.kr.",
        "autoconfig.company.kr.",
        "autodiscover.company.kr.",
    ] {
        assert!(names.contains(&n), "{n}: {names:?}");
    }

    // Everything published: all ok, exit 0.
    let mut lines: Vec<String> = records.iter().map(dnsmasq_line).collect();
    // dnsmasq answers a CNAME only for a target it knows.
    lines.push("host-record=mx.company.kr,127.0.0.1".into());
    let all_ok = {
        let _dns = TestDns::start(dns_port, &["company.kr"], &lines);
        site.cli(&["--json", "dns", "check", "company.kr"]).json()
    };
    let states: Vec<(String, String)> = all_ok
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["state"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(states.iter().all(|(_, s)| s == "ok"), "{states:?}");
    assert_eq!(states.len(), records.len());

    // DMARC taken away, SPF published with another value: both reported, exit 1.
    let mut changed: Vec<String> = lines
        .iter()
        .filter(|l| !l.starts_with("txt-record=_dmarc."))
        .map(|l| {
            if l.starts_with("txt-record=company.kr,") {
                dns::txt_record("company.kr", "v=spf1 a -all")
            } else {
                l.clone()
            }
        })
        .collect();
    changed.push(dns::txt_record(
        "company.kr",
        "google-site-verification=abc",
    ));
    let _dns = TestDns::start(dns_port, &["company.kr"], &changed);
    let out = site.cli(&["dns", "check", "company.kr"]);
    assert_eq!(out.code, 1, "{out:?}");
    let text = &out.stdout;
    assert!(text.contains("missing   _dmarc.company.kr. TXT"), "{text}");
    assert!(
        text.contains("different company.kr. TXT \"v=spf1 mx -all\"  (found: \"v=spf1 a -all\")"),
        "{text}"
    );
    assert!(
        text.contains("ok        _imaps._tcp.company.kr. SRV 0 1 993 mx.company.kr."),
        "{text}"
    );
}
