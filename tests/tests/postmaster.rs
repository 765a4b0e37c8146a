//! `postmaster@` and `abuse@` of every local domain reach `[smtp] postmaster` when no user
//! or alias has them (RFC 5321 §4.5.1, RFC 2142); a domain's own alias wins; other unknown
//! addresses stay unknown.

use baedal_tests::smtp::{self, assert_reply};
use baedal_tests::{Profile, Site};

fn send(server: &baedal_tests::Server, to: &str) -> serde_json::Value {
    smtp::send(
        server.addr("smtp"),
        "someone@remote.test",
        &[to],
        format!("From: someone@remote.test\r\nTo: {to}\r\nSubject: for {to}\r\n\r\nhi\r\n")
            .as_bytes(),
        &[],
    )
}

#[test]
fn role_addresses_of_every_domain_reach_the_configured_address() {
    let site = Site::with_config(Profile::Sqlite, "\n[smtp]\npostmaster = \"admin@a.test\"\n");
    site.add_users("a.test", &["admin"]);
    site.add_users("b.test", &["bob"]);
    site.cli(&["alias", "add", "postmaster@b.test", "bob@b.test"])
        .ok();
    let server = site.serve();
    for to in ["postmaster@a.test", "Abuse@b.test", "POSTMASTER@a.test"] {
        assert_reply(&send(&server, to)["data"], 250, "2.0.0");
    }
    assert_reply(&send(&server, "postmaster@b.test")["data"], 250, "2.0.0");
    let unknown = send(&server, "nobody@a.test");
    assert_eq!(smtp::code(&unknown["rcpt"][0]).0, 550, "{unknown}");
    let subjects = |user: &str| -> Vec<String> {
        site.stored_messages(user)
            .iter()
            .filter_map(|m| {
                String::from_utf8_lossy(m)
                    .lines()
                    .find_map(|l| l.strip_prefix("Subject: ").map(str::to_string))
            })
            .collect()
    };
    let mut admin = subjects("admin@a.test");
    admin.sort();
    assert_eq!(
        admin,
        [
            "for Abuse@b.test",
            "for POSTMASTER@a.test",
            "for postmaster@a.test"
        ]
    );
    assert_eq!(subjects("bob@b.test"), ["for postmaster@b.test"]);
}

#[test]
fn without_the_setting_role_addresses_are_unknown() {
    let site = Site::new(Profile::Sqlite);
    site.add_users("a.test", &["admin"]);
    let server = site.serve();
    let r = send(&server, "postmaster@a.test");
    assert_eq!(smtp::code(&r["rcpt"][0]).0, 550, "{r}");
}
