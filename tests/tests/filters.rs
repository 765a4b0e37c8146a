//! Content filtering on the MX and submission with the real daemons: Debian's rspamd (GTUBE
//! variants pin each verdict) and clamd (a self-written EICAR database), started by the
//! test command; and the attachment policy against each trick. What a user checks: the
//! reply codes and texts, where the message lands (INBOX, Junk, nowhere), the headers it
//! carries, the log line and the metrics.

use baedal_tests::filters::{Daemon, sample, shared_clamd, shared_rspamd_url};
use baedal_tests::smtp::{self, assert_reply, code};
use baedal_tests::{Profile, Site, on_both_profiles};
use base64::Engine;

on_both_profiles!(
    rspamd_verdicts_reject_junk_rewrite_and_deliver,
    clamav_refuses_eicar_in_every_wrapping,
    quarantine_holds_lists_shows_releases_and_deletes,
);

const ALICE: &str = "alice@company.kr";

fn rspamd_config(url: &str) -> String {
    format!("\n[rspamd]\nurl = \"{url}\"\n")
}

fn clamav_config(address: &str) -> String {
    format!("\n[clamav]\naddress = \"{address}\"\n")
}

fn send_to_alice(server: &baedal_tests::Server, message: &[u8]) -> serde_json::Value {
    smtp::send(
        server.addr("smtp"),
        "sender@example.org",
        &[ALICE],
        message,
        &[],
    )
}

/// The header section of a stored message, as text.
fn header_of(message: &[u8]) -> String {
    let text = String::from_utf8_lossy(message);
    text.split("\r\n\r\n").next().unwrap_or("").to_string()
}

/// The value of the first header field `name` in a stored message (unfolded).
fn header_value(message: &[u8], name: &str) -> Option<String> {
    let header = header_of(message);
    let unfolded = header.replace("\r\n\t", " ").replace("\r\n ", " ");
    unfolded.lines().find_map(|l| {
        l.split_once(':')
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_string())
    })
}

fn rspamd_verdicts_reject_junk_rewrite_and_deliver(profile: Profile) {
    let site = Site::with_config(profile, &rspamd_config(&shared_rspamd_url()));
    site.add_users("company.kr", &["alice", "bob"]);
    let server = site.serve();

    // reject: 550 5.7.1 with Rspamd's message; nothing stored.
    let r = send_to_alice(&server, &sample("gtube-X"));
    assert_reply(&r["data"], 550, "5.7.1");
    assert!(code(&r["data"]).1.contains("Gtube pattern"), "{r}");
    assert_eq!(site.stored_messages(ALICE).len(), 0);

    // add header: delivered, to Junk.
    let r = send_to_alice(&server, &sample("gtube-Y"));
    assert_reply(&r["data"], 250, "2.0.0");
    assert_eq!(site.mailbox_count(ALICE, "Junk"), 1);
    assert_eq!(site.mailbox_count(ALICE, "INBOX"), 0);

    // rewrite subject: delivered to INBOX with Rspamd's subject.
    let r = send_to_alice(&server, &sample("gtube-Z"));
    assert_reply(&r["data"], 250, "2.0.0");
    assert_eq!(site.mailbox_count(ALICE, "INBOX"), 1);
    let stored = site.stored_messages(ALICE);
    let rewritten = stored.last().expect("stored");
    assert_eq!(
        header_value(rewritten, "Subject").as_deref(),
        Some("*** SPAM *** test pattern Z"),
        "{}",
        header_of(rewritten)
    );
    assert_eq!(
        String::from_utf8_lossy(rewritten)
            .matches("\nSubject:")
            .count(),
        1
    );

    // no action: delivered as sent (after our trace headers).
    let sent = sample("gtube-A");
    let r = send_to_alice(&server, &sent);
    assert_reply(&r["data"], 250, "2.0.0");
    assert_eq!(site.mailbox_count(ALICE, "INBOX"), 2);
    let stored = site.stored_messages(ALICE);
    let plain = stored.last().expect("stored");
    let sent_crlf = String::from_utf8_lossy(&sent)
        .replace("\r\n", "\n")
        .replace('\n', "\r\n");
    assert!(
        // smtplib ends bytes that end in a bare LF with one more CRLF.
        String::from_utf8_lossy(plain)
            .trim_end()
            .ends_with(sent_crlf.trim_end()),
        "the message was changed:\n{}",
        String::from_utf8_lossy(plain)
    );

    // A message Rspamd scores (no test pattern) gets the headers Rspamd asks for; forged
    // ones of the same names are removed first.
    let mut forged = b"X-Spam-Status: No, score=-100\r\nX-Spamd-Result: forged\r\n".to_vec();
    forged.extend_from_slice(&sample("clean"));
    let r = send_to_alice(&server, &forged);
    assert_reply(&r["data"], 250, "2.0.0");
    let stored = site.stored_messages(ALICE);
    let scored = stored.last().expect("stored");
    let status = header_value(scored, "X-Spam-Status").expect("X-Spam-Status added");
    assert!(status.starts_with("No, score="), "{status}");
    assert_ne!(status, "No, score=-100");
    let result = header_value(scored, "X-Spamd-Result").expect("X-Spamd-Result added");
    assert!(result.starts_with("default: False ["), "{result}");
    assert_eq!(header_of(scored).matches("X-Spam-Status:").count(), 1);
    assert_eq!(
        header_value(scored, "X-Rspamd-Queue-Id"),
        r["data"][1]
            .as_str()
            .and_then(|t| t.rsplit(' ').next())
            .map(str::to_string),
        "Rspamd was told our queue id"
    );

    // Two recipients: one reply for both; each copy where its verdict says.
    let r = smtp::send(
        server.addr("smtp"),
        "sender@example.org",
        &[ALICE, "bob@company.kr"],
        &sample("gtube-Y"),
        &[],
    );
    assert_reply(&r["data"], 250, "2.0.0");
    assert_eq!(site.mailbox_count("bob@company.kr", "Junk"), 1);

    // The log line of each message carries score and symbols.
    let log = server.log_text();
    let refused = log
        .lines()
        .find(|l| l.contains("message refused") && l.contains("rspamd="))
        .unwrap_or_else(|| panic!("no refusal line with rspamd verdicts:\n{log}"));
    assert!(refused.contains("score=15.00/15.00"), "{refused}");
    assert!(refused.contains("GTUBE"), "{refused}");
    let accepted: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("message accepted") && l.contains("rspamd="))
        .collect();
    assert_eq!(accepted.len(), 5, "{log}");
    assert!(
        accepted[0].contains("rspamd=add_header score=6.00/15.00"),
        "{log}"
    );
    assert!(accepted.iter().any(|l| l.contains("ARC_NA(0.00)")), "{log}");

    let (_, metrics) = server.http_get("/metrics");
    let spam = metric(
        &metrics,
        "baedal_filter_verdicts_total{filter=\"rspamd\",verdict=\"spam\"}",
    );
    assert_eq!(
        spam, 4.0,
        "reject, add header, rewrite, add header: {metrics}"
    );
    let clean = metric(
        &metrics,
        "baedal_filter_verdicts_total{filter=\"rspamd\",verdict=\"clean\"}",
    );
    assert_eq!(clean, 2.0);
    assert!(
        metrics.contains("baedal_filter_scan_duration_seconds_count{filter=\"rspamd\"} 6"),
        "{metrics}"
    );
    let (status, ready) = server.http_get("/readyz");
    assert_eq!((status, ready.as_str()), (200, "ready\nrspamd: ok\n"));
}

/// The value of one series in the metrics text.
fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no {series} in\n{text}"))
}

fn clamav_refuses_eicar_in_every_wrapping(profile: Profile) {
    let (tcp, _) = shared_clamd();
    let site = Site::with_config(profile, &clamav_config(&tcp));
    site.add_users("company.kr", &["alice"]);
    let server = site.serve();
    for kind in ["eicar-mime", "eicar-zip"] {
        let r = send_to_alice(&server, &sample(kind));
        assert_reply(&r["data"], 554, "5.7.0");
        let text = code(&r["data"]).1;
        assert!(text.contains("Virus found: Test.EICAR"), "{kind}: {text}");
        assert!(text.contains(".UNOFFICIAL"), "{kind}: {text}");
    }
    assert_eq!(site.stored_messages(ALICE).len(), 0);
    let r = send_to_alice(&server, &sample("clean"));
    assert_reply(&r["data"], 250, "2.0.0");
    assert_eq!(site.stored_messages(ALICE).len(), 1);
    let log = server.log_text();
    assert!(log.contains("clamav=virus:Test.EICAR"), "{log}");
    assert!(log.contains("clamav=clean"), "{log}");
    let (_, metrics) = server.http_get("/metrics");
    assert_eq!(
        metric(
            &metrics,
            "baedal_filter_verdicts_total{filter=\"clamav\",verdict=\"virus\"}"
        ),
        2.0
    );
}

#[test]
fn clamav_over_a_unix_socket_and_on_submission() {
    let (_, socket) = shared_clamd();
    let extra = format!(
        "{}{}",
        clamav_config(&socket),
        rspamd_config(&shared_rspamd_url())
    );
    let site = Site::with_config(Profile::Sqlite, &extra);
    site.add_users("company.kr", &["alice", "bob"]);
    let server = site.serve();
    let ca = site.data_dir().join("tls/cert.pem");
    let ca = ca.to_string_lossy();
    let submit = |message: &[u8]| {
        smtp::send(
            server.addr("submission"),
            ALICE,
            &["bob@company.kr"],
            &with_from(message, ALICE),
            &["--starttls", &ca, "--login", ALICE, "pw"],
        )
    };
    // A compromised account sends a virus, or spam: refused like on the MX.
    let r = submit(&sample("eicar-zip"));
    assert_reply(&r["data"], 554, "5.7.0");
    let r = submit(&sample("gtube-X"));
    assert_reply(&r["data"], 550, "5.7.1");
    let r = submit(&sample("clean"));
    assert_reply(&r["data"], 250, "2.0.0");
    assert_eq!(site.stored_messages("bob@company.kr").len(), 1);
    let log = server.log_text();
    assert!(log.contains("clamav=virus:Test.EICAR"), "{log}");
}

/// `message` with its From: replaced by `from` (submission checks the user owns it).
fn with_from(message: &[u8], from: &str) -> Vec<u8> {
    let text = String::from_utf8_lossy(message);
    text.lines()
        .map(|l| {
            if l.starts_with("From:") {
                format!("From: {from}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\r\n")
        .into_bytes()
}

#[test]
fn a_stream_over_clamds_limit_follows_the_policy() {
    // clamd takes at most 1 MiB here: a 2 MiB message is closed on mid-write.
    let clamd = Daemon::clamd("1M");
    let address = clamd.var("CLAMD_ADDRESS");
    let big = {
        let mut m =
            b"From: sender@example.org\r\nTo: alice@company.kr\r\nSubject: big\r\n\r\n".to_vec();
        m.extend_from_slice(&sample("big-2"));
        m
    };
    let tempfail = Site::with_config(Profile::Sqlite, &clamav_config(&address));
    tempfail.add_users("company.kr", &["alice"]);
    let server = tempfail.serve();
    let r = send_to_alice(&server, &big);
    assert_reply(&r["data"], 451, "4.7.1");
    assert!(
        code(&r["data"])
            .1
            .contains("too large for the virus scanner"),
        "{r}"
    );
    // The session goes on, and clamd still scans the next message.
    let r = send_to_alice(&server, &sample("eicar-mime"));
    assert_reply(&r["data"], 554, "5.7.0");
    drop(server);

    let accept = Site::with_config(
        Profile::Sqlite,
        &format!("{}oversize = \"accept\"\n", clamav_config(&address)),
    );
    accept.add_users("company.kr", &["alice"]);
    let server = accept.serve();
    let r = send_to_alice(&server, &big);
    assert_reply(&r["data"], 250, "2.0.0");
    let stored = accept.stored_messages(ALICE);
    let unscanned = header_value(&stored[0], "X-Baedal-Unscanned").expect("marked unscanned");
    assert!(unscanned.starts_with("clamav:"), "{unscanned}");

    let reject = Site::with_config(
        Profile::Sqlite,
        &format!("{}oversize = \"reject\"\n", clamav_config(&address)),
    );
    reject.add_users("company.kr", &["alice"]);
    let server = reject.serve();
    let r = send_to_alice(&server, &big);
    assert_reply(&r["data"], 554, "5.7.0");
}

#[test]
fn a_filter_that_is_down_defers_and_a_restarted_one_delivers() {
    let mut rspamd = Daemon::rspamd();
    let url = rspamd.var("RSPAMD_URL");
    let clamd = Daemon::clamd("10M");
    let extra = format!(
        "{}timeout_ms = 3000\n{}",
        rspamd_config(&url),
        clamav_config(&clamd.var("CLAMD_ADDRESS"))
    );
    let site = Site::with_config(Profile::Sqlite, &extra);
    site.add_users("company.kr", &["alice"]);
    let server = site.serve();
    let message = sample("gtube-A");
    let r = send_to_alice(&server, &message);
    assert_reply(&r["data"], 250, "2.0.0");

    rspamd.stop();
    let r = send_to_alice(&server, &message);
    assert_reply(&r["data"], 451, "4.7.1");
    assert!(
        code(&r["data"]).1.contains("Spam filter unavailable"),
        "{r}"
    );
    assert_eq!(
        site.stored_messages(ALICE).len(),
        1,
        "nothing unscanned is delivered"
    );
    let (status, ready) = server.http_get("/readyz");
    assert_eq!(status, 503, "{ready}");
    assert!(ready.starts_with("not ready\nrspamd: down ("), "{ready}");
    assert!(ready.contains("clamav: ok"), "{ready}");
    let (_, metrics) = server.http_get("/metrics");
    assert!(
        metrics.contains("baedal_filter_up{filter=\"rspamd\"} 0"),
        "{metrics}"
    );

    // The sender retries once Rspamd is back: delivered.
    rspamd.restart();
    let r = send_to_alice(&server, &message);
    assert_reply(&r["data"], 250, "2.0.0");
    assert_eq!(site.stored_messages(ALICE).len(), 2);
    assert_eq!(server.http_get("/readyz").0, 200);

    // clamd down: 451 as well.
    clamd.stop();
    let r = send_to_alice(&server, &message);
    assert_reply(&r["data"], 451, "4.7.1");
    assert!(
        code(&r["data"]).1.contains("Virus scanner unavailable"),
        "{r}"
    );
    drop(server);

    // fail_open: delivered, saying which filter did not look.
    let open = Site::with_config(
        Profile::Sqlite,
        &format!(
            "{}fail_open = true\n",
            clamav_config(&clamd.var("CLAMD_ADDRESS"))
        ),
    );
    open.add_users("company.kr", &["alice"]);
    let server = open.serve();
    let r = send_to_alice(&server, &message);
    assert_reply(&r["data"], 250, "2.0.0");
    let stored = open.stored_messages(ALICE);
    let unscanned = header_value(&stored[0], "X-Baedal-Unscanned").expect("marked");
    assert!(
        unscanned.starts_with("clamav: Virus scanner unavailable"),
        "{unscanned}"
    );
    let (status, ready) = server.http_get("/readyz");
    assert_eq!(status, 200, "{ready}");
    assert!(ready.contains("clamav: down ("), "{ready}");
}

/// A message with one base64 attachment.
fn attachment(content_type: &str, disposition: &str, data: &[u8]) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(data);
    format!(
        "From: sender@example.org\r\nTo: alice@company.kr\r\nSubject: files\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n\
         --b\r\nContent-Type: {content_type}\r\nContent-Transfer-Encoding: base64\r\n\
         Content-Disposition: attachment; {disposition}\r\n\r\n{b64}\r\n--b--\r\n"
    )
    .into_bytes()
}

/// A ZIP holding one stored file, from Python's zipfile (an independent writer).
fn zip_of(name: &str, data: &[u8]) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("dir");
    let input = dir.path().join("in");
    std::fs::write(&input, data).expect("write");
    let out = dir.path().join("out.zip");
    let status = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, zipfile\nwith zipfile.ZipFile(sys.argv[3], 'w', zipfile.ZIP_DEFLATED) as z: z.write(sys.argv[1], sys.argv[2])",
        ])
        .arg(&input)
        .arg(name)
        .arg(&out)
        .status()
        .expect("python3");
    assert!(status.success());
    std::fs::read(out).expect("zip")
}

fn windows_program() -> Vec<u8> {
    let mut pe = vec![0u8; 512];
    pe[..2].copy_from_slice(b"MZ");
    pe[0x3c] = 0x80;
    pe[0x80..0x84].copy_from_slice(b"PE\0\0");
    pe
}

#[test]
fn attachment_tricks_are_refused_and_documents_pass() {
    let site = Site::new(Profile::Sqlite);
    site.add_users("company.kr", &["alice"]);
    let server = site.serve();
    let pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
    let tricks: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "a plain .exe",
            attachment("application/octet-stream", "filename=\"setup.exe\"", b"x"),
            "setup.exe",
        ),
        (
            "a double extension",
            attachment("application/pdf", "filename=\"invoice.pdf.exe\"", b"x"),
            "invoice.pdf.exe",
        ),
        (
            "a trailing dot",
            attachment("application/pdf", "filename=\"invoice.exe.\"", b"x"),
            "invoice.exe.",
        ),
        (
            "an RFC 2231 name",
            attachment(
                "application/octet-stream",
                "filename*=UTF-8''report%2Escr",
                b"x",
            ),
            "report.scr",
        ),
        (
            "an RFC 2047 name",
            attachment(
                "application/octet-stream",
                "filename=\"=?UTF-8?B?7LKt6rWs7IScLnBkZi5qcw==?=\"",
                b"x",
            ),
            "???.pdf.js",
        ),
        (
            "a program named .pdf",
            attachment(
                "application/pdf",
                "filename=\"scan.pdf\"",
                &windows_program(),
            ),
            "scan.pdf",
        ),
        (
            "an .exe in a ZIP",
            attachment(
                "application/zip",
                "filename=\"docs.zip\"",
                &zip_of("docs/setup.exe", b"x"),
            ),
            "docs.zip/docs/setup.exe",
        ),
        (
            "a program renamed in a ZIP",
            attachment(
                "application/zip",
                "filename=\"photos.zip\"",
                &zip_of("photo.jpg", &windows_program()),
            ),
            "photos.zip/photo.jpg",
        ),
        (
            "a macro document",
            attachment("application/vnd.ms-word", "filename=\"report.docm\"", b"PK"),
            "report.docm",
        ),
    ];
    for (what, message, file) in &tricks {
        let r = send_to_alice(&server, message);
        assert_reply(&r["data"], 554, "5.7.1");
        let text = code(&r["data"]).1;
        assert!(
            text.starts_with("5.7.1 Attachment refused: "),
            "{what}: {text}"
        );
        assert!(text.contains(file), "{what}: {text} does not name {file}");
    }
    assert_eq!(site.stored_messages(ALICE).len(), 0);
    for message in [
        attachment("application/pdf", "filename=\"invoice.pdf\"", pdf),
        attachment("image/png", "filename=\"logo.png\"", png),
        attachment(
            "application/zip",
            "filename=\"docs.zip\"",
            &zip_of("a.pdf", pdf),
        ),
    ] {
        let r = send_to_alice(&server, &message);
        assert_reply(&r["data"], 250, "2.0.0");
    }
    assert_eq!(site.stored_messages(ALICE).len(), 3);
    // The log names the file as sent (decoded), the metrics count each refusal.
    let log = server.log_text();
    assert!(log.contains("청구서.pdf.js"), "{log}");
    let (_, metrics) = server.http_get("/metrics");
    assert_eq!(
        metric(
            &metrics,
            "baedal_filter_verdicts_total{filter=\"attachments\",verdict=\"blocked\"}"
        ),
        tricks.len() as f64
    );
}

fn quarantine_list(site: &Site) -> Vec<serde_json::Value> {
    site.cli(&["--json", "quarantine", "list"])
        .json()
        .as_array()
        .expect("a JSON array")
        .clone()
}

fn quarantine_holds_lists_shows_releases_and_deletes(profile: Profile) {
    let (tcp, _) = shared_clamd();
    let extra = format!(
        "{}{}\n[quarantine]\nvirus = \"quarantine\"\n\n[quarantine.domains.\"company.kr\"]\nspam = \"quarantine\"\n",
        clamav_config(&tcp),
        rspamd_config(&shared_rspamd_url())
    );
    let site = Site::with_config(profile, &extra);
    site.add_users("company.kr", &["alice"]);
    site.add_users("other.kr", &["carol"]);
    let server = site.serve();

    // A virus is held instead of refused: the sender is told it was delivered.
    let virus = sample("eicar-mime");
    let r = send_to_alice(&server, &virus);
    assert_reply(&r["data"], 250, "2.0.0");
    let queue_id = code(&r["data"]).1.rsplit(' ').next().unwrap().to_string();
    assert_eq!(site.stored_messages(ALICE).len(), 0, "held, not delivered");

    // Spam: held for company.kr (its rule), filed in Junk for other.kr (the site's).
    let r = smtp::send(
        server.addr("smtp"),
        "sender@example.org",
        &[ALICE, "carol@other.kr"],
        &sample("gtube-Y"),
        &[],
    );
    assert_reply(&r["data"], 250, "2.0.0");
    assert_eq!(site.mailbox_count("carol@other.kr", "Junk"), 1);
    assert_eq!(site.stored_messages(ALICE).len(), 0);

    // A blocked attachment is still refused (attachment = "reject", the default).
    let r = send_to_alice(
        &server,
        &attachment("application/octet-stream", "filename=\"a.exe\"", b"x"),
    );
    assert_reply(&r["data"], 554, "5.7.1");

    let held = quarantine_list(&site);
    assert_eq!(held.len(), 2, "{held:?}");
    let virus_entry = held
        .iter()
        .find(|m| m["verdict"] == "virus")
        .expect("virus entry");
    assert_eq!(virus_entry["id"], queue_id.as_str());
    assert_eq!(virus_entry["sender"], "sender@example.org");
    assert_eq!(virus_entry["recipients"], serde_json::json!([ALICE]));
    assert_eq!(virus_entry["local_users"], serde_json::json!([ALICE]));
    assert_eq!(virus_entry["subject"], "eicar attached");
    assert!(
        virus_entry["reason"]
            .as_str()
            .unwrap()
            .starts_with("Virus found: Test.EICAR"),
        "{virus_entry}"
    );
    let spam_entry = held
        .iter()
        .find(|m| m["verdict"] == "spam")
        .expect("spam entry");
    assert_eq!(
        spam_entry["recipients"],
        serde_json::json!([ALICE]),
        "only alice's copy"
    );
    let shown = site
        .cli(&["--json", "quarantine", "show", &queue_id])
        .json();
    assert!(
        shown["header"]
            .as_str()
            .unwrap()
            .contains("Subject: eicar attached"),
        "{shown}"
    );
    let human = site.cli(&["quarantine", "list"]);
    assert!(human.ok().contains(&queue_id), "{}", human.ok());

    // Release: the exact held bytes land in alice's INBOX, with the original envelope.
    let raw = site.cli(&["quarantine", "show", &queue_id, "--raw"]);
    let held_bytes = raw.stdout.clone();
    let sent = String::from_utf8_lossy(&virus).replace('\n', "\r\n");
    assert!(
        held_bytes.trim_end().ends_with(sent.trim_end()),
        "the held copy is the message as sent"
    );
    site.cli(&["quarantine", "release", &queue_id]).ok();
    let stored = site.stored_messages(ALICE);
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0],
        held_bytes.as_bytes(),
        "release delivers the held bytes unchanged"
    );
    assert_eq!(
        header_value(&stored[0], "Return-Path").as_deref(),
        Some("<sender@example.org>")
    );
    assert_eq!(site.mailbox_count(ALICE, "INBOX"), 1);
    let held = quarantine_list(&site);
    assert_eq!(held.len(), 1);

    // The held object is accounted for, also after the orphan grace period.
    let later = (baedal_tests::now_secs() + 3 * 86_400).to_string();
    let verify = site
        .cli(&["--json", "storage", "verify", "--now", &later])
        .json();
    assert_eq!(verify["orphan_objects"], serde_json::json!([]), "{verify}");

    // Delete: gone for good; a second delete fails.
    let spam_id = held[0]["id"].as_str().unwrap().to_string();
    site.cli(&["quarantine", "delete", &spam_id]).ok();
    assert!(quarantine_list(&site).is_empty());
    site.cli(&["quarantine", "delete", &spam_id])
        .fails(1, "no quarantined message");
    site.cli(&["quarantine", "release", &spam_id])
        .fails(1, "no quarantined message");
    let log = server.log_text();
    assert!(log.contains("quarantined=virus:alice@company.kr"), "{log}");
}

#[test]
fn quarantined_messages_expire() {
    let (tcp, _) = shared_clamd();
    let extra = format!(
        "{}\n[quarantine]\nvirus = \"quarantine\"\nlifetime_days = 0\n",
        clamav_config(&tcp)
    );
    let site = Site::with_config(Profile::Sqlite, &extra);
    site.add_users("company.kr", &["alice"]);
    let server = site.serve();
    let r = send_to_alice(&server, &sample("eicar-mime"));
    assert_reply(&r["data"], 250, "2.0.0");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while !quarantine_list(&site).is_empty() {
        assert!(std::time::Instant::now() < deadline, "never expired");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    assert!(
        server
            .log_text()
            .contains("deleted quarantined messages past their time")
    );
}

#[test]
fn a_filter_that_never_answers_times_out_into_a_451() {
    // A peer that accepts connections and then says nothing (a hung daemon).
    let silent = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = silent.local_addr().expect("addr").to_string();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in silent.incoming().flatten() {
            held.push(stream);
        }
    });
    for (section, what) in [
        (
            format!(
                "{}timeout_ms = 1000\n",
                rspamd_config(&format!("http://{address}"))
            ),
            "Spam filter",
        ),
        (
            format!("{}timeout_ms = 1000\n", clamav_config(&address)),
            "Virus scanner",
        ),
    ] {
        let site = Site::with_config(Profile::Sqlite, &section);
        site.add_users("company.kr", &["alice"]);
        let server = site.serve();
        let started = std::time::Instant::now();
        let r = send_to_alice(&server, &sample("clean"));
        let took = started.elapsed();
        assert_reply(&r["data"], 451, "4.7.1");
        assert!(code(&r["data"]).1.contains(what), "{r}");
        assert!(took < std::time::Duration::from_secs(10), "took {took:?}");
        assert!(
            server.log_text().contains("timed out"),
            "{}",
            server.log_text()
        );
        assert_eq!(site.stored_messages(ALICE).len(), 0);
    }
}
