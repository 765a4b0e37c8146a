//! What an administrator reads in `journalctl -u baedal`: `serve` logs to stdout, one info
//! event per mail transaction (accepted or refused) with the session id, and the level
//! comes from `[log] level`, from `RUST_LOG` over it, and changes on SIGHUP.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use baedal_tests::smtp::{self, assert_reply};
use baedal_tests::{Profile, Server, Site, baedal_bin};

/// The log lines of one SMTP session, found by the session id its span carries.
fn session_lines(log: &str, session: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains(&format!("session={session}")))
        .map(str::to_string)
        .collect()
}

/// The session id of the session that logged `needle`.
fn session_of(log: &str, needle: &str) -> String {
    let line = log
        .lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no {needle:?} in:\n{log}"));
    let start = line.find("session=").expect("a session id") + "session=".len();
    line[start..]
        .split([' ', '}'])
        .next()
        .expect("id")
        .to_string()
}

/// Waits until the session with `needle` has logged its end.
fn wait_for_session_end(server: &Server, needle: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let log = server.log_text();
        if log.contains(needle) {
            let lines = session_lines(&log, &session_of(&log, needle));
            if lines.iter().any(|l| l.contains("disconnected")) {
                return lines;
            }
        }
        assert!(Instant::now() < deadline, "{log}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn info_lines(lines: &[String]) -> Vec<&String> {
    lines.iter().filter(|l| l.contains(" INFO ")).collect()
}

#[test]
fn one_info_event_per_smtp_transaction() {
    let site = Site::with_config(Profile::Sqlite, "\n[smtp]\nmax_message_size = 2048\n");
    site.add_users("example.org", &["alice", "bob"]);
    let server = site.serve();

    let r = smtp::send(
        server.addr("smtp"),
        "carol@remote.test",
        &["alice@example.org", "bob@example.org"],
        b"Subject: first\r\n\r\none\r\n",
        &[],
    );
    assert_reply(&r["data"], 250, "2.0.0");
    let lines = wait_for_session_end(&server, "from=\"carol@remote.test\"");
    let info = info_lines(&lines);
    assert_eq!(
        info.len(),
        3,
        "connected, the message, disconnected: {info:#?}"
    );
    assert!(info[0].contains("connected"), "{info:#?}");
    let event = info[1];
    for field in [
        "message accepted",
        "from=\"carol@remote.test\"",
        "rcpts=[\"alice@example.org\", \"bob@example.org\"]",
        "mailboxes=2",
        "remote=0",
        "id=\"",
        "size=",
    ] {
        assert!(event.contains(field), "{field} missing: {event}");
    }
    assert!(info[2].contains("disconnected"), "{info:#?}");

    // A refused message is one event too, with the reply, and no second "refused" line.
    let big = format!("Subject: big\r\n\r\n{}\r\n", "x".repeat(4000));
    let r = smtp::send(
        server.addr("smtp"),
        "dave@remote.test",
        &["alice@example.org"],
        big.as_bytes(),
        &[],
    );
    assert_reply(&r["data"], 552, "5.3.4");
    let lines = wait_for_session_end(&server, "from=\"dave@remote.test\"");
    let info = info_lines(&lines);
    assert_eq!(info.len(), 3, "{info:#?}");
    for field in [
        "message refused",
        "code=552",
        "from=\"dave@remote.test\"",
        "rcpts=[\"alice@example.org\"]",
    ] {
        assert!(info[1].contains(field), "{field} missing: {}", info[1]);
    }
    // A client that leaves after RCPT: the transaction's one event says so.
    let replies = smtp::raw(
        server.addr("smtp"),
        b"EHLO client.test\r\nMAIL FROM:<erin@remote.test>\r\nRCPT TO:<alice@example.org>\r\nQUIT\r\n",
    );
    assert!(
        replies.last().is_some_and(|l| l.starts_with("221")),
        "{replies:?}"
    );
    let lines = wait_for_session_end(&server, "from=\"erin@remote.test\"");
    let info = info_lines(&lines);
    assert_eq!(info.len(), 3, "{info:#?}");
    assert!(
        info[1].contains("transaction abandoned") && info[1].contains("reason=Done"),
        "{}",
        info[1]
    );

    // No debug lines at the default level.
    assert!(!server.log_text().contains(" DEBUG "));
    assert_eq!(server.stop(), 0);
}

#[test]
fn the_level_comes_from_the_config_or_rust_log_and_changes_on_sighup() {
    let site = Site::with_config(Profile::Sqlite, "\n[log]\nlevel = \"debug\"\n");
    site.add_users("example.org", &["alice"]);
    let send = |server: &Server, from: &str| {
        let r = smtp::send(
            server.addr("smtp"),
            from,
            &["alice@example.org"],
            b"Subject: hi\r\n\r\nhi\r\n",
            &[],
        );
        assert_reply(&r["data"], 250, "2.0.0");
    };

    // `[log] level = "debug"`: each SMTP command is a debug event.
    let server = site.serve();
    send(&server, "one@remote.test");
    let lines = wait_for_session_end(&server, "from=\"one@remote.test\"");
    assert!(
        lines
            .iter()
            .any(|l| l.contains(" DEBUG ") && l.contains("stage=\"rcpt\"")),
        "{lines:#?}"
    );

    // SIGHUP with `level = "warn"`: from then on, not even the info events.
    let text = std::fs::read_to_string(&site.config).unwrap();
    std::fs::write(
        &site.config,
        text.replace("level = \"debug\"", "level = \"warn\""),
    )
    .unwrap();
    server.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.log_text().contains("log level changed") {
        assert!(Instant::now() < deadline, "{}", server.log_text());
        std::thread::sleep(Duration::from_millis(50));
    }
    send(&server, "two@remote.test");
    assert!(!server.log_text().contains("two@remote.test"));
    assert_eq!(server.stop(), 0);

    // RUST_LOG wins over the file (now "warn"): info events are back.
    let mut cmd = Command::new(baedal_bin());
    cmd.arg("--config")
        .arg(&site.config)
        .arg("serve")
        .env("RUST_LOG", "info");
    let server = Server::start(cmd, &site.data_dir());
    send(&server, "three@remote.test");
    let lines = wait_for_session_end(&server, "from=\"three@remote.test\"");
    assert_eq!(info_lines(&lines).len(), 3, "{lines:#?}");
    assert_eq!(server.stop(), 0);
}

#[test]
fn serve_logs_to_stdout() {
    let site = Site::new(Profile::Sqlite);
    let dir = tempfile::tempdir().unwrap();
    let (out, err) = (dir.path().join("out"), dir.path().join("err"));
    let mut child = Command::new(baedal_bin())
        .arg("--config")
        .arg(&site.config)
        .arg("serve")
        .env_remove("RUST_LOG")
        .stdout(Stdio::from(std::fs::File::create(&out).unwrap()))
        .stderr(Stdio::from(std::fs::File::create(&err).unwrap()))
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(&out)
        .unwrap_or_default()
        .contains("baedal ready")
    {
        assert!(Instant::now() < deadline, "no 'baedal ready' on stdout");
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(child.wait().unwrap().success());
    assert!(std::fs::read_to_string(&out).unwrap().contains("stopped"));
    assert_eq!(std::fs::read_to_string(&err).unwrap(), "");
}

/// A client that sends an IP address as SNI (many do) is normal: rustls's warning about it
/// stays out of an info log, while the connection itself is logged as usual.
#[test]
fn an_ip_address_as_sni_is_not_a_warning() {
    let site = Site::new(Profile::Sqlite);
    let server = site.serve();
    let imaps = server.addr("imaps");
    for _ in 0..3 {
        let out = Command::new("openssl")
            .args(["s_client", "-connect", &imaps.to_string(), "-servername"])
            .arg(imaps.ip().to_string())
            .stdin(Stdio::null())
            .output()
            .expect("openssl");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("BEGIN CERTIFICATE"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.log_text().matches("disconnected").count() < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let log = server.log_text();
    assert!(log.matches("disconnected").count() >= 3, "{log}");
    assert!(!log.contains("Illegal SNI"), "{log}");
}
