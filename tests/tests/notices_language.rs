//! The texts the server writes to people come in the language of the recipient's domain
//! (`[notices]`): a Korean domain's users get a Korean quota notice and Korean delivery
//! reports, an English one's stay English. Each message is decoded by Python's `email`
//! package, as a mail client would: the RFC 2047 subject and the UTF-8 body read back as
//! the Korean text.

use std::time::{Duration, Instant};

use baedal_tests::dns::{self, TestDns};
use baedal_tests::smtp::{self, assert_reply};
use baedal_tests::{Site, on_both_profiles, python};
use serde_json::Value;

on_both_profiles!(korean_domains_get_korean_notices_and_reports);

const NOTICES: &str =
    "\n[notices]\nlanguage = \"en\"\n[notices.domains]\n\"company.kr\" = \"ko\"\n";

/// Subject and text body of each message, as Python's email package decodes them.
fn decoded(messages: &[Vec<u8>]) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for (i, m) in messages.iter().enumerate() {
        let path = dir.path().join(format!("{i}.eml"));
        std::fs::write(&path, m).unwrap();
        paths.push(path.display().to_string());
    }
    let got = python::run(
        r#"
import email, email.policy, json, os
out = []
for path in json.loads(os.environ["PATHS"]):
    with open(path, "rb") as f:
        m = email.message_from_binary_file(f, policy=email.policy.default)
    texts = [p.get_content() for p in m.walk() if p.get_content_type() == "text/plain"]
    out.append({"subject": str(m["Subject"]), "text": "\n".join(texts),
                "auto": m.get("Auto-Submitted")})
print(json.dumps(out))
"#,
        &[("PATHS", serde_json::to_string(&paths).unwrap())],
    );
    got.as_array().unwrap().clone()
}

fn wait_for<T>(what: &str, mut found: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(v) = found() {
            return v;
        }
        assert!(Instant::now() < deadline, "no {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn korean_domains_get_korean_notices_and_reports(profile: baedal_tests::Profile) {
    let dns_port = dns::free_port();
    let site = Site::with_config(
        profile,
        &format!(
            "\n[dns]\nnameservers = [\"127.0.0.1:{dns_port}\"]\n\n[smtp]\nauth_failure_delay_ms = 50\n\n\
             [queue]\nremote_port = {}\nretry_intervals = [1]\npoll_interval = 1\nconnect_timeout = 2\n\
             delay_warning = 1\nlifetime = 3\n{NOTICES}",
            dns::free_port()
        ),
    );
    // remote.test's MX is on 127.0.0.2, where nothing listens: mail there is delayed, then
    // returned.
    let _dns = TestDns::start(
        dns_port,
        &["remote.test"],
        &[
            "mx-host=remote.test,mx.remote.test,10".to_string(),
            "host-record=mx.remote.test,127.0.0.2".to_string(),
        ],
    );
    site.add_users("company.kr", &["kim"]);
    site.add_users("example.org", &["alice"]);
    for user in ["kim@company.kr", "alice@example.org"] {
        site.cli(&["user", "quota", user, "400K"]).ok();
    }
    let server = site.serve();

    // Past 90 % of the quota (room left for the reports): a warning in the INBOX.
    let filler = |to: &str| {
        let mut m =
            format!("From: sender@remote.test\r\nTo: {to}\r\nSubject: filler\r\n\r\n").into_bytes();
        while m.len() < 375 * 1024 {
            m.extend_from_slice(
                b"0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz\r\n",
            );
        }
        m
    };
    for to in ["kim@company.kr", "alice@example.org"] {
        let r = smtp::send(
            server.addr("smtp"),
            "sender@remote.test",
            &[to],
            &filler(to),
            &[],
        );
        assert_reply(&r["data"], 250, "2.0.0");
    }
    // Each submits a message to remote.test: a delay notice after 1 s, the bounce at 3 s.
    let ca = site.data_dir().join("tls/cert.pem").display().to_string();
    for user in ["kim@company.kr", "alice@example.org"] {
        let r = smtp::send(
            server.addr("submission"),
            user,
            &["bob@remote.test"],
            format!("From: {user}\r\nSubject: into the void\r\n\r\nhello\r\n").as_bytes(),
            &["--starttls", &ca, "--login", user, "pw"],
        );
        assert_reply(&r["data"], 250, "2.0.0");
    }
    let of = |user: &str, needle: &str| -> Option<Vec<u8>> {
        site.stored_messages(user)
            .into_iter()
            .find(|m| String::from_utf8_lossy(m).contains(needle))
    };
    let mut got = Vec::new();
    for user in ["kim@company.kr", "alice@example.org"] {
        got.push(wait_for("a quota warning", || {
            of(user, "X-Baedal-Quota-Notice: warning")
        }));
        got.push(wait_for("a delay notice", || of(user, "Action: delayed")));
        got.push(wait_for("a bounce", || of(user, "Action: failed")));
    }
    let d = decoded(&got);
    let subject = |i: usize| d[i]["subject"].as_str().unwrap().to_string();
    let text = |i: usize| d[i]["text"].as_str().unwrap().to_string();

    // Korean for company.kr: RFC 2047 subjects on the wire, Korean once decoded.
    assert!(
        subject(0).starts_with("메일함 사용량이 ") && subject(0).ends_with("%입니다"),
        "{d:?}"
    );
    assert!(
        text(0).contains("메일함 kim@company.kr의 사용량이"),
        "{d:?}"
    );
    assert_eq!(subject(1), "배달 지연 안내 (계속 재시도 중)", "{d:?}");
    assert!(text(1).contains("아직 배달하지 못했습니다"), "{d:?}");
    assert!(text(1).contains("<bob@remote.test>"), "{d:?}");
    assert_eq!(subject(2), "배달되지 않은 메일이 반송되었습니다", "{d:?}");
    assert!(text(2).contains("영구적인 오류"), "{d:?}");
    for message in &got[..3] {
        let raw = String::from_utf8_lossy(message).into_owned();
        let header = &raw[..raw.find("\r\n\r\n").unwrap()];
        assert!(header.is_ascii(), "an 8-bit header: {header}");
        assert!(header.contains("Subject: =?UTF-8?"), "{header}");
    }
    // English for example.org, as before.
    assert!(subject(3).starts_with("Your mailbox is ") && subject(3).ends_with("% full"));
    assert!(d.iter().all(|m| m["auto"].is_string()), "{d:?}");
    assert_eq!(subject(4), "Delayed Mail (still being retried)");
    assert_eq!(subject(5), "Undelivered Mail Returned to Sender");
    assert!(text(5).contains("This is a permanent error"), "{d:?}");
}
