//! SIGHUP reloads the configuration file: new sessions get the new settings (greeting
//! name, limits, connection limits, the queue's relay), sessions already open keep theirs
//! and go on, and settings that shape the stores or sockets are named as waiting for a
//! restart. (The certificate part is in `lifecycle.rs`.)

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use baedal_tests::postfix::{self, Postfix};
use baedal_tests::smtp::{self, assert_reply};
use baedal_tests::{Profile, Server, Site};

/// A hand-driven SMTP session.
struct Smtp {
    writer: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Smtp {
    fn connect(addr: SocketAddr) -> Self {
        let writer = TcpStream::connect(addr).unwrap();
        writer
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let reader = BufReader::new(writer.try_clone().unwrap());
        Self { writer, reader }
    }

    /// The next whole reply (continuation lines joined with '\n').
    fn reply(&mut self) -> String {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).unwrap();
            let line = line.trim_end().to_string();
            let last = line.len() < 4 || line.as_bytes()[3] != b'-';
            lines.push(line);
            if last {
                return lines.join("\n");
            }
        }
    }

    fn command(&mut self, line: &str) -> String {
        self.writer
            .write_all(format!("{line}\r\n").as_bytes())
            .unwrap();
        self.reply()
    }
}

fn wait_for_log(server: &Server, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.log_text().contains(needle) {
        assert!(
            Instant::now() < deadline,
            "no {needle:?} in the log:\n{}",
            server.log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sighup_applies_the_reloaded_settings_to_new_sessions_and_keeps_open_ones() {
    // No DNS server answers on port 9: before the reload, the queue cannot route remote
    // mail; after it, it goes through the relay the reload added.
    let site = Site::with_config(
        Profile::Sqlite,
        "\n[smtp]\nmax_recipients = 1\nmax_connections_per_ip = 2\n\n\
         [dns]\nnameservers = [\"127.0.0.1:9\"]\n\n[queue]\npoll_interval = 1\n",
    );
    site.add_users("example.org", &["alice", "bob", "carol"]);
    let server = site.serve();
    let addr = server.addr("smtp");

    let mut before = Smtp::connect(addr);
    assert!(before.reply().starts_with("220 mx.test.example "));
    assert!(before.command("EHLO client.test").starts_with("250"));
    let mut second = Smtp::connect(addr);
    assert!(second.reply().starts_with("220 "));
    let mut third = Smtp::connect(addr);
    assert!(
        third.reply().starts_with("421 4.7.0"),
        "a third connection from one IP is over the limit of 2"
    );
    drop(second);

    let relay_port = postfix::free_port();
    let relay = Postfix::sink(relay_port);
    let old = std::fs::read_to_string(&site.config).unwrap();
    let new = old
        .replace(
            "hostname = \"mx.test.example\"",
            "hostname = \"mx2.test.example\"",
        )
        .replace("max_recipients = 1", "max_recipients = 3")
        .replace("max_connections_per_ip = 2", "max_connections_per_ip = 3")
        .replace("smtp = \"127.0.0.1:0\"", "smtp = \"127.0.0.1:2\"")
        + &format!("\n[relay]\nhost = \"127.0.0.2\"\nport = {relay_port}\n");
    assert_ne!(old, new);
    std::fs::write(&site.config, new).unwrap();
    server.signal("HUP");
    wait_for_log(&server, "configuration reloaded");
    let log = server.log_text();
    assert!(
        log.contains("changed settings take effect at the next restart settings=listen"),
        "{log}"
    );
    assert!(log.contains("changed=hostname, relay, smtp"), "{log}");

    // A new session: the new name and limits, on the socket already bound.
    let mut after = Smtp::connect(addr);
    assert!(after.reply().starts_with("220 mx2.test.example "));
    assert!(after.command("EHLO client.test").starts_with("250"));
    assert!(
        after
            .command("MAIL FROM:<x@remote.test>")
            .starts_with("250")
    );
    for rcpt in ["alice", "bob", "carol"] {
        let reply = after.command(&format!("RCPT TO:<{rcpt}@example.org>"));
        assert!(reply.starts_with("250"), "{rcpt}: {reply}");
    }
    // Three connections from one IP now fit (before, after and this one).
    let mut another = Smtp::connect(addr);
    assert!(another.reply().starts_with("220 mx2.test.example "));
    assert!(after.command("QUIT").starts_with("221"));

    // The session opened before the reload keeps its settings, and its message arrives.
    assert!(
        before
            .command("MAIL FROM:<y@remote.test>")
            .starts_with("250")
    );
    assert!(
        before
            .command("RCPT TO:<alice@example.org>")
            .starts_with("250")
    );
    assert!(
        before
            .command("RCPT TO:<bob@example.org>")
            .starts_with("452 4.5.3"),
        "the old limit of 1 recipient"
    );
    assert!(before.command("DATA").starts_with("354"));
    let reply = before.command("Subject: opened before the reload\r\n\r\nstill here\r\n.");
    assert!(reply.starts_with("250 2.0.0"), "{reply}");
    assert!(before.command("QUIT").starts_with("221"));
    assert_eq!(site.mailbox_count("alice@example.org", "INBOX"), 1);

    // The queue runs with the new settings: remote mail leaves through the new relay.
    let ca = site.data_dir().join("tls/cert.pem").display().to_string();
    let r = smtp::send(
        server.addr("submissions"),
        "alice@example.org",
        &["dave@remote.test"],
        b"From: alice@example.org\r\nSubject: after the reload\r\n\r\nhello\r\n",
        &["--ssl", &ca, "--login", "alice@example.org", "pw"],
    );
    assert_reply(&r["data"], 250, "2.0.0");
    let deadline = Instant::now() + Duration::from_secs(30);
    while relay.sink_messages().is_empty() {
        assert!(
            Instant::now() < deadline,
            "nothing through the relay:\n{}\n{}",
            server.log_text(),
            relay.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let sent = String::from_utf8_lossy(&relay.sink_messages()[0]).into_owned();
    assert!(sent.contains("after the reload"), "{sent}");
    assert_eq!(server.stop(), 0);
}

#[test]
fn sighup_with_services_that_cannot_be_built_changes_nothing() {
    let site = Site::with_config(Profile::Sqlite, "\n[smtp]\nmax_recipients = 1\n");
    site.add_users("example.org", &["alice", "bob"]);
    let server = site.serve();
    let good = std::fs::read_to_string(&site.config).unwrap();
    // The file loads and validates, but its LDAP CA file cannot be read: building the
    // new services fails, and the running ones stay.
    std::fs::write(
        &site.config,
        good.replace("max_recipients = 1", "max_recipients = 5")
            + "\n[ldap]\nurl = \"ldaps://127.0.0.1:1\"\nbind_dn = \"cn=x\"\nbind_password = \"y\"\n\
               base_dn = \"dc=x\"\nca_file = \"/nonexistent/ca.pem\"\n",
    )
    .unwrap();
    server.signal("HUP");
    wait_for_log(&server, "reload failed: nothing changed");
    let log = server.log_text();
    assert!(log.contains("/nonexistent/ca.pem"), "{log}");
    assert!(!log.contains("configuration reloaded"), "{log}");
    let mut session = Smtp::connect(server.addr("smtp"));
    assert!(session.reply().starts_with("220 mx.test.example "));
    assert!(session.command("HELO c.test").starts_with("250"));
    assert!(
        session
            .command("MAIL FROM:<x@remote.test>")
            .starts_with("250")
    );
    assert!(
        session
            .command("RCPT TO:<alice@example.org>")
            .starts_with("250")
    );
    assert!(
        session
            .command("RCPT TO:<bob@example.org>")
            .starts_with("452"),
        "still the old limit"
    );
    assert!(session.command("QUIT").starts_with("221"));
    assert_eq!(server.stop(), 0);
}

/// Holds a POP3 maildrop, has the server reload, then tries the same maildrop again.
const POP3_ACROSS_RELOAD: &str = r#"
import json, os, poplib, signal, ssl, time
ctx = ssl.create_default_context(cafile=os.environ["CA"])
def login():
    p = poplib.POP3_SSL("localhost", int(os.environ["POP3S_PORT"]), context=ctx, timeout=30)
    p.user("alice@example.org")
    return p, p.pass_("pw").decode()
held, first = login()
os.kill(int(os.environ["PID"]), signal.SIGHUP)
deadline = time.time() + 10
while "configuration reloaded" not in open(os.environ["LOG"]).read():
    assert time.time() < deadline, "no reload"
    time.sleep(0.05)
try:
    second = login()[1]
except poplib.error_proto as e:
    second = e.args[0].decode()
held.quit()
third = login()[1]
print(json.dumps({"first": first, "second": second, "third": third}))
"#;

#[test]
fn a_pop3_maildrop_held_before_a_reload_stays_locked_after_it() {
    let site = Site::new(Profile::Sqlite);
    site.add_users("example.org", &["alice"]);
    let server = site.serve();
    let out = baedal_tests::python::run(
        POP3_ACROSS_RELOAD,
        &[
            (
                "CA",
                site.data_dir().join("tls/cert.pem").display().to_string(),
            ),
            ("POP3S_PORT", server.addr("pop3s").port().to_string()),
            ("PID", server.pid().to_string()),
            ("LOG", server.log.display().to_string()),
        ],
    );
    assert!(out["first"].as_str().unwrap().starts_with("+OK"), "{out}");
    // RFC 1939 §8 / RFC 2449 [IN-USE]: the new services share the old sessions' locks.
    assert!(
        out["second"].as_str().unwrap().starts_with("-ERR [IN-USE]"),
        "{out}"
    );
    assert!(out["third"].as_str().unwrap().starts_with("+OK"), "{out}");
    assert_eq!(server.stop(), 0);
}
