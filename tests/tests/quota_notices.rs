//! Quota notices: a user whose mailbox passes 90 % after a delivery, or refuses mail because
//! it is full, gets a notice in the INBOX (the postmaster a copy), one of each kind per day,
//! also when several sessions deliver at once; `baedal quota report` lists who is near.

use std::time::{Duration, Instant};

use baedal_tests::smtp::{self, assert_reply};
use baedal_tests::{Profile, Site, on_both_profiles};

on_both_profiles!(notices_come_once_a_day_per_kind_and_the_report_lists_full_mailboxes);

const ALICE: &str = "alice@company.kr";
const ADMIN: &str = "admin@company.kr";

fn message(size: usize) -> Vec<u8> {
    let mut m =
        b"From: sender@example.org\r\nTo: alice@company.kr\r\nSubject: filler\r\n\r\n".to_vec();
    let line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ab\r\n";
    while m.len() < size {
        m.extend_from_slice(line);
    }
    m
}

/// The notices of `kind` (`warning`, `refused`) in `address`'s mailbox.
fn notices(site: &Site, address: &str, kind: &str) -> usize {
    let marker = format!("X-Baedal-Quota-Notice: {kind}\r\n");
    site.stored_messages(address)
        .iter()
        .filter(|m| String::from_utf8_lossy(m).contains(&marker))
        .count()
}

/// The postmaster's copies share the object of the user's notice: count its INBOX (it gets
/// no other mail here).
fn postmaster_copies(site: &Site) -> usize {
    site.mailbox_count(ADMIN, "INBOX") as usize
}

/// Waits until `count()` reaches `n`, then a moment more to see no extra one.
fn expect_count(what: &str, n: usize, count: impl Fn() -> usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while count() < n {
        assert!(
            Instant::now() < deadline,
            "{what}: {}, expected {n}",
            count()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(count(), n, "{what}");
}

/// Waits until `address` has `n` notices of `kind`, then a moment more to see no extra one.
fn expect_notices(site: &Site, address: &str, kind: &str, n: usize) {
    expect_count(&format!("{address}: {kind} notices"), n, || {
        notices(site, address, kind)
    });
}

/// Makes the notices of `kind` already sent look like yesterday's.
fn a_day_passes(site: &Site, kind: &str) {
    let sql = format!("UPDATE quota_notices SET day = day - 1 WHERE kind = '{kind}'");
    match site.profile {
        Profile::Sqlite => {
            let db = site.data_dir().join("baedal.db");
            let out = std::process::Command::new("sqlite3")
                .arg(&db)
                .arg(&sql)
                .output()
                .expect("sqlite3 (tests/peers/install.sh installs it)");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Profile::Production => {
            baedal_tests::postgres::psql(&site.database_url, &sql);
        }
    }
}

fn send(server: &baedal_tests::Server, to: &str, size: usize) -> serde_json::Value {
    smtp::send(
        server.addr("smtp"),
        "sender@example.org",
        &[to],
        &message(size),
        &[],
    )
}

fn notices_come_once_a_day_per_kind_and_the_report_lists_full_mailboxes(profile: Profile) {
    let site = Site::new(profile);
    site.add_users("company.kr", &["alice", "admin", "bob"]);
    site.cli(&["alias", "add", "postmaster@company.kr", ADMIN])
        .ok();
    site.cli(&["user", "quota", ALICE, "40K"]).ok();
    site.cli(&["user", "quota", "bob@company.kr", "200K"]).ok();
    let server = site.serve();

    // 75 %: nothing to say.
    assert_reply(&send(&server, ALICE, 30 * 1024)["data"], 250, "2.0.0");
    expect_notices(&site, ALICE, "warning", 0);
    // Past 90 %: one warning, to alice and the postmaster.
    assert_reply(&send(&server, ALICE, 7 * 1024)["data"], 250, "2.0.0");
    expect_notices(&site, ALICE, "warning", 1);
    expect_count("postmaster copies", 1, || postmaster_copies(&site));
    let warning = site
        .stored_messages(ALICE)
        .into_iter()
        .find(|m| String::from_utf8_lossy(m).contains("X-Baedal-Quota-Notice: warning"))
        .unwrap();
    let text = String::from_utf8_lossy(&warning);
    assert!(text.contains("Auto-Submitted: auto-generated"), "{text}");
    assert!(
        text.contains("From: Mail System <postmaster@company.kr>"),
        "{text}"
    );
    // More mail the same day: no second warning.
    assert_reply(&send(&server, ALICE, 512)["data"], 250, "2.0.0");
    expect_notices(&site, ALICE, "warning", 1);

    // Full: refused (at DATA, then at RCPT with SIZE), one refusal notice however often it happens.
    let r = send(&server, ALICE, 8 * 1024);
    assert_reply(&r["data"], 552, "5.2.2");
    let r = smtp::send(
        server.addr("smtp"),
        "sender@example.org",
        &[ALICE],
        &message(8 * 1024),
        &["--size", "8192"],
    );
    assert_reply(&r["rcpt"][0], 552, "5.2.2");
    expect_notices(&site, ALICE, "refused", 1);
    expect_count("postmaster copies", 2, || postmaster_copies(&site));

    // The next day, the next refusal tells again.
    a_day_passes(&site, "refused");
    let r = send(&server, ALICE, 8 * 1024);
    assert_reply(&r["data"], 552, "5.2.2");
    expect_notices(&site, ALICE, "refused", 2);

    // Eight sessions at once take bob past 90 %: one warning between them.
    assert_reply(
        &send(&server, "bob@company.kr", 170 * 1024)["data"],
        250,
        "2.0.0",
    );
    let addr = server.addr("smtp");
    let senders: Vec<_> = (0..8)
        .map(|_| {
            std::thread::spawn(move || {
                smtp::send(
                    addr,
                    "sender@example.org",
                    &["bob@company.kr"],
                    &message(2 * 1024),
                    &[],
                )
            })
        })
        .collect();
    for s in senders {
        assert_reply(&s.join().unwrap()["data"], 250, "2.0.0");
    }
    expect_notices(&site, "bob@company.kr", "warning", 1);
    expect_count("postmaster copies", 4, || postmaster_copies(&site));

    // The report: alice (full) and bob (past 90 %), fullest first; admin is not in it.
    let report = site.cli(&["--json", "quota", "report"]).json();
    let users: Vec<&str> = report
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(users, [ALICE, "bob@company.kr"], "{report}");
    assert!(report[0]["percent"].as_i64().unwrap() >= 100, "{report}");
    let report = site
        .cli(&["--json", "quota", "report", "--percent", "99"])
        .json();
    assert_eq!(report.as_array().unwrap().len(), 1, "{report}");
    let table = site.cli(&["quota", "report"]);
    assert!(table.ok().contains("bob@company.kr"), "{}", table.ok());
    let log = server.log_text();
    assert!(log.contains("quota notice delivered"), "{log}");
}
