//! SMTP MX inbound with independent senders: Python smtplib and raw sockets, swaks, curl.
//! What a user checks: the reply codes, and the bytes that land in the mailbox.

use std::io::Write;
use std::process::Command;

use baedal_tests::smtp::{self, assert_reply, code};
use baedal_tests::{Profile, Site, on_both_profiles};

on_both_profiles!(
    delivers_to_users_aliases_catch_all_and_plus_addresses,
    refuses_unknown_disabled_and_relay_recipients,
    stored_bytes_are_what_was_sent_plus_trace_headers,
    a_full_mailbox_is_refused_with_552,
    starttls_and_implicit_tls_use_the_servers_certificate,
    bdat_chunks_are_assembled_into_one_message,
    bare_lf_nul_and_8bit_headers_are_stored_without_harm,
    smtputf8_addresses_are_accepted_when_announced,
    oversize_messages_are_refused_while_streaming,
    swaks_sends_plain_with_starttls_and_pipelined,
    curl_uploads_a_message,
    a_50_mb_message_arrives_intact,
);

fn message(subject: &str, body: &str) -> Vec<u8> {
    format!("From: sender@remote.test\r\nTo: someone@example.org\r\nSubject: {subject}\r\n\r\n{body}\r\n").into_bytes()
}

fn delivers_to_users_aliases_catch_all_and_plus_addresses(profile: Profile) {
    let site = Site::new(profile);
    site.add_users("example.org", &["alice", "bob", "carol"]);
    site.cli(&[
        "alias",
        "add",
        "team@example.org",
        "alice@example.org,bob@example.org",
    ])
    .ok();
    site.cli(&[
        "alias",
        "add",
        "everyone@example.org",
        "team@example.org,carol@example.org",
    ])
    .ok();
    site.cli(&["alias", "add", "@example.org", "carol@example.org"])
        .ok();
    let server = site.serve();
    let mx = server.addr("smtp");

    let r = smtp::send(
        mx,
        "sender@remote.test",
        &["Alice@Example.ORG"],
        &message("one", "to alice"),
        &[],
    );
    assert_reply(&r["rcpt"][0], 250, "2.1.5");
    assert_reply(&r["data"], 250, "2.0.0");
    let r = smtp::send(
        mx,
        "sender@remote.test",
        &["alice+lists@example.org"],
        &message("two", "plus"),
        &[],
    );
    assert_reply(&r["data"], 250, "2.0.0");
    // Nested alias: alice and bob through team, carol directly; alice once only.
    let r = smtp::send(
        mx,
        "sender@remote.test",
        &["everyone@example.org", "alice@example.org"],
        &message("three", "all"),
        &[],
    );
    assert_reply(&r["data"], 250, "2.0.0");
    // Catch-all for an address nobody has.
    let r = smtp::send(
        mx,
        "sender@remote.test",
        &["sales@example.org"],
        &message("four", "catch-all"),
        &[],
    );
    assert_reply(&r["rcpt"][0], 250, "2.1.5");
    assert_reply(&r["data"], 250, "2.0.0");

    assert_eq!(site.mailbox_count("alice@example.org", "INBOX"), 3);
    assert_eq!(site.mailbox_count("bob@example.org", "INBOX"), 1);
    assert_eq!(site.mailbox_count("carol@example.org", "INBOX"), 2);
    // One blob per message, however many recipients: message three is stored once, under
    // the Maildir of the first mailbox it reached; the index shows it in all three INBOXes.
    let files: Vec<String> = ["alice", "bob", "carol"]
        .iter()
        .flat_map(|u| site.stored_messages(&format!("{u}@example.org")))
        .map(|m| String::from_utf8_lossy(&m).into_owned())
        .collect();
    for subject in ["one", "two", "three", "four"] {
        let copies = files
            .iter()
            .filter(|m| m.contains(&format!("Subject: {subject}\r\n")))
            .count();
        assert_eq!(copies, 1, "message {subject} stored once");
    }
    // Every user has the default folders.
    for name in ["Sent", "Drafts", "Trash", "Junk", "Archive"] {
        assert_eq!(site.mailbox_count("bob@example.org", name), 0);
    }
    let used = |u: &str| {
        site.cli(&["user", "show", u, "--json"]).json()["used_quota"]
            .as_i64()
            .unwrap()
    };
    let size = |subject: &str| {
        files
            .iter()
            .find(|m| m.contains(&format!("Subject: {subject}\r\n")))
            .unwrap()
            .len() as i64
    };
    assert_eq!(
        used("alice@example.org"),
        size("one") + size("two") + size("three"),
        "used_quota counts the stored bytes"
    );
    assert_eq!(used("bob@example.org"), size("three"));
}

fn refuses_unknown_disabled_and_relay_recipients(profile: Profile) {
    let site = Site::new(profile);
    site.add_users("example.org", &["alice", "dave"]);
    site.add_users("closed.org", &["erin"]);
    site.cli(&["user", "disable", "dave@example.org"]).ok();
    site.cli(&["domain", "disable", "closed.org"]).ok();
    site.cli(&["alias", "add", "loop1@example.org", "loop2@example.org"])
        .ok();
    site.cli(&["alias", "add", "loop2@example.org", "loop1@example.org"])
        .ok();
    let server = site.serve();
    let to = [
        "nobody@example.org",
        "dave@example.org",
        "erin@closed.org",
        "someone@elsewhere.test",
        "loop1@example.org",
        "alice@example.org",
    ];
    let r = smtp::send(
        server.addr("smtp"),
        "sender@remote.test",
        &to,
        &message("x", "y"),
        &[],
    );
    assert_reply(&r["rcpt"][0], 550, "5.1.1");
    assert_reply(&r["rcpt"][1], 550, "5.2.1");
    assert_reply(&r["rcpt"][2], 550, "5.1.2");
    assert_reply(&r["rcpt"][3], 554, "5.7.1");
    assert!(code(&r["rcpt"][3]).1.contains("Relay access denied"));
    assert_reply(&r["rcpt"][4], 550, "5.4.6");
    assert_reply(&r["rcpt"][5], 250, "2.1.5");
    assert_reply(&r["data"], 250, "2.0.0");
    assert_eq!(site.mailbox_count("alice@example.org", "INBOX"), 1);
    assert_eq!(site.mailbox_count("dave@example.org", "INBOX"), 0);
    // Never an open relay: a transaction with only a remote recipient has nothing to send.
    let r = smtp::send(
        server.addr("smtp"),
        "a@example.org",
        &["victim@elsewhere.test"],
        &message("x", "y"),
        &[],
    );
    assert_reply(&r["rcpt"][0], 554, "5.7.1");
    assert!(r["data"].is_null());
}

fn stored_bytes_are_what_was_sent_plus_trace_headers(profile: Profile) {
    let site = Site::new(profile);
    site.add_users("example.org", &["alice"]);
    let server = site.serve();
    let mut sent = message(
        "bytes",
        "line one\r\n.leading dot\r\n..two dots\r\n\r\nlast line",
    );
    sent.extend_from_slice(&[b'x'; 5000]);
    sent.extend_from_slice(b"\r\n");
    let r = smtp::send(
        server.addr("smtp"),
        "sender@remote.test",
        &["alice@example.org"],
        &sent,
        &[],
    );
    assert_reply(&r["data"], 250, "2.0.0");
    let stored = site.stored_messages("alice@example.org").remove(0);
    assert!(
        stored.ends_with(&sent),
        "the message is stored byte for byte after the trace headers"
    );
    let trace = String::from_utf8(stored[..stored.len() - sent.len()].to_vec()).unwrap();
    assert!(trace.starts_with("Return-Path: <sender@remote.test>\r\nReceived: from client.test.example ([127.0.0.1])\r\n\tby mx.test.example (Baedal) with ESMTP id "), "{trace}");
    assert!(
        trace.contains("\r\n\tfor <alice@example.org>;\r\n\t"),
        "{trace}"
    );
    assert!(trace.ends_with(" +0000\r\n"), "{trace}");
}

fn a_full_mailbox_is_refused_with_552(profile: Profile) {
    // Only the refusals here: the notices they lead to are tests/tests/quota_notices.rs's.
    let site = Site::with_config(profile, "[quota]\nnotify = false\n");
    site.add_users("example.org", &["alice", "bob"]);
    site.cli(&["user", "quota", "alice@example.org", "4K"]).ok();
    let server = site.serve();
    let mx = server.addr("smtp");
    let big = message("big", &"z".repeat(8000));
    // Known at RCPT through SIZE=.
    let r = smtp::send(
        mx,
        "s@remote.test",
        &["alice@example.org"],
        &big,
        &["--size", "8100"],
    );
    assert_reply(&r["rcpt"][0], 552, "5.2.2");
    // Known only after DATA.
    let r = smtp::send(mx, "s@remote.test", &["alice@example.org"], &big, &[]);
    assert_reply(&r["rcpt"][0], 250, "2.1.5");
    assert_reply(&r["data"], 552, "5.2.2");
    assert_eq!(site.mailbox_count("alice@example.org", "INBOX"), 0);
    // Small mail still fits.
    let r = smtp::send(
        mx,
        "s@remote.test",
        &["alice@example.org"],
        &message("small", "ok"),
        &[],
    );
    assert_reply(&r["data"], 250, "2.0.0");
    assert_eq!(site.mailbox_count("alice@example.org", "INBOX"), 1);
}

fn starttls_and_implicit_tls_use_the_servers_certificate(profile: Profile) {
    let site = Site::new(profile);
    site.add_users("example.org", &["alice"]);
    let server = site.serve();
    let cert = site.data_dir().join("tls/cert.pem");
    let ca = cert.to_str().unwrap();
    let r = smtp::send(
        server.addr("smtp"),
        "s@remote.test",
        &["alice@example.org"],
        &message("tls", "x"),
        &["--starttls", ca],
    );
    assert_reply(&r["starttls"], 220, "2.0.0");
    assert!(
        !r["ehlo"][1].as_str().unwrap().contains("STARTTLS"),
        "STARTTLS is not offered twice"
    );
    assert_reply(&r["data"], 250, "2.0.0");
    let r = smtp::send(
        server.addr("smtps"),
        "s@remote.test",
        &["alice@example.org"],
        &message("smtps", "x"),
        &["--ssl", ca],
    );
    assert_reply(&r["data"], 250, "2.0.0");
    let stored = site.stored_messages("alice@example.org");
    assert!(String::from_utf8_lossy(&stored[0]).contains(" with ESMTPS id "));
    assert!(String::from_utf8_lossy(&stored[1]).contains(" with ESMTPS id "));
}

#[test]
fn pipelined_commands_get_their_replies_in_order() {
    let site = Site::new(Profile::Sqlite);
    site.add_users("example.org", &["alice", "bob"]);
    let server = site.serve();
    let replies = smtp::raw(
        server.addr("smtp"),
        b"EHLO pipe.test\r\nMAIL FROM:<s@remote.test>\r\nRCPT TO:<alice@example.org>\r\nRCPT TO:<nobody@example.org>\r\n\
RCPT TO:<bob@example.org>\r\nDATA\r\nSubject: piped\r\n\r\nbody\r\n.\r\nRSET\r\nNOOP\r\nQUIT\r\n",
    );
    let codes: Vec<&str> = replies
        .iter()
        .filter(|l| !l.starts_with("250-"))
        .map(|l| &l[..3])
        .collect();
    assert_eq!(
        codes,
        [
            "220", "250", "250", "250", "550", "250", "354", "250", "250", "250", "221"
        ],
        "{replies:#?}"
    );
    assert!(replies.iter().any(|l| l == "250-PIPELINING"));
    assert!(replies.iter().any(|l| l == "250-CHUNKING"));
    assert!(replies.iter().any(|l| l.starts_with("250-SIZE 104857600")));
    assert_eq!(site.mailbox_count("alice@example.org", "INBOX"), 1);
    assert_eq!(site.mailbox_count("bob@example.org", "INBOX"), 1);
}

fn bdat_chunks_are_assembled_into_one_message(profile: Profile) {
    let site = Site::new(profile);
    site.add_users("example.org", &["alice"]);
    let server = site.serve();
    let part1 = b"Subject: chunked\r\n\r\nfirst part ";
    let part2 = b"second part\nbare LF line\r\n";
    let mut payload =
        b"EHLO chunk.test\r\nMAIL FROM:<s@remote.test>\r\nRCPT TO:<alice@example.org>\r\n".to_vec();
    payload.extend_from_slice(format!("BDAT {}\r\n", part1.len()).as_bytes());
    payload.extend_from_slice(part1);
    payload.extend_from_slice(format!("BDAT {} LAST\r\n", part2.len()).as_bytes());
    payload.extend_from_slice(part2);
    payload.extend_from_slice(b"DATA\r\nQUIT\r\n");
    let replies = smtp::raw(server.addr("smtp"), &payload);
    let codes: Vec<&str> = replies
        .iter()
        .filter(|l| !l.starts_with("250-"))
        .map(|l| &l[..9])
        .collect();
    assert_eq!(
        codes,
        [
            "220 mx.te",
            "250 START",
            "250 2.1.0",
            "250 2.1.5",
            "250 2.0.0",
            "250 2.0.0",
            "503 5.5.1",
            "221 2.0.0"
        ],
        "{replies:#?}"
    );
    let stored = site.stored_messages("alice@example.org").remove(0);
    assert!(
        stored.ends_with(b"Subject: chunked\r\n\r\nfirst part second part\r\nbare LF line\r\n")
    );
    // smtplib's own BDAT LAST, in one chunk.
    let r = smtp::send(
        server.addr("smtp"),
        "s@remote.test",
        &["alice@example.org"],
        &message("one chunk", "x"),
        &["--bdat"],
    );
    assert_reply(&r["data"], 250, "2.0.0");
    assert_eq!(site.mailbox_count("alice@example.org", "INBOX"), 2);
}

fn bare_lf_nul_and_8bit_headers_are_stored_without_harm(profile: Profile) {
    let site = Site::new(profile);
    site.add_users("example.org", &["alice"]);
    let server = site.serve();
    let replies = smtp::raw(
        server.addr("smtp"),
        b"EHLO raw.test\r\nMAIL FROM:<s@remote.test> BODY=8BITMIME\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n\
Subject: caf\xc3\xa9 \xff\x00nul\nX-Bare: lf\n\nbody\n.\nnot the end\r\n.\r\nQUIT\r\n",
    );
    assert!(
        replies
            .iter()
            .any(|l| l.starts_with("250 2.0.0 OK: queued as")),
        "{replies:#?}"
    );
    let stored = site.stored_messages("alice@example.org").remove(0);
    assert!(
        stored.ends_with(
            b"Subject: caf\xc3\xa9 \xff\x00nul\r\nX-Bare: lf\r\n\r\nbody\r\n.\r\nnot the end\r\n"
        ),
        "{}",
        String::from_utf8_lossy(&stored)
    );
}

fn smtputf8_addresses_are_accepted_when_announced(profile: Profile) {
    let site = Site::new(profile);
    site.add_users("example.org", &["alice"]);
    site.cli(&["alias", "add", "@example.org", "alice@example.org"])
        .ok();
    let server = site.serve();
    let msg = "From: δοκιμή@remote.test\r\nSubject: ünïcödé\r\n\r\nhello\r\n"
        .as_bytes()
        .to_vec();
    let r = smtp::send(
        server.addr("smtp"),
        "δοκιμή@remote.test",
        &["用户@example.org"],
        &msg,
        &["--smtputf8"],
    );
    assert_reply(&r["mail"], 250, "2.1.0");
    assert_reply(&r["rcpt"][0], 250, "2.1.5");
    assert_reply(&r["data"], 250, "2.0.0");
    let stored = String::from_utf8(site.stored_messages("alice@example.org").remove(0)).unwrap();
    assert!(
        stored.starts_with("Return-Path: <δοκιμή@remote.test>"),
        "{stored}"
    );
    assert!(stored.contains(" with UTF8SMTP id "), "{stored}");
    // Without SMTPUTF8 a non-ASCII address is refused (RFC 6531 §3.4).
    let replies = smtp::raw(
        server.addr("smtp"),
        "EHLO x\r\nMAIL FROM:<δ@remote.test>\r\nQUIT\r\n".as_bytes(),
    );
    assert!(
        replies.iter().any(|l| l.starts_with("553 5.6.7")),
        "{replies:#?}"
    );
}

fn oversize_messages_are_refused_while_streaming(profile: Profile) {
    let site = Site::with_config(profile, "[smtp]\nmax_message_size = \"1M\"\n");
    site.add_users("example.org", &["alice"]);
    let server = site.serve();
    let big = message("big", &"y".repeat(2 * 1024 * 1024));
    let r = smtp::send(
        server.addr("smtp"),
        "s@remote.test",
        &["alice@example.org"],
        &big,
        &["--size", "2200000"],
    );
    assert_reply(&r["mail"], 552, "5.3.4");
    let r = smtp::send(
        server.addr("smtp"),
        "s@remote.test",
        &["alice@example.org"],
        &big,
        &[],
    );
    assert_reply(&r["data"], 552, "5.3.4");
    let r = smtp::send(
        server.addr("smtp"),
        "s@remote.test",
        &["alice@example.org"],
        &big,
        &["--bdat"],
    );
    assert_reply(&r["data"], 552, "5.3.4");
    assert_eq!(site.mailbox_count("alice@example.org", "INBOX"), 0);
    assert_eq!(
        std::fs::read_dir(site.data_dir().join("spool"))
            .unwrap()
            .count(),
        0,
        "no spool file left behind"
    );
    assert!(
        String::from_utf8_lossy(
            &smtp::raw(server.addr("smtp"), b"EHLO x\r\nQUIT\r\n")
                .concat()
                .into_bytes()
        )
        .contains("SIZE 1048576")
    );
}

#[test]
fn too_many_recipients_get_452() {
    let site = Site::new(Profile::Sqlite);
    site.add_users("example.org", &["alice"]);
    let server = site.serve();
    let to: Vec<String> = (0..101).map(|i| format!("alice+{i}@example.org")).collect();
    let to: Vec<&str> = to.iter().map(String::as_str).collect();
    let r = smtp::send(
        server.addr("smtp"),
        "s@remote.test",
        &to,
        &message("many", "x"),
        &[],
    );
    let rcpt = r["rcpt"].as_array().unwrap();
    assert!(rcpt[..100].iter().all(|c| c[0] == 250), "{r}");
    assert_reply(&rcpt[100], 452, "4.5.3");
    assert_reply(&r["data"], 250, "2.0.0");
    assert_eq!(site.mailbox_count("alice@example.org", "INBOX"), 1);
}

#[test]
fn bad_input_gets_protocol_errors_and_the_session_survives() {
    let site = Site::with_config(Profile::Sqlite, "[smtp]\nmax_errors = 5\n");
    site.add_users("example.org", &["alice"]);
    let server = site.serve();
    let mut payload = b"EHLO x\r\n".to_vec();
    payload.extend_from_slice(format!("NOOP {}\r\n", "a".repeat(5000)).as_bytes());
    payload.extend_from_slice(
        b"RCPT TO:<alice@example.org>\r\nDATA\r\nMAIL FROM:<bad address\r\nNOOP\r\nQUIT\r\n",
    );
    let replies = smtp::raw(server.addr("smtp"), &payload);
    let codes: Vec<&str> = replies
        .iter()
        .filter(|l| !l.starts_with("250-"))
        .map(|l| &l[..9])
        .collect();
    assert_eq!(
        codes,
        [
            "220 mx.te",
            "250 START",
            "500 5.5.2",
            "503 5.5.1",
            "503 5.5.1",
            "501 5.1.7",
            "250 2.0.0",
            "221 2.0.0"
        ],
        "{replies:#?}"
    );
    // The error cutoff closes a session that keeps failing.
    let replies = smtp::raw(server.addr("smtp"), &b"FOO\r\n".repeat(10));
    assert_eq!(
        replies
            .iter()
            .filter(|l| l.starts_with("500 5.5.1"))
            .count(),
        5,
        "{replies:#?}"
    );
    assert_eq!(
        replies.last().unwrap(),
        "421 4.7.0 Too many errors, closing connection"
    );
    // The server still works.
    let r = smtp::send(
        server.addr("smtp"),
        "s@remote.test",
        &["alice@example.org"],
        &message("after", "x"),
        &[],
    );
    assert_reply(&r["data"], 250, "2.0.0");
    let replies = smtp::raw(
        server.addr("smtp"),
        b"HELO x\r\nVRFY alice@example.org\r\nHELP\r\nAUTH PLAIN AGFAYg==\r\nQUIT\r\n",
    );
    let codes: Vec<&str> = replies.iter().map(|l| &l[..9]).collect();
    assert_eq!(
        codes,
        [
            "220 mx.te",
            "250 mx.te",
            "252 2.5.0",
            "214 2.0.0",
            "503 5.5.1",
            "221 2.0.0"
        ],
        "{replies:#?}"
    );
}

#[test]
fn connections_are_limited_per_ip_and_idle_sessions_time_out() {
    let site = Site::with_config(
        Profile::Sqlite,
        "[smtp]\nmax_connections_per_ip = 2\ncommand_timeout = 1\n",
    );
    let server = site.serve();
    let addr = server.addr("smtp");
    let a = std::net::TcpStream::connect(addr).unwrap();
    let b = std::net::TcpStream::connect(addr).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let replies = smtp::raw(addr, b"");
    assert_eq!(replies, ["421 4.7.0 Too many connections, try again later"]);
    // The idle ones are closed after the command timeout, with 421 4.4.2.
    let mut text = String::new();
    use std::io::Read;
    let mut a = a;
    a.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    a.read_to_string(&mut text).unwrap();
    assert!(
        text.starts_with("220 ") && text.ends_with("421 4.4.2 Timeout, closing connection\r\n"),
        "{text}"
    );
    drop(b);
    std::thread::sleep(std::time::Duration::from_millis(200));
    let replies = smtp::raw(addr, b"QUIT\r\n");
    assert_eq!(replies.last().unwrap(), "221 2.0.0 Bye");
}

#[test]
fn a_storage_failure_gives_451_and_stores_nothing() {
    let site = Site::new(Profile::Sqlite);
    site.add_users("example.org", &["alice"]);
    let server = site.serve();
    // Make the Maildir impossible to create: a file where the domain folder should be.
    let mail = site.data_dir().join("mail");
    std::fs::create_dir_all(&mail).unwrap();
    std::fs::write(mail.join("example.org"), b"not a directory").unwrap();
    let r = smtp::send(
        server.addr("smtp"),
        "s@remote.test",
        &["alice@example.org"],
        &message("lost?", "x"),
        &[],
    );
    assert_reply(&r["data"], 451, "4.3.0");
    assert_eq!(site.mailbox_count("alice@example.org", "INBOX"), 0);
    assert_eq!(
        site.cli(&["user", "show", "alice@example.org", "--json"])
            .json()["used_quota"],
        0
    );
    // Once the storage is back, mail flows again.
    std::fs::remove_file(mail.join("example.org")).unwrap();
    let r = smtp::send(
        server.addr("smtp"),
        "s@remote.test",
        &["alice@example.org"],
        &message("back", "x"),
        &[],
    );
    assert_reply(&r["data"], 250, "2.0.0");
    assert_eq!(site.mailbox_count("alice@example.org", "INBOX"), 1);
}

fn swaks_sends_plain_with_starttls_and_pipelined(profile: Profile) {
    let site = Site::new(profile);
    site.add_users("example.org", &["alice"]);
    let server = site.serve();
    let mx = server.addr("smtp");
    let (rc, out) = smtp::swaks(
        mx,
        &[
            "--to",
            "alice@example.org",
            "--from",
            "s@remote.test",
            "--header",
            "Subject: swaks plain",
        ],
    );
    assert_eq!(rc, 0, "{out}");
    assert!(out.contains("250 2.0.0 OK: queued as"), "{out}");
    let (rc, out) = smtp::swaks(
        mx,
        &[
            "--to",
            "alice@example.org",
            "--from",
            "s@remote.test",
            "--tls",
            "--header",
            "Subject: swaks tls",
        ],
    );
    assert_eq!(rc, 0, "{out}");
    assert!(out.contains("TLS started"), "{out}");
    let (rc, out) = smtp::swaks(
        mx,
        &[
            "--to",
            "alice@example.org",
            "--from",
            "s@remote.test",
            "--pipeline",
            "--header",
            "Subject: swaks pipelined",
        ],
    );
    assert_eq!(rc, 0, "{out}");
    let (rc, out) = smtp::swaks(
        mx,
        &["--to", "nobody@example.org", "--from", "s@remote.test"],
    );
    assert_ne!(rc, 0);
    assert!(out.contains("550 5.1.1 No such user here"), "{out}");
    let stored: Vec<String> = site
        .stored_messages("alice@example.org")
        .iter()
        .map(|m| String::from_utf8_lossy(m).into_owned())
        .collect();
    assert_eq!(stored.len(), 3);
    assert!(
        stored[0].contains("Subject: swaks plain")
            && stored[1].contains("Subject: swaks tls")
            && stored[2].contains("Subject: swaks pipelined")
    );
    assert!(stored[1].contains("with ESMTPS"));
}

fn curl_uploads_a_message(profile: Profile) {
    let site = Site::new(profile);
    site.add_users("example.org", &["alice"]);
    let server = site.serve();
    let mut file = tempfile::NamedTempFile::new().unwrap();
    file.write_all(&message("curl", "sent by curl")).unwrap();
    let url = format!("smtp://{}", server.addr("smtp"));
    let out = Command::new("curl")
        .args([
            "-sS",
            &url,
            "--mail-from",
            "s@remote.test",
            "--mail-rcpt",
            "alice@example.org",
            "--upload-file",
        ])
        .arg(file.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stored = site.stored_messages("alice@example.org");
    assert!(stored[0].ends_with(&message("curl", "sent by curl")));
    let out = Command::new("curl")
        .args([
            "-sS",
            &url,
            "--mail-from",
            "s@remote.test",
            "--mail-rcpt",
            "x@elsewhere.test",
            "--upload-file",
        ])
        .arg(file.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("554"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn a_50_mb_message_arrives_intact(profile: Profile) {
    let site = Site::new(profile);
    site.add_users("example.org", &["alice"]);
    let server = site.serve();
    let mut sent =
        b"Subject: fifty megabytes\r\nContent-Type: application/octet-stream\r\n\r\n".to_vec();
    let line = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ+/0123456789\r\n";
    while sent.len() < 50 * 1024 * 1024 {
        sent.extend_from_slice(line);
    }
    let r = smtp::send(
        server.addr("smtp"),
        "s@remote.test",
        &["alice@example.org"],
        &sent,
        &[],
    );
    assert_reply(&r["data"], 250, "2.0.0");
    let stored = site.stored_messages("alice@example.org").remove(0);
    assert!(stored.len() > sent.len());
    assert!(
        stored.ends_with(&sent),
        "stored bytes = trace headers + the 50 MB sent"
    );
}
