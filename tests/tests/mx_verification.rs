//! Inbound SPF, DKIM, DMARC and ARC on the MX, against real peers: dnsmasq as the only DNS
//! server Baedal asks (SPF records, DKIM keys, DMARC records, a blocklist), messages
//! signed and ARC-sealed by dkimpy, and smtplib connecting from several loopback addresses
//! (127.0.0.2, 127.0.0.3, ...) so that each client is a different sender host.
//!
//! The result matrix these tests assert (client → SPF/DKIM/DMARC/ARC → reply and folder):
//! - SPF: pass (listed IP), fail (`-all`, no DKIM) → `550 5.7.23`, softfail, neutral, none,
//!   permerror → delivered with the result; temperror → `451 4.7.x`, or delivered with
//!   `spf=temperror` where the domain says `temperror = "accept"`.
//! - DKIM: valid → pass; tampered body → neutral (body hash did not verify); tampered header
//!   and wrong key → fail; expired → neutral. All delivered (no DMARC policy).
//! - DMARC: p=reject unaligned → `550 5.7.1`; aligned (DKIM) → INBOX; p=quarantine
//!   unaligned → Junk; relaxed SPF alignment → INBOX; p=none unaligned → INBOX with
//!   dmarc=fail; strict alignment with a subdomain identity → `550 5.7.1`.
//! - DMARC lookup errors: the From domain's own record found, the walk's query for the
//!   top-level domain REFUSED or the organizational domain's SERVFAIL → decided by that
//!   record (aligned → INBOX with dmarc=pass, unaligned p=reject → `550 5.7.1`); the From
//!   domain's own record unreadable (SERVFAIL) → `451 4.7.1`, unless SPF or DKIM passed for
//!   the From domain itself (delivered with dmarc=temperror).
//! - ARC: a dkimpy-sealed message whose DKIM the forwarder broke → arc=pass, dkim=fail.
//! - Forged Authentication-Results with our authserv-id removed; others kept.
//! - DNS server down → temperror and `451`, well before the command timeout.
//! - Authenticated submission is not checked (no Authentication-Results, no refusal).
//! - DNSBL listing → `554 5.7.1` naming the list at MAIL; with fcrdns = "reject" a client
//!   whose PTR name does not resolve back to it → `550 5.7.25`, a confirmed one →
//!   `iprev=pass`.

mod support {
    pub mod verify;
}

use std::time::{Duration, Instant};

use baedal_tests::smtp::{self, assert_reply};
use baedal_tests::{Profile, on_both_profiles};
use support::verify::*;
#[test]
fn spf_results_for_each_sender_host() {
    let mx = Mx::start(
        Profile::Sqlite,
        "[verify.domains.\"accept.example\"]\ntemperror = \"accept\"\n",
    );
    let alice = "alice@example.org";
    let cases = [
        // (client, MAIL FROM domain, SPF result)
        ("127.0.0.2", "pass.test", "pass"),
        ("127.0.0.3", "soft.test", "softfail"),
        ("127.0.0.4", "neutral.test", "neutral"),
        ("127.0.0.3", "none.test", "none"),
        ("127.0.0.2", "perm.test", "permerror"),
    ];
    for (delivered, (source, domain, expected)) in cases.into_iter().enumerate() {
        let subject = format!("spf-{expected}");
        let out = mx.send(
            source,
            "mx.pass.test",
            &format!("a@{domain}"),
            alice,
            &message(&format!("a@{domain}"), &subject),
        );
        assert_reply(&out["data"], 250, "2.0.0");
        let results = mx.results(alice, &subject);
        assert_eq!(
            result_of(&results, "spf", "smtp.mailfrom"),
            expected,
            "{results}"
        );
        // RFC 7208 §2.3: the HELO identity is checked too (allowed from 127.0.0.2 only).
        let helo = if source == "127.0.0.2" {
            "pass"
        } else {
            "fail"
        };
        assert_eq!(
            result_of(&results, "spf", "smtp.helo=mx.pass.test"),
            helo,
            "{results}"
        );
        assert_eq!(mx.site.mailbox_count(alice, "INBOX"), delivered as i64 + 1);
    }

    // -all from a host the domain does not list, no DKIM: refused at the end of DATA.
    let out = mx.send(
        "127.0.0.3",
        "mx.pass.test",
        "a@pass.test",
        alice,
        &message("a@pass.test", "spf-fail"),
    );
    assert_reply(&out["data"], 550, "5.7.23");
    // The transactions' log events carry the results and the decision.
    let log = mx.server.log_text();
    let event = |needle: &str| {
        log.lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no {needle:?} in:\n{log}"))
            .to_string()
    };
    let accepted = event("message accepted id=");
    assert!(
        accepted.contains("checks=\"spf_helo=pass spf=pass dkim=none"),
        "{accepted}"
    );
    let refused = event("message refused code=550");
    assert!(refused.contains("spf=fail"), "{refused}");
    assert!(refused.contains("policy=\"reject: "), "{refused}");

    // The SPF record cannot be read: 451 where a fail would be refused...
    let started = Instant::now();
    let out = mx.send(
        "127.0.0.2",
        "mx.pass.test",
        "a@temp.test",
        alice,
        &message("a@temp.test", "spf-temp"),
    );
    let (code, text) = smtp::code(&out["data"]);
    assert_eq!(code, 451, "{text}");
    assert!(text.starts_with("4.7."), "{text}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "answered in {:?}",
        started.elapsed()
    );
    // ... delivered with the temperror recorded where the domain accepts that.
    let bob = "bob@accept.example";
    let out = mx.send(
        "127.0.0.2",
        "mx.pass.test",
        "a@temp.test",
        bob,
        &message("a@temp.test", "spf-temp-accepted"),
    );
    assert_reply(&out["data"], 250, "2.0.0");
    let results = mx.results(bob, "spf-temp-accepted");
    assert_eq!(
        result_of(&results, "spf", "smtp.mailfrom"),
        "temperror",
        "{results}"
    );
    assert_eq!(mx.site.mailbox_count(alice, "INBOX"), 5);
}

#[test]
fn dkim_signatures_valid_tampered_expired_and_wrong_key() {
    let mx = Mx::start(Profile::Sqlite, "");
    let alice = "alice@example.org";
    let (wrong_key, _) = dkim_key(mx.keys.path(), "wrong");
    let from = "a@dk.test";
    let signed =
        |subject: &str, extra: &[&str]| sign(&message(from, subject), &mx.key(), "dk.test", extra);
    let tampered_body = String::from_utf8(signed("dkim-body", &[]))
        .unwrap()
        .replace("Hello from", "Jello from")
        .into_bytes();
    let tampered_header = String::from_utf8(signed("dkim-header", &[]))
        .unwrap()
        .replace("Subject: dkim-header", "Subject: dkim-header-changed")
        .into_bytes();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("dkim-valid", signed("dkim-valid", &[]), "pass"),
        ("dkim-body", tampered_body, "neutral"),
        ("dkim-header-changed", tampered_header, "fail"),
        (
            "dkim-expired",
            signed("dkim-expired", &["--expired"]),
            "neutral",
        ),
        (
            "dkim-wrong-key",
            sign(&message(from, "dkim-wrong-key"), &wrong_key, "dk.test", &[]),
            "fail",
        ),
    ];
    for (subject, msg, expected) in &cases {
        let out = mx.send("127.0.0.2", "mx.pass.test", from, alice, msg);
        assert_reply(&out["data"], 250, "2.0.0");
        let results = mx.results(alice, subject);
        assert_eq!(
            result_of(&results, "dkim", "header.i=@dk.test"),
            *expected,
            "{subject}: {results}"
        );
    }
    let results = mx.results(alice, "dkim-body");
    assert!(results.contains("body hash did not verify"), "{results}");
    assert_eq!(mx.site.mailbox_count(alice, "INBOX"), 5);
}

fn dmarc_policies(profile: Profile) {
    let mx = Mx::start(profile, "");
    let alice = "alice@example.org";
    let key = mx.key();

    // p=reject, aligned through DKIM (MAIL FROM elsewhere): delivered.
    let msg = sign(
        &message("a@rej.test", "dmarc-reject-aligned"),
        &key,
        "rej.test",
        &[],
    );
    let out = mx.send(
        "127.0.0.2",
        "mx.pass.test",
        "bounce@other.test",
        alice,
        &msg,
    );
    assert_reply(&out["data"], 250, "2.0.0");
    let results = mx.results(alice, "dmarc-reject-aligned");
    assert_eq!(result_of(&results, "dmarc", ""), "pass", "{results}");

    // p=reject, DKIM and SPF pass for another domain only: refused.
    let msg = sign(
        &message("a@rej.test", "dmarc-reject-unaligned"),
        &key,
        "other.test",
        &[],
    );
    let out = mx.send(
        "127.0.0.2",
        "mx.pass.test",
        "bounce@other.test",
        alice,
        &msg,
    );
    assert_reply(&out["data"], 550, "5.7.1");
    assert!(
        smtp::code(&out["data"]).1.contains("rej.test"),
        "{}",
        out["data"]
    );

    // p=quarantine unaligned: into Junk.
    let msg = sign(
        &message("a@quar.test", "dmarc-quarantine"),
        &key,
        "other.test",
        &[],
    );
    let out = mx.send(
        "127.0.0.2",
        "mx.pass.test",
        "bounce@other.test",
        alice,
        &msg,
    );
    assert_reply(&out["data"], 250, "2.0.0");
    assert_eq!(mx.site.mailbox_count(alice, "Junk"), 1);
    let results = mx.results(alice, "dmarc-quarantine");
    assert_eq!(result_of(&results, "dmarc", ""), "fail", "{results}");
    assert!(results.contains("policy.dmarc=quarantine"), "{results}");

    // p=quarantine, SPF of a subdomain aligns in relaxed mode (RFC 7489 §3.1.2): INBOX.
    let out = mx.send(
        "127.0.0.2",
        "mx.pass.test",
        "a@mail.quar.test",
        alice,
        &message("a@quar.test", "dmarc-relaxed"),
    );
    assert_reply(&out["data"], 250, "2.0.0");
    assert_eq!(
        result_of(&mx.results(alice, "dmarc-relaxed"), "dmarc", ""),
        "pass"
    );

    // p=none unaligned: delivered, the failure recorded.
    let msg = sign(
        &message("a@nopol.test", "dmarc-none"),
        &key,
        "other.test",
        &[],
    );
    let out = mx.send(
        "127.0.0.2",
        "mx.pass.test",
        "bounce@other.test",
        alice,
        &msg,
    );
    assert_reply(&out["data"], 250, "2.0.0");
    let results = mx.results(alice, "dmarc-none");
    assert_eq!(result_of(&results, "dmarc", ""), "fail", "{results}");
    assert!(results.contains("policy.dmarc=none"), "{results}");

    // Strict alignment: a subdomain's DKIM and SPF do not align with strict.test.
    let msg = sign(
        &message("a@strict.test", "dmarc-strict"),
        &key,
        "mail.strict.test",
        &[],
    );
    let out = mx.send(
        "127.0.0.2",
        "mx.pass.test",
        "a@mail.strict.test",
        alice,
        &msg,
    );
    assert_reply(&out["data"], 550, "5.7.1");

    assert_eq!(mx.site.mailbox_count(alice, "INBOX"), 3);
    assert_eq!(mx.site.mailbox_count(alice, "Junk"), 1);
}

on_both_profiles!(dmarc_policies);

/// RFC 7489 §6.6.3: once the From domain's own policy record is found, the walk's other
/// queries (organizational and top-level domain) cannot change the verdict, so their errors
/// do not defer the message; an error reading the From domain's own record can.
#[test]
fn dmarc_lookup_errors_defer_only_when_they_could_change_the_verdict() {
    let mx = Mx::start(
        Profile::Sqlite,
        "[verify.domains.\"accept.example\"]\ntemperror = \"accept\"\n",
    );
    let alice = "alice@example.org";
    let started = Instant::now();

    // walk.example's own record says p=reject; the walk's `_dmarc.example` is REFUSED.
    // Aligned through DKIM (MAIL FROM elsewhere): delivered, decided by that record.
    let out = mx.send_signed("a@walk.example", "walk-refused-dkim", "walk.example", alice);
    assert_reply(&out["data"], 250, "2.0.0");
    let results = mx.results(alice, "walk-refused-dkim");
    assert_eq!(result_of(&results, "dmarc", ""), "pass", "{results}");
    assert!(results.contains("header.from=walk.example"), "{results}");
    assert!(results.contains("policy.dmarc=reject"), "{results}");
    // Aligned through SPF (unsigned): delivered.
    let out = mx.send(
        "127.0.0.2",
        "mx.pass.test",
        "a@walk.example",
        alice,
        &message("a@walk.example", "walk-refused-spf"),
    );
    assert_reply(&out["data"], 250, "2.0.0");
    let results = mx.results(alice, "walk-refused-spf");
    assert_eq!(result_of(&results, "dmarc", ""), "pass", "{results}");
    // Unaligned (SPF and DKIM pass for other.test only): refused as the record asks.
    let out = mx.send_signed(
        "a@walk.example",
        "walk-refused-unaligned",
        "other.test",
        alice,
    );
    assert_reply(&out["data"], 550, "5.7.1");
    assert!(
        smtp::code(&out["data"]).1.contains("walk.example"),
        "{}",
        out["data"]
    );

    // news.corp.test's own record says p=quarantine; its organizational domain's query
    // (`_dmarc.corp.test`) gets SERVFAIL. Aligned through DKIM: INBOX, not Junk.
    let out = mx.send_signed("a@news.corp.test", "org-servfail", "news.corp.test", alice);
    assert_reply(&out["data"], 250, "2.0.0");
    let results = mx.results(alice, "org-servfail");
    assert_eq!(result_of(&results, "dmarc", ""), "pass", "{results}");
    assert!(results.contains("policy.dmarc=quarantine"), "{results}");

    // sf.test's own `_dmarc` lookup gets SERVFAIL and nothing was found: its policy may be
    // reject, and the message does not align. Deferred...
    let out = mx.send_signed("a@sf.test", "own-servfail", "other.test", alice);
    let (code, text) = smtp::code(&out["data"]);
    assert_eq!(code, 451, "{text}");
    assert!(text.starts_with("4.7.1"), "{text}");
    assert!(text.contains("sf.test"), "{text}");
    // ... delivered with the temperror recorded where the domain accepts that...
    let bob = "bob@accept.example";
    let out = mx.send_signed("a@sf.test", "own-servfail-accepted", "other.test", bob);
    assert_reply(&out["data"], 250, "2.0.0");
    let results = mx.results(bob, "own-servfail-accepted");
    assert_eq!(result_of(&results, "dmarc", ""), "temperror", "{results}");
    // ... and delivered when DKIM passed for sf.test itself: identical domains align in
    // either mode (RFC 7489 §3.1), so no record could make DMARC fail.
    let out = mx.send_signed("a@sf.test", "own-servfail-aligned", "sf.test", alice);
    assert_reply(&out["data"], 250, "2.0.0");
    let results = mx.results(alice, "own-servfail-aligned");
    assert_eq!(result_of(&results, "dmarc", ""), "temperror", "{results}");

    assert_eq!(mx.site.mailbox_count(alice, "INBOX"), 4);
    assert_eq!(mx.site.mailbox_count(alice, "Junk"), 0);
    // The errors were the DNS server's answers (not timeouts), for the names chosen.
    let log = mx.dns_log();
    for name in ["_dmarc.example", "_dmarc.corp.test", "_dmarc.sf.test"] {
        assert!(
            log.contains(&format!("forwarded {name} to")),
            "{name}: {log}"
        );
    }
    assert!(log.contains("reply error is REFUSED"), "{log}");
    assert!(log.contains("reply error is SERVFAIL"), "{log}");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "answered in {:?}",
        started.elapsed()
    );
}

#[test]
fn arc_sealed_forward_validates() {
    let mx = Mx::start(Profile::Sqlite, "");
    let alice = "alice@example.org";
    let key = mx.key();
    let original = sign(
        &message("a@origin.test", "arc-forwarded"),
        &key,
        "origin.test",
        &[],
    );
    // The forwarder (a list) tags the subject, which breaks the author's signature, records
    // what it saw and seals (RFC 8617 §5.1).
    let forwarded = String::from_utf8(original)
        .unwrap()
        .replace("Subject: arc-forwarded", "Subject: [list] arc-forwarded");
    let forwarded = format!(
        "Authentication-Results: fwd.test; dkim=pass header.d=origin.test; spf=pass smtp.mailfrom=origin.test\r\n{forwarded}"
    );
    let key_arg = key.to_str().unwrap();
    let sealed = python_filter(
        &[
            "arc",
            "--key",
            key_arg,
            "--domain",
            "fwd.test",
            "--selector",
            "s1",
            "--srv-id",
            "fwd.test",
        ],
        forwarded.as_bytes(),
    );
    let out = mx.send(
        "127.0.0.4",
        "list.fwd.test",
        "list@fwd.test",
        alice,
        &sealed,
    );
    assert_reply(&out["data"], 250, "2.0.0");
    let results = mx.results(alice, "[list] arc-forwarded");
    assert_eq!(result_of(&results, "arc", ""), "pass", "{results}");
    assert_eq!(
        result_of(&results, "dkim", "header.i=@origin.test"),
        "fail",
        "{results}"
    );
    assert_eq!(
        result_of(&results, "spf", "smtp.mailfrom"),
        "pass",
        "{results}"
    );
}

#[test]
fn forged_authentication_results_are_removed() {
    let mx = Mx::start(Profile::Sqlite, "");
    let alice = "alice@example.org";
    let forged = [
        format!(
            "Authentication-Results: {AUTHSERV_ID}; dkim=pass header.d=bank.test; dmarc=pass\r\n"
        )
        .into_bytes(),
        b"Authentication-Results: relay.other.test; spf=pass smtp.mailfrom=other.test\r\n".to_vec(),
        message("a@pass.test", "forged-results"),
    ]
    .concat();
    let out = mx.send("127.0.0.2", "mx.pass.test", "a@pass.test", alice, &forged);
    assert_reply(&out["data"], 250, "2.0.0");
    let stored = String::from_utf8(mx.site.stored_messages(alice).pop().expect("stored")).unwrap();
    let ours = our_results(&stored);
    assert_eq!(ours.len(), 1, "{stored}");
    assert!(!ours[0].contains("bank.test"), "{stored}");
    assert!(
        stored.contains("Authentication-Results: relay.other.test;"),
        "{stored}"
    );
    // Below our trace fields: Return-Path first, then our Received, then our results.
    let fields = header_fields(&stored);
    assert!(fields[0].starts_with("Return-Path:"), "{stored}");
    assert!(
        fields[1].starts_with("Received: from mx.pass.test"),
        "{stored}"
    );
    assert!(
        fields[2].starts_with(&format!("Authentication-Results: {AUTHSERV_ID};")),
        "{stored}"
    );
}

#[test]
fn dns_down_gives_temperror_and_451() {
    // A DNS server that never answers, over UDP or TCP.
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
    let port = udp.local_addr().expect("addr").port();
    let _tcp = std::net::TcpListener::bind(("127.0.0.1", port)).expect("tcp");
    let keys = tempfile::tempdir().expect("tempdir");
    let mx = Mx::with_dns(
        Profile::Sqlite,
        &format!("127.0.0.1:{port}"),
        "[verify.domains.\"accept.example\"]\ntemperror = \"accept\"\n",
        None,
        keys,
    );
    let started = Instant::now();
    let out = mx.send(
        "127.0.0.2",
        "mx.pass.test",
        "a@pass.test",
        "alice@example.org",
        &message("a@pass.test", "dns-down"),
    );
    let (code, text) = smtp::code(&out["data"]);
    assert_eq!(code, 451, "{text}");
    assert!(text.starts_with("4.7."), "{text}");
    // [verify] timeout = 5 bounds all of it, far below the 300 s command timeout.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "answered in {:?}",
        started.elapsed()
    );
    assert_eq!(mx.site.mailbox_count("alice@example.org", "INBOX"), 0);

    let out = mx.send(
        "127.0.0.2",
        "mx.pass.test",
        "a@pass.test",
        "bob@accept.example",
        &message("a@pass.test", "dns-down-accepted"),
    );
    assert_reply(&out["data"], 250, "2.0.0");
    let results = mx.results("bob@accept.example", "dns-down-accepted");
    assert_eq!(
        result_of(&results, "spf", "smtp.mailfrom"),
        "temperror",
        "{results}"
    );
    assert_eq!(result_of(&results, "dmarc", ""), "temperror", "{results}");
}

#[test]
fn per_domain_enforcement_and_monitor_mode() {
    let mx = Mx::start(
        Profile::Sqlite,
        "[verify.domains.\"watch.example\"]\nmode = \"monitor\"\n\n\
         [verify.domains.\"tagged.example\"]\nspf_fail = \"tag\"\n",
    );
    mx.site.add_users("watch.example", &["carol"]);
    mx.site.add_users("tagged.example", &["dave"]);
    let key = mx.key();
    let unaligned = sign(&message("a@rej.test", "monitored"), &key, "other.test", &[]);
    let out = mx.send(
        "127.0.0.2",
        "mx.pass.test",
        "bounce@other.test",
        "alice@example.org",
        &unaligned,
    );
    assert_reply(&out["data"], 550, "5.7.1");
    // Monitor mode: recorded, delivered.
    let out = mx.send(
        "127.0.0.2",
        "mx.pass.test",
        "bounce@other.test",
        "carol@watch.example",
        &unaligned,
    );
    assert_reply(&out["data"], 250, "2.0.0");
    let results = mx.results("carol@watch.example", "monitored");
    assert_eq!(result_of(&results, "dmarc", ""), "fail", "{results}");
    assert_eq!(mx.site.mailbox_count("carol@watch.example", "INBOX"), 1);

    // spf_fail = "tag": an SPF fail is delivered there, refused elsewhere.
    let msg = message("a@pass.test", "spf-tagged");
    let out = mx.send(
        "127.0.0.3",
        "mx.pass.test",
        "a@pass.test",
        "alice@example.org",
        &msg,
    );
    assert_reply(&out["data"], 550, "5.7.23");
    let out = mx.send(
        "127.0.0.3",
        "mx.pass.test",
        "a@pass.test",
        "dave@tagged.example",
        &msg,
    );
    assert_reply(&out["data"], 250, "2.0.0");
    let results = mx.results("dave@tagged.example", "spf-tagged");
    assert_eq!(
        result_of(&results, "spf", "smtp.mailfrom"),
        "fail",
        "{results}"
    );
}

#[test]
fn authenticated_submission_is_not_checked() {
    let mx = Mx::start(Profile::Sqlite, "");
    let bob = "bob@accept.example";
    // example.org publishes -all and p=reject: from outside, mail in its name is refused...
    let msg = message("alice@example.org", "from-outside");
    let out = mx.send("127.0.0.2", "mx.pass.test", "alice@example.org", bob, &msg);
    assert_reply(&out["data"], 550, "5.7.");
    // ... but its own users submit it with AUTH, unchecked.
    let ca = mx.site.data_dir().join("tls/cert.pem");
    let out = smtp::send(
        mx.server.addr("submission"),
        "alice@example.org",
        &[bob],
        &message("alice@example.org", "submitted"),
        &[
            "--starttls",
            ca.to_str().unwrap(),
            "--login",
            "alice@example.org",
            "pw",
        ],
    );
    assert_reply(&out["data"], 250, "2.0.0");
    let stored = String::from_utf8(mx.site.stored_messages(bob).pop().expect("stored")).unwrap();
    assert!(stored.contains("Subject: submitted"), "{stored}");
    assert!(!stored.contains("Authentication-Results"), "{stored}");
}

#[test]
fn dnsbl_and_fcrdns_refuse_at_mail() {
    let mx = Mx::start(
        Profile::Sqlite,
        "dnsbl = [\"bl.test\"]\nfcrdns = \"reject\"\n",
    );
    let alice = "alice@example.org";
    // The resolver answers reverse lookups in 127.0.0.0/8 itself with "localhost", whose
    // address is 127.0.0.1 (RFC 6761 §6.3), so on loopback only 127.0.0.1 is confirmed.
    let out = mx.send(
        "127.0.0.1",
        "mx.pass.test",
        "a@dk.test",
        alice,
        &message("a@dk.test", "iprev"),
    );
    assert_reply(&out["mail"], 250, "2.1.0");
    assert_reply(&out["data"], 250, "2.0.0");
    assert_eq!(result_of(&mx.results(alice, "iprev"), "iprev", ""), "pass");
    // 127.0.0.5 is on bl.test.
    let out = mx.send(
        "127.0.0.5",
        "mx.pass.test",
        "a@pass.test",
        alice,
        &message("a@pass.test", "listed"),
    );
    assert_reply(&out["mail"], 554, "5.7.1");
    assert!(
        smtp::code(&out["mail"]).1.contains("bl.test"),
        "{}",
        out["mail"]
    );
    // 127.0.0.6: its PTR name (localhost) does not resolve back to it.
    let out = mx.send(
        "127.0.0.6",
        "mx.pass.test",
        "a@pass.test",
        alice,
        &message("a@pass.test", "no-ptr"),
    );
    assert_reply(&out["mail"], 550, "5.7.25");
    assert_eq!(mx.site.mailbox_count(alice, "INBOX"), 1);
}
