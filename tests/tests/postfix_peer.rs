//! A real Postfix relaying to Baedal, the way a site's edge MTA or an ISP would.

use std::time::{Duration, Instant};

use baedal_tests::postfix::{Postfix, free_port};
use baedal_tests::smtp::{self, assert_reply};
use baedal_tests::{Profile, Site, on_both_profiles};

fn postfix_relays_mail_to_baedal_over_starttls(profile: Profile) {
    let site = Site::new(profile);
    site.add_users("example.org", &["alice"]);
    site.cli(&["alias", "add", "sales@example.org", "alice@example.org"])
        .ok();
    let server = site.serve();
    let postfix = Postfix::start(free_port(), server.addr("smtp").port());
    let peer = format!("127.0.0.2:{}", postfix.port).parse().unwrap();
    let mut body = b"From: bob@peer.example.net\r\nSubject: via postfix\r\nMessage-ID: <pf1@peer.example.net>\r\n\r\n".to_vec();
    body.extend_from_slice("8-bit body: 배달\r\n".as_bytes());
    for to in ["alice@example.org", "sales@example.org"] {
        let r = smtp::send(peer, "bob@peer.example.net", &[to], &body, &[]);
        assert_reply(&r["data"], 250, "2.0.0");
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while site.mailbox_count("alice@example.org", "INBOX") < 2 {
        assert!(
            Instant::now() < deadline,
            "Postfix did not deliver to Baedal:\n{}\n{}",
            postfix.log(),
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let stored = String::from_utf8(site.stored_messages("alice@example.org").remove(0)).unwrap();
    assert!(
        stored.starts_with(
            "Return-Path: <bob@peer.example.net>\r\nReceived: from peer.example.net ([127.0.0.2])"
        ),
        "{stored}"
    );
    assert!(
        stored.contains("with ESMTPS id"),
        "Postfix used STARTTLS: {stored}"
    );
    assert!(
        stored.contains("by peer.example.net (Postfix)"),
        "Postfix's own Received header: {stored}"
    );
    assert!(stored.ends_with("8-bit body: 배달\r\n"), "{stored}");
    assert!(postfix.log().contains("status=sent"), "{}", postfix.log());
}

on_both_profiles!(postfix_relays_mail_to_baedal_over_starttls,);
