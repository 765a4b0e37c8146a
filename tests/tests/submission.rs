//! Submission (587 with STARTTLS, 465 with implicit TLS), AUTH, sender checks, DKIM signing
//! and the outbound queue, against real peers: dnsmasq as the DNS server (the only one
//! Baedal asks), a throwaway Postfix on 127.0.0.2 as the remote MX, dkimpy as the verifier.

use std::time::{Duration, Instant};

use baedal_tests::dns::{self, TestDns};
use baedal_tests::postfix::{self, Postfix};
use baedal_tests::smtp::{self, assert_reply};
use baedal_tests::{Profile, Site, on_both_profiles, python};

/// A site with users, a DKIM key, a DNS server that routes remote.test to 127.0.0.2:PORT,
/// and (when `remote_up`) the Postfix MX there.
struct Outbound {
    site: Site,
    dns: TestDns,
    sink_port: u16,
    dkim_txt: String,
}

fn outbound(profile: Profile, queue_extra: &str) -> Outbound {
    let dns_port = dns::free_port();
    let sink_port = postfix::free_port();
    let site = Site::with_config(
        profile,
        &format!(
            "\n[dns]\nnameservers = [\"127.0.0.1:{dns_port}\"]\n\n[smtp]\nauth_failure_delay_ms = 50\n\n\
             [queue]\nremote_port = {sink_port}\nretry_intervals = [1]\npoll_interval = 1\nconnect_timeout = 5\n{queue_extra}"
        ),
    );
    site.add_users("example.org", &["alice", "bob"]);
    site.cli(&["alias", "add", "sales@example.org", "alice@example.org"])
        .ok();
    let key = site
        .cli(&[
            "dkim",
            "generate",
            "example.org",
            "--selector",
            "s1",
            "--json",
        ])
        .json();
    let dkim_txt = key["dns_txt"].as_str().expect("dns_txt").to_string();
    assert!(dkim_txt.starts_with("v=DKIM1; k=rsa; p="), "{dkim_txt}");
    let dns = TestDns::start(
        dns_port,
        &["remote.test", "other.test", "example.org"],
        &[
            "mx-host=remote.test,mx.remote.test,10".to_string(),
            "host-record=mx.remote.test,127.0.0.2".to_string(),
            // other.test has no MX: its A record is used (RFC 5321 §5.1).
            "host-record=other.test,127.0.0.2".to_string(),
            dns::txt_record("s1._domainkey.example.org", &dkim_txt),
        ],
    );
    Outbound {
        site,
        dns,
        sink_port,
        dkim_txt,
    }
}

fn ca(site: &Site) -> String {
    site.data_dir()
        .join("tls/cert.pem")
        .to_string_lossy()
        .into_owned()
}

fn wait_for<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits until `baedal queue list` is empty.
fn wait_for_empty_queue(site: &Site) {
    wait_for("an empty queue", Duration::from_secs(10), || {
        let list = site.cli(&["queue", "list", "--json"]).json();
        list.as_array().expect("array").is_empty().then_some(())
    });
}

/// `true` when dkimpy verifies `message` with keys from the test DNS server on `port`.
fn dkim_verifies(message: &[u8], port: u16) -> bool {
    let file = tempfile::NamedTempFile::new().expect("temp");
    std::fs::write(file.path(), message).expect("write");
    let script = r#"
import json, os, dkim, dns.message, dns.query
port = int(os.environ["DNS_PORT"])
def txt(name, timeout=5):
    q = dns.message.make_query(name.decode() if isinstance(name, bytes) else name, "TXT")
    r = dns.query.udp_with_fallback(q, "127.0.0.1", port=port, timeout=timeout)[0]
    for rr in r.answer:
        for rd in rr:
            return b"".join(rd.strings)
    return None
msg = open(os.environ["MESSAGE"], "rb").read()
print(json.dumps({"ok": bool(dkim.verify(msg, dnsfunc=txt))}))
"#;
    let out = python::run(
        script,
        &[
            ("DNS_PORT", port.to_string()),
            ("MESSAGE", file.path().to_string_lossy().into_owned()),
        ],
    );
    out["ok"].as_bool().expect("ok")
}

fn header_value<'a>(message: &'a str, name: &str) -> Option<&'a str> {
    message
        .split("\r\n\r\n")
        .next()?
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")))
}

fn submit(
    site: &Site,
    addr: std::net::SocketAddr,
    from: &str,
    to: &[&str],
    msg: &[u8],
    user: &str,
) -> serde_json::Value {
    let ca = ca(site);
    smtp::send(
        addr,
        from,
        to,
        msg,
        &["--starttls", &ca, "--login", user, "pw"],
    )
}

fn submitted_mail_leaves_signed_and_local_copies_are_delivered(profile: Profile) {
    let o = outbound(profile, "");
    let sink = Postfix::sink(o.sink_port);
    let server = o.site.serve();
    let addr = server.addr("submission");
    // No Date and no Message-ID: Baedal adds both (RFC 6409 §8).
    let message = b"From: Alice <alice@example.org>\r\nTo: bob@remote.test, bob@example.org\r\n\
        Subject: quarterly report\r\n\r\nThe numbers are in.\r\n.leading dot stays\r\n";
    let r = submit(
        &o.site,
        addr,
        "alice@example.org",
        &["bob@remote.test", "carl@other.test", "bob@example.org"],
        message,
        "alice@example.org",
    );
    assert_reply(&r["auth"], 235, "2.7.0");
    for rcpt in r["rcpt"].as_array().expect("rcpt") {
        assert_reply(rcpt, 250, "2.1.5");
    }
    assert_reply(&r["data"], 250, "2.0.0");

    // The local recipient has it in INBOX at once, through the same path as inbound mail.
    assert_eq!(o.site.mailbox_count("bob@example.org", "INBOX"), 1);
    // The remote ones: one transaction to mx.remote.test, one to other.test's A record.
    let delivered = wait_for(
        "two messages at the remote MX",
        Duration::from_secs(30),
        || {
            let m = sink.sink_messages();
            (m.len() >= 2).then_some(m)
        },
    );
    assert_eq!(delivered.len(), 2);
    for raw in &delivered {
        let text = String::from_utf8_lossy(raw);
        assert!(text.contains("Subject: quarterly report"), "{text}");
        assert!(
            text.contains("\r\n..leading dot stays\r\n") || text.contains("\n.leading dot stays"),
            "{text}"
        );
        assert!(header_value(&text, "Date").is_some(), "no Date: {text}");
        let id = header_value(&text, "Message-ID").expect("Message-ID added");
        assert!(id.ends_with("@mx.test.example>"), "{id}");
        let signature = header_value(&text, "DKIM-Signature").expect("signed");
        assert!(signature.contains("d=example.org"), "{signature}");
        assert!(signature.contains("s=s1"), "{signature}");
        assert!(signature.contains("c=relaxed/relaxed"), "{signature}");
        // Only the final delivery (Postfix's) adds Return-Path.
        assert_eq!(text.matches("Return-Path:").count(), 1, "{text}");
        // Postfix's delivery adds its own trace fields on top; dkimpy ignores them.
        assert!(dkim_verifies(raw, o.dns.port), "DKIM fails on:\n{text}");
        let tampered = text.replace("The numbers are in.", "The numbers are out.");
        assert!(
            !dkim_verifies(tampered.as_bytes(), o.dns.port),
            "tampered body verified"
        );
    }
    assert!(
        sink.log().contains("TLS connection established from"),
        "no STARTTLS: {}",
        sink.log()
    );
    // Nothing left in the queue.
    wait_for_empty_queue(&o.site);
    assert!(o.dkim_txt.len() > 300, "an RSA-2048 public key");
}

fn submission_refuses_strangers_and_spoofed_senders(profile: Profile) {
    let o = outbound(profile, "");
    let server = o.site.serve();
    let addr = server.addr("submission");
    let ca = ca(&o.site);
    let msg = b"From: alice@example.org\r\nSubject: hi\r\n\r\nhello\r\n";

    // Before TLS, AUTH is not offered and MAIL needs it.
    let plain = smtp::raw(
        addr,
        b"EHLO c.test\r\nAUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHB3\r\nMAIL FROM:<alice@example.org>\r\nQUIT\r\n",
    );
    assert!(
        !plain
            .iter()
            .any(|l| l.starts_with("250-AUTH") || l.starts_with("250 AUTH")),
        "{plain:?}"
    );
    assert!(plain.iter().any(|l| l.ends_with("STARTTLS")), "{plain:?}");
    assert!(
        plain.iter().any(|l| l.starts_with("538 5.7.11")),
        "{plain:?}"
    );
    assert!(
        plain.iter().any(|l| l.starts_with("530 5.7.0")),
        "{plain:?}"
    );

    // With TLS but no AUTH: 530.
    let r = smtp::send(
        addr,
        "alice@example.org",
        &["bob@remote.test"],
        msg,
        &["--starttls", &ca],
    );
    assert_reply(&r["mail"], 530, "5.7.0");
    // A wrong password: 535, and one greppable log line.
    let r = smtp::send(
        addr,
        "alice@example.org",
        &["bob@remote.test"],
        msg,
        &["--starttls", &ca, "--login", "alice@example.org", "wrong"],
    );
    assert_eq!(r["auth"][0], 535, "{r}");
    let log = server.log_text();
    assert!(
        log.contains(
            "auth failed user=alice@example.org ip=127.0.0.1 proto=smtp reason=wrong-password"
        ),
        "{log}"
    );
    // Someone else's envelope sender: 553 5.7.1.
    let r = submit(
        &o.site,
        addr,
        "bob@example.org",
        &["x@remote.test"],
        msg,
        "alice@example.org",
    );
    assert_reply(&r["mail"], 553, "5.7.1");
    // An alias that delivers to alice is hers.
    let aliased = b"From: Sales <sales@example.org>\r\nSubject: offer\r\n\r\nhello\r\n";
    let r = submit(
        &o.site,
        addr,
        "sales@example.org",
        &["bob@example.org"],
        aliased,
        "alice@example.org",
    );
    assert_reply(&r["data"], 250, "2.0.0");
    // Her own envelope, someone else's From: header: refused at the end of DATA.
    let spoofed = b"From: Bob <bob@example.org>\r\nSubject: hi\r\n\r\nhello\r\n";
    let r = submit(
        &o.site,
        addr,
        "alice@example.org",
        &["bob@example.org"],
        spoofed,
        "alice@example.org",
    );
    assert_reply(&r["data"], 553, "5.7.1");
    assert_eq!(o.site.mailbox_count("bob@example.org", "INBOX"), 1);
    // AUTH LOGIN works as well as PLAIN.
    let r = smtp::send(
        addr,
        "alice@example.org",
        &["bob@example.org"],
        msg,
        &[
            "--starttls",
            &ca,
            "--login",
            "alice@example.org",
            "pw",
            "--login-method",
            "LOGIN",
        ],
    );
    assert_reply(&r["auth"], 235, "2.7.0");
    assert_reply(&r["data"], 250, "2.0.0");
    // The MX never relays for anyone, authenticated or not.
    let r = smtp::send(
        server.addr("smtp"),
        "alice@example.org",
        &["bob@remote.test"],
        msg,
        &[],
    );
    assert_reply(&r["rcpt"][0], 554, "5.7.1");

    // 465: TLS from the first byte (RFC 8314).
    let r = smtp::send(
        server.addr("submissions"),
        "alice@example.org",
        &["bob@example.org"],
        msg,
        &["--ssl", &ca, "--login", "alice@example.org", "pw"],
    );
    assert_reply(&r["auth"], 235, "2.7.0");
    assert_reply(&r["data"], 250, "2.0.0");
    assert_eq!(o.site.mailbox_count("bob@example.org", "INBOX"), 3);
}

fn swaks_submits_with_starttls_and_auth(profile: Profile) {
    let o = outbound(profile, "");
    let server = o.site.serve();
    let addr = server.addr("submission");
    let out = std::process::Command::new("swaks")
        .args([
            "--server",
            &addr.ip().to_string(),
            "--port",
            &addr.port().to_string(),
        ])
        .args(["--from", "alice@example.org", "--to", "bob@example.org"])
        .args(["--h-From", "alice@example.org", "-tls"])
        .args([
            "--auth",
            "PLAIN",
            "--auth-user",
            "alice@example.org",
            "--auth-password",
            "pw",
        ])
        .output()
        .expect("swaks");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("235 2.7.0"), "{text}");
    assert!(text.contains("250 2.0.0 OK: queued as"), "{text}");
    let stored = o.site.stored_messages("bob@example.org");
    let text = String::from_utf8_lossy(stored.last().expect("stored"));
    assert!(text.contains("with ESMTPSA id"), "{text}");
    assert!(text.contains("DKIM-Signature: "), "{text}");
}

fn a_remote_that_is_down_gets_the_message_on_retry(profile: Profile) {
    let o = outbound(profile, "");
    let server = o.site.serve();
    let r = submit(
        &o.site,
        server.addr("submission"),
        "alice@example.org",
        &["bob@remote.test"],
        b"From: alice@example.org\r\nSubject: patience\r\n\r\nretry me\r\n",
        "alice@example.org",
    );
    assert_reply(&r["data"], 250, "2.0.0");
    // Nothing listens on 127.0.0.2:PORT yet: the attempt fails and is recorded.
    let shown = wait_for("a failed attempt", Duration::from_secs(30), || {
        let list = o.site.cli(&["queue", "list", "--json"]).json();
        let message = list.as_array()?.first()?.clone();
        let rcpt = message["recipients"].as_array()?.first()?.clone();
        (rcpt["attempts"].as_i64()? >= 1).then_some((message, rcpt))
    });
    let (message, rcpt) = shown;
    assert_eq!(rcpt["status"], "queued", "{rcpt}");
    let error = rcpt["last_error"].as_str().expect("last_error");
    assert!(error.contains("127.0.0.2"), "{error}");
    let id = message["id"].as_str().expect("id").to_string();
    let show = o.site.cli(&["queue", "show", &id]).ok().to_string();
    assert!(
        show.contains("bob@remote.test") && show.contains("queued"),
        "{show}"
    );

    // The remote comes up: the next retry delivers, once.
    let sink = Postfix::sink(o.sink_port);
    let delivered = wait_for("delivery on retry", Duration::from_secs(30), || {
        let m = sink.sink_messages();
        (!m.is_empty()).then_some(m)
    });
    assert!(String::from_utf8_lossy(&delivered[0]).contains("retry me"));
    wait_for_empty_queue(&o.site);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(sink.sink_messages().len(), 1, "delivered more than once");
}

fn a_remote_550_bounces_to_the_senders_inbox(profile: Profile) {
    let o = outbound(profile, "");
    let sink = Postfix::sink(o.sink_port);
    let server = o.site.serve();
    let r = submit(
        &o.site,
        server.addr("submission"),
        "alice@example.org",
        &["reject@remote.test", "bob@remote.test"],
        b"From: alice@example.org\r\nSubject: doomed\r\nMessage-ID: <doomed@example.org>\r\n\r\nhello\r\n",
        "alice@example.org",
    );
    assert_reply(&r["data"], 250, "2.0.0");
    let dsn = wait_for("a bounce in alice's INBOX", Duration::from_secs(30), || {
        o.site
            .stored_messages("alice@example.org")
            .into_iter()
            .map(|m| String::from_utf8_lossy(&m).into_owned())
            .find(|m| m.contains("multipart/report"))
    });
    assert!(dsn.contains("Return-Path: <>"), "{dsn}");
    assert!(
        dsn.contains("From: Mail Delivery System <MAILER-DAEMON@mx.test.example>"),
        "{dsn}"
    );
    assert!(dsn.contains("report-type=delivery-status"), "{dsn}");
    assert!(
        dsn.contains(
            "Final-Recipient: rfc822; reject@remote.test\r\nAction: failed\r\nStatus: 5.1.1"
        ),
        "{dsn}"
    );
    assert!(dsn.contains("Diagnostic-Code: smtp; 550 5.1.1"), "{dsn}");
    assert!(dsn.contains("Content-Type: text/rfc822-headers"), "{dsn}");
    assert!(
        dsn.contains("Message-ID: <doomed@example.org>"),
        "original headers attached: {dsn}"
    );
    assert!(
        !dsn.contains("Final-Recipient: rfc822; bob@remote.test"),
        "{dsn}"
    );
    // The other recipient got it.
    wait_for("bob's copy", Duration::from_secs(30), || {
        (!sink.sink_messages().is_empty()).then_some(())
    });
}

fn the_queue_survives_a_crash_and_the_cli_manages_it(profile: Profile) {
    let o = outbound(profile, "");
    let server = o.site.serve();
    let r = submit(
        &o.site,
        server.addr("submission"),
        "alice@example.org",
        &["bob@remote.test"],
        b"From: alice@example.org\r\nSubject: survivor\r\n\r\nstill here\r\n",
        "alice@example.org",
    );
    assert_reply(&r["data"], 250, "2.0.0");
    // Acknowledged: now the server dies without a chance to flush anything.
    server.kill();
    let list = o.site.cli(&["queue", "list", "--json"]).json();
    let id = list[0]["id"]
        .as_str()
        .expect("queued after kill -9")
        .to_string();
    o.site.cli(&["queue", "hold", &id]).ok();
    let shown = o.site.cli(&["queue", "show", &id, "--json"]).json();
    assert_eq!(shown["recipients"][0]["status"], "held", "{shown}");

    // Held: the restarted server leaves it alone even with the remote up.
    let sink = Postfix::sink(o.sink_port);
    let server = o.site.serve();
    std::thread::sleep(Duration::from_secs(3));
    assert!(sink.sink_messages().is_empty(), "a held message went out");
    o.site.cli(&["queue", "release", &id]).ok();
    o.site.cli(&["queue", "retry", &id]).ok();
    let delivered = wait_for("delivery after release", Duration::from_secs(30), || {
        let m = sink.sink_messages();
        (!m.is_empty()).then_some(m)
    });
    assert!(String::from_utf8_lossy(&delivered[0]).contains("still here"));
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(sink.sink_messages().len(), 1, "exactly once");
    drop(server);

    // delete: gone without a bounce.
    let server = o.site.serve();
    drop(sink);
    let r = submit(
        &o.site,
        server.addr("submission"),
        "alice@example.org",
        &["bob@remote.test"],
        b"From: alice@example.org\r\nSubject: never mind\r\n\r\nx\r\n",
        "alice@example.org",
    );
    assert_reply(&r["data"], 250, "2.0.0");
    let list = o.site.cli(&["queue", "list", "--json"]).json();
    let id = list[0]["id"].as_str().expect("queued").to_string();
    o.site.cli(&["queue", "delete", &id]).ok();
    o.site
        .cli(&["queue", "show", &id])
        .fails(1, "no queued message");
    let verify = o.site.cli(&["storage", "verify", "--json"]).json();
    assert_eq!(
        verify["missing_objects"].as_array().map(Vec::len),
        Some(0),
        "{verify}"
    );
}

fn delays_are_reported_once_and_expired_mail_bounces(profile: Profile) {
    // The remote never comes up; the sender hears of the delay after 1 s, once, and gets
    // the message back when its 4 s lifetime is over.
    let o = outbound(profile, "delay_warning = 1\nlifetime = 4\n");
    let server = o.site.serve();
    let r = submit(
        &o.site,
        server.addr("submission"),
        "alice@example.org",
        &["bob@remote.test"],
        b"From: alice@example.org\r\nSubject: into the void\r\n\r\nhello\r\n",
        "alice@example.org",
    );
    assert_reply(&r["data"], 250, "2.0.0");
    let reports = |needle: &str| -> Vec<String> {
        o.site
            .stored_messages("alice@example.org")
            .into_iter()
            .map(|m| String::from_utf8_lossy(&m).into_owned())
            .filter(|m| m.contains(needle))
            .collect()
    };
    let delayed = wait_for("a delay notice", Duration::from_secs(30), || {
        reports("Action: delayed").into_iter().next()
    });
    assert!(
        delayed.contains("Subject: Delayed Mail (still being retried)"),
        "{delayed}"
    );
    assert!(
        delayed.contains("Final-Recipient: rfc822; bob@remote.test"),
        "{delayed}"
    );
    assert!(delayed.contains("Status: 4.0.0"), "{delayed}");
    let failed = wait_for("the bounce at expiry", Duration::from_secs(30), || {
        reports("Action: failed").into_iter().next()
    });
    assert!(failed.contains("gave up after"), "{failed}");
    assert!(
        failed.contains("Subject: Undelivered Mail Returned to Sender"),
        "{failed}"
    );
    assert_eq!(reports("Action: delayed").len(), 1, "one delay notice only");
    wait_for_empty_queue(&o.site);
}

on_both_profiles!(
    delays_are_reported_once_and_expired_mail_bounces,
    submitted_mail_leaves_signed_and_local_copies_are_delivered,
    submission_refuses_strangers_and_spoofed_senders,
    a_remote_that_is_down_gets_the_message_on_retry,
    a_remote_550_bounces_to_the_senders_inbox,
    the_queue_survives_a_crash_and_the_cli_manages_it,
);

#[test]
fn swaks_submission() {
    swaks_submits_with_starttls_and_auth(Profile::Sqlite);
}

#[test]
fn dkim_generate_prints_the_record_and_manages_keys() {
    let site = Site::new(Profile::Sqlite);
    site.cli(&["domain", "add", "example.org"]).ok();
    let out = site
        .cli(&[
            "dkim",
            "generate",
            "example.org",
            "--selector",
            "ed",
            "--algorithm",
            "ed25519",
        ])
        .ok()
        .to_string();
    assert!(out.contains("ed._domainkey.example.org"), "{out}");
    assert!(out.contains("v=DKIM1; k=ed25519; p="), "{out}");
    site.cli(&["dkim", "generate", "example.org", "--selector", "ed"])
        .fails(1, "already has a key");
    site.cli(&["dkim", "generate", "nowhere.org"])
        .fails(1, "unknown domain");
    site.cli(&["dkim", "generate", "example.org", "--algorithm", "dsa"])
        .fails(2, "unknown algorithm");
    let list = site.cli(&["dkim", "list", "--json"]).json();
    assert_eq!(list[0]["selector"], "ed", "{list}");
    assert!(
        list[0].get("private_key").is_none(),
        "the private key is never printed"
    );
    site.cli(&["dkim", "remove", "example.org", "--selector", "ed"])
        .ok();
    let list = site.cli(&["dkim", "list", "--json"]).json();
    assert_eq!(list.as_array().map(Vec::len), Some(0));
}

#[test]
fn a_smarthost_carries_all_outbound_mail() {
    // Nothing listens where the MX points; the smarthost (a Postfix on another port) does.
    let relay_port = postfix::free_port();
    let site_extra =
        format!("\n[relay]\nhost = \"127.0.0.2\"\nport = {relay_port}\ntls = \"required\"\n");
    let o = outbound(Profile::Sqlite, &site_extra);
    let relay = Postfix::sink(relay_port);
    let server = o.site.serve();
    let r = submit(
        &o.site,
        server.addr("submission"),
        "alice@example.org",
        &["bob@remote.test"],
        b"From: alice@example.org\r\nSubject: via the relay\r\n\r\nhello\r\n",
        "alice@example.org",
    );
    assert_reply(&r["data"], 250, "2.0.0");
    let got = wait_for("the relayed message", Duration::from_secs(30), || {
        relay.sink_messages().into_iter().next()
    });
    assert!(String::from_utf8_lossy(&got).contains("via the relay"));
    assert!(
        relay.log().contains("TLS connection established from"),
        "{}",
        relay.log()
    );
}

#[test]
fn an_alias_that_forwards_off_site_delivers_locally_and_queues_the_rest() {
    let o = outbound(Profile::Sqlite, "");
    o.site
        .cli(&[
            "alias",
            "add",
            "team@example.org",
            "bob@example.org,dave@remote.test",
        ])
        .ok();
    let sink = Postfix::sink(o.sink_port);
    let server = o.site.serve();
    // Inbound on the MX, no AUTH: the local copy is stored, the remote one queued.
    let r = smtp::send(
        server.addr("smtp"),
        "someone@elsewhere.test",
        &["team@example.org"],
        b"From: someone@elsewhere.test\r\nSubject: for the team\r\n\r\nhello\r\n",
        &[],
    );
    assert_reply(&r["rcpt"][0], 250, "2.1.5");
    assert_reply(&r["data"], 250, "2.0.0");
    assert_eq!(o.site.mailbox_count("bob@example.org", "INBOX"), 1);
    let forwarded = wait_for("the forwarded copy", Duration::from_secs(30), || {
        sink.sink_messages().into_iter().next()
    });
    let text = String::from_utf8_lossy(&forwarded);
    assert!(text.contains("Subject: for the team"), "{text}");
    // The envelope sender is kept, so a bounce goes back to the original sender.
    assert!(
        text.contains("Return-Path: <someone@elsewhere.test>"),
        "{text}"
    );
}
