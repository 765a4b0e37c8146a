//! SMTP sessions in memory (tokio duplex), against a real SQLite index and Maildir store.

use std::sync::Arc;
use std::time::Duration;

use baedal_storage::{
    AuthType, Database, Directory, DomainName, EmailAddress, FsBlobStore, MailStore, NewDomain,
    NewUser, Spool,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{ConnectionInfo, Session, SmtpLimits, SmtpService};
use crate::shutdown::ShutdownSignal;

struct Fixture {
    dir: tempfile::TempDir,
    service: Arc<SmtpService>,
}

async fn fixture(limits: SmtpLimits) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::connect(&format!("sqlite://{}/t.db", dir.path().display()), 2)
        .await
        .unwrap();
    db.migrate().await.unwrap();
    let directory = Directory::new(db.clone());
    directory
        .add_domain(NewDomain {
            name: DomainName::parse("example.org").unwrap(),
            auth_type: AuthType::Local,
            ldap_base_dn: None,
            transport: None,
            company_id: None,
        })
        .await
        .unwrap();
    directory
        .add_user(NewUser {
            address: EmailAddress::parse("alice@example.org").unwrap(),
            password_hash: None,
            quota: None,
            display_name: None,
            department: None,
        })
        .await
        .unwrap();
    let store = MailStore::new(db, Arc::new(FsBlobStore::new(dir.path().join("mail"))));
    let service = Arc::new(SmtpService {
        hostname: "mx.test".into(),
        limits,
        directory,
        store,
        spool: Spool::new(dir.path().join("spool"), "mx.test").unwrap(),
        tls: None,
        vrfy: true,
        submission: None,
        outbound: None,
        checks: None,
        filters: None,
        quarantine: None,
        quota_notices: None,
    });
    Fixture { dir, service }
}

/// A plain connection from a client at 192.0.2.7.
fn connection(session_id: &str, shutdown: ShutdownSignal) -> ConnectionInfo {
    ConnectionInfo {
        session_id: session_id.into(),
        peer: "192.0.2.7:40000".parse().unwrap(),
        local: "192.0.2.1:25".parse().unwrap(),
        tls: false,
        shutdown,
    }
}

/// Sends `input` in one write and returns everything the server said until it closed.
async fn converse(f: &Fixture, input: &[u8]) -> String {
    let (mut client, server) = tokio::io::duplex(1 << 20);
    let info = connection("test", ShutdownSignal::never());
    let session = tokio::spawn(Session::new(Arc::clone(&f.service), info, Box::new(server)).run());
    client.write_all(input).await.unwrap();
    let mut out = String::new();
    tokio::time::timeout(Duration::from_secs(10), client.read_to_string(&mut out))
        .await
        .expect("the session ends")
        .unwrap();
    session.await.unwrap();
    out
}

/// The reply lines, without EHLO's continuation lines.
fn codes(transcript: &str) -> Vec<&str> {
    transcript
        .lines()
        .filter(|l| !l.starts_with("250-"))
        .map(|l| &l[..l.len().min(9)])
        .collect()
}

#[tokio::test]
async fn a_session_delivers_and_rset_clears_the_transaction() {
    let f = fixture(SmtpLimits::default()).await;
    let out = converse(
        &f,
        b"EHLO c\r\nMAIL FROM:<s@x.test>\r\nRCPT TO:<alice@example.org>\r\nRSET\r\nDATA\r\n\
MAIL FROM:<s@x.test>\r\nMAIL FROM:<t@x.test>\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n..a\r\n.\r\nQUIT\r\n",
    )
    .await;
    assert_eq!(
        codes(&out),
        [
            "220 mx.te",
            "250 CHUNK",
            "250 2.1.0",
            "250 2.1.5",
            "250 2.0.0",
            "503 5.5.1",
            "250 2.1.0",
            "503 5.5.1",
            "250 2.1.5",
            "354 End d",
            "250 2.0.0",
            "221 2.0.0"
        ],
        "{out}"
    );
    assert!(
        !out.contains("STARTTLS"),
        "no TLS acceptor, no STARTTLS: {out}"
    );
    let cur = f.dir.path().join("mail/example.org/alice/Maildir/cur");
    let file = std::fs::read_dir(cur)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let stored = std::fs::read(file).unwrap();
    assert!(stored.ends_with(b"\r\n.a\r\n"), "dot unstuffed");
    assert!(String::from_utf8_lossy(&stored).contains("Received: from c ([192.0.2.7])"));
}

#[tokio::test]
async fn commands_need_helo_and_starttls_needs_a_certificate() {
    let f = fixture(SmtpLimits::default()).await;
    let out = converse(&f, b"MAIL FROM:<s@x.test>\r\nSTARTTLS\r\nHELO c\r\nVRFY <alice@example.org>\r\nVRFY nobody@example.org\r\nQUIT\r\n").await;
    assert_eq!(
        codes(&out),
        [
            "220 mx.te",
            "503 5.5.1",
            "454 4.7.0",
            "250 mx.te",
            "250 2.1.5",
            "550 5.1.1",
            "221 2.0.0"
        ],
        "{out}"
    );
}

#[tokio::test]
async fn a_refused_bdat_chunk_is_read_and_never_run_as_commands() {
    let f = fixture(SmtpLimits::default()).await;
    let out = converse(
        &f,
        b"EHLO c\r\nBDAT 12 LAST\r\nRSET\r\nQUIT\r\nNOOP\r\nQUIT\r\n",
    )
    .await;
    assert_eq!(
        codes(&out),
        [
            "220 mx.te",
            "250 CHUNK",
            "503 5.5.1",
            "250 2.0.0",
            "221 2.0.0"
        ],
        "{out}"
    );
}

#[tokio::test]
async fn an_idle_client_is_timed_out() {
    let limits = SmtpLimits {
        command_timeout: Duration::from_millis(200),
        ..SmtpLimits::default()
    };
    let f = fixture(limits).await;
    let (mut client, server) = tokio::io::duplex(4096);
    let info = connection("idle", ShutdownSignal::never());
    tokio::spawn(Session::new(Arc::clone(&f.service), info, Box::new(server)).run());
    let mut out = String::new();
    client.read_to_string(&mut out).await.unwrap();
    assert!(
        out.ends_with("421 4.4.2 Timeout, closing connection\r\n"),
        "{out}"
    );
}

/// Reads until `needle` has arrived (or the session closes).
async fn read_until(client: &mut tokio::io::DuplexStream, out: &mut String, needle: &str) {
    let mut buf = [0u8; 4096];
    while !out.contains(needle) {
        let n = tokio::time::timeout(Duration::from_secs(5), client.read(&mut buf))
            .await
            .expect("the server answers")
            .unwrap();
        if n == 0 {
            break;
        }
        out.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
}

#[tokio::test]
async fn a_stop_closes_an_idle_session_with_421_after_an_open_transaction_ends() {
    let f = fixture(SmtpLimits::default()).await;
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    let (mut client, server) = tokio::io::duplex(1 << 16);
    let info = connection("stop", ShutdownSignal::new(stop_rx));
    let session = tokio::spawn(Session::new(Arc::clone(&f.service), info, Box::new(server)).run());
    let mut out = String::new();
    client
        .write_all(b"EHLO c.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.org>\r\n")
        .await
        .unwrap();
    read_until(&mut client, &mut out, "250 2.1.5").await;
    // The stop comes mid-transaction: the client may still finish its message.
    stop.send(true).unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    client.write_all(b"DATA\r\n").await.unwrap();
    read_until(&mut client, &mut out, "354").await;
    client
        .write_all(b"Subject: late\r\n\r\nstill taken\r\n.\r\n")
        .await
        .unwrap();
    // Then, with no transaction open, the session says 421 and closes by itself.
    tokio::time::timeout(Duration::from_secs(5), client.read_to_string(&mut out))
        .await
        .expect("the session ends without the client")
        .unwrap();
    session.await.unwrap();
    let last: Vec<&str> = codes(&out).iter().rev().take(2).map(|c| &c[..3]).collect();
    assert_eq!(
        last,
        ["421", "250"],
        "the message is taken, then 421: {out}"
    );
    assert!(
        out.ends_with("421 4.3.2 Server shutting down, try again later\r\n"),
        "{out}"
    );
}
