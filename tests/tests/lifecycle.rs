//! The server under a service manager: systemd's READY/RELOADING/STOPPING notifications,
//! SIGHUP reloading the certificate (seen with `openssl s_client`) without dropping
//! sessions, SIGTERM saying goodbye to idle sessions in each protocol's words, and SIGTERM
//! under SMTP load losing no acknowledged message.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use baedal_tests::{Profile, Site, on_both_profiles};

on_both_profiles!(sigterm_under_smtp_load_loses_no_acknowledged_message);

/// Starts a client script and waits for its first line, `first` (it is set up).
fn spawn_client(
    mut cmd: Command,
    first: &str,
) -> (std::process::Child, BufReader<std::process::ChildStdout>) {
    let mut child = cmd.stdout(Stdio::piped()).spawn().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), first);
    (child, out)
}

/// The notifications systemd would get, in order, until `until` arrives.
fn notifications_until(socket: &UnixDatagram, until: &str) -> Vec<String> {
    socket
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = socket
            .recv(&mut buf)
            .unwrap_or_else(|e| panic!("no {until} after {seen:?}: {e}"));
        let text = String::from_utf8_lossy(&buf[..n]).trim_end().to_string();
        let done = text.lines().any(|l| l == until);
        seen.push(text);
        if done {
            return seen;
        }
    }
}

#[test]
fn systemd_is_told_ready_after_the_listeners_are_bound_then_reloading_and_stopping() {
    let site = Site::new(Profile::Sqlite);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify");
    let socket = UnixDatagram::bind(&path).unwrap();
    let mut cmd = Command::new(baedal_tests::baedal_bin());
    cmd.arg("--config")
        .arg(&site.config)
        .arg("serve")
        .env("NOTIFY_SOCKET", &path);
    let server = baedal_tests::Server::start(cmd, &site.data_dir());

    let ready = notifications_until(&socket, "READY=1");
    assert_eq!(ready, ["READY=1"]);
    // Every listener answers once READY is sent.
    for (name, addrs) in &server.listeners {
        for addr in addrs {
            std::net::TcpStream::connect_timeout(addr, Duration::from_secs(2))
                .unwrap_or_else(|e| panic!("{name} {addr} not accepting after READY: {e}"));
        }
    }

    server.signal("HUP");
    let reload = notifications_until(&socket, "READY=1");
    assert!(
        reload[0].starts_with("RELOADING=1\nMONOTONIC_USEC="),
        "{reload:?}"
    );
    assert_eq!(reload.len(), 2, "{reload:?}");

    server.signal("TERM");
    assert_eq!(notifications_until(&socket, "STOPPING=1"), ["STOPPING=1"]);
    assert_eq!(server.wait(Duration::from_secs(30)), Some(0));
}

#[test]
fn sigterm_says_goodbye_to_idle_sessions_in_every_protocol() {
    let site = Site::with_config(Profile::Sqlite, "\n[shutdown]\ntimeout = 30\n");
    site.add_users("example.org", &["alice"]);
    let server = site.serve();
    let sent = baedal_tests::smtp::send(
        server.addr("smtp"),
        "bob@remote.test",
        &["alice@example.org"],
        b"Subject: kept\r\n\r\nPOP3 marks me deleted, then the server stops.\r\n",
        &[],
    );
    baedal_tests::smtp::assert_reply(&sent["data"], 250, "2.0.0");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("clients/held_sessions.py");
    let smtp = server.addr("smtp");
    let mut held = Command::new("python3");
    held.arg(script).args([
        smtp.ip().to_string(),
        smtp.port().to_string(),
        server.addr("imaps").port().to_string(),
        server.addr("pop3s").port().to_string(),
        site.data_dir().join("tls/cert.pem").display().to_string(),
        "alice@example.org".into(),
        "pw".into(),
    ]);
    let (mut held, mut out) = spawn_client(held, "ready");
    let mut line = String::new();

    let stopping = Instant::now();
    server.signal("TERM");
    let code = server.wait(Duration::from_secs(40));
    let took = stopping.elapsed();
    assert_eq!(code, Some(0));
    line.clear();
    out.read_line(&mut line).unwrap();
    assert!(held.wait().unwrap().success());
    let sessions: serde_json::Value = serde_json::from_str(&line).unwrap();
    let expected = [
        ("smtp", "421 4.3.2 Server shutting down, try again later"),
        ("imap_append", "* BYE Server shutting down"),
        ("imap", "* BYE Server shutting down"),
        ("imap_idle", "* BYE Server shutting down"),
        (
            "pop3",
            "-ERR [SYS/TEMP] Server shutting down, try again later",
        ),
    ];
    for (name, last) in expected {
        assert_eq!(sessions[name]["last"], last, "{name}: {sessions}");
        assert_eq!(sessions[name]["closed"], true, "{name}: {sessions}");
    }
    // The APPEND under way at the stop finished, then got its BYE.
    let append = &sessions["imap_append"];
    assert_eq!(append["closed"], true, "{sessions}");
    let lines: Vec<&str> = append["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    // Its session has INBOX selected: the new message is announced before the OK.
    assert_eq!(lines.len(), 4, "{lines:?}");
    // (\Recent goes to whichever session sees it first: this one or the one in IDLE.)
    assert_eq!(lines[0], "* 2 EXISTS", "{lines:?}");
    assert!(
        ["* 0 RECENT", "* 1 RECENT"].contains(&lines[1]),
        "{lines:?}"
    );
    assert!(lines[2].starts_with("d OK [APPENDUID "), "{lines:?}");
    assert_eq!(lines[3], "* BYE Server shutting down");
    // Nobody waited for the 30 s timeout: every session was idle or finished at once.
    assert!(took < Duration::from_secs(10), "stop took {took:?}");
    // RFC 1939 §6: only QUIT enters UPDATE; the message POP3 marked is still there,
    // beside the appended one.
    assert_eq!(site.mailbox_count("alice@example.org", "INBOX"), 2);
}

#[test]
fn sigterm_closes_sessions_still_open_after_the_timeout() {
    let site = Site::with_config(Profile::Sqlite, "\n[shutdown]\ntimeout = 2\n");
    site.add_users("example.org", &["alice"]);
    let server = site.serve();
    // A client that starts a mail transaction and goes silent: the stop lets it finish
    // its message, up to the timeout.
    let mut sender = std::net::TcpStream::connect(server.addr("smtp")).unwrap();
    sender
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut replies = BufReader::new(sender.try_clone().unwrap());
    sender
        .write_all(b"HELO c.test\r\nMAIL FROM:<a@remote.test>\r\nRCPT TO:<alice@example.org>\r\n")
        .unwrap();
    let mut reply = String::new();
    for expected in ["220 ", "250 ", "250 ", "250 "] {
        reply.clear();
        replies.read_line(&mut reply).unwrap();
        assert!(reply.starts_with(expected), "{reply}");
    }
    let stopping = Instant::now();
    server.signal("TERM");
    let code = server.wait(Duration::from_secs(30));
    let took = stopping.elapsed();
    assert_eq!(code, Some(0));
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(10),
        "stopped after {took:?}, the timeout is 2 s"
    );
}

/// Makes a CA and a localhost certificate in `dir` (tests/peers/mkcert.sh).
fn mkcert(dir: &Path) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("peers/mkcert.sh");
    let status = Command::new("bash").arg(script).arg(dir).status().unwrap();
    assert!(status.success(), "mkcert.sh");
}

/// The SHA-256 fingerprint of a PEM certificate file.
fn fingerprint_of_file(pem: &Path) -> String {
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-fingerprint", "-sha256", "-in"])
        .arg(pem)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The fingerprint of the certificate a server presents, as `openssl s_client` sees it;
/// `starttls` is the protocol for `-starttls` (`"smtp"`, `"imap"`), or "" for implicit TLS.
fn served_fingerprint(addr: std::net::SocketAddr, starttls: &str) -> String {
    let mut cmd = Command::new("openssl");
    cmd.args([
        "s_client",
        "-connect",
        &addr.to_string(),
        "-servername",
        "localhost",
    ]);
    if !starttls.is_empty() {
        cmd.args(["-starttls", starttls]);
    }
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let pem_start = text
        .find("-----BEGIN CERTIFICATE-----")
        .unwrap_or_else(|| panic!("no certificate from {addr}: {text}"));
    let pem_end = text.find("-----END CERTIFICATE-----").unwrap() + 25;
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), &text[pem_start..pem_end]).unwrap();
    fingerprint_of_file(file.path())
}

/// Logs in over IMAPS and holds the session open until told to go on, then NOOPs.
const HELD_SESSION: &str = r#"
import imaplib, json, os, ssl, sys
ctx = ssl.create_default_context(cafile=os.environ["CA"])
m = imaplib.IMAP4_SSL("localhost", int(os.environ["IMAPS_PORT"]), ssl_context=ctx, timeout=30)
m.login("alice@example.org", "pw")
m.select("INBOX")
print("ready", flush=True)
sys.stdin.readline()
typ, _ = m.noop()
typ2, data = m.select("INBOX")
m.logout()
print(json.dumps({"noop": typ, "select": typ2, "exists": data[0].decode()}), flush=True)
"#;

#[test]
fn sighup_serves_a_renewed_certificate_without_dropping_sessions() {
    let certs = tempfile::tempdir().unwrap();
    let (old, new) = (certs.path().join("old"), certs.path().join("new"));
    mkcert(&old);
    mkcert(&new);
    // Where a certbot deploy hook would put the live certificate.
    let live = certs.path().join("live");
    std::fs::create_dir_all(&live).unwrap();
    let install = |from: &Path| {
        std::fs::copy(from.join("server-chain.pem"), live.join("fullchain.pem")).unwrap();
        std::fs::copy(from.join("server.key"), live.join("privkey.pem")).unwrap();
    };
    install(&old);
    let site = Site::with_config(
        Profile::Sqlite,
        &format!(
            "\n[tls]\ncert = \"{0}/fullchain.pem\"\nkey = \"{0}/privkey.pem\"\n",
            live.display()
        ),
    );
    site.add_users("example.org", &["alice"]);
    let server = site.serve();
    let old_fp = fingerprint_of_file(&old.join("server.pem"));
    let new_fp = fingerprint_of_file(&new.join("server.pem"));
    assert_ne!(old_fp, new_fp);
    assert_eq!(served_fingerprint(server.addr("imaps"), ""), old_fp);

    let mut held = Command::new("python3");
    held.arg("-c")
        .arg(HELD_SESSION)
        .env("CA", old.join("ca.pem"))
        .env("IMAPS_PORT", server.addr("imaps").port().to_string())
        .stdin(Stdio::piped());
    let (mut held, mut out) = spawn_client(held, "ready");
    let mut line = String::new();

    install(&new);
    assert_eq!(
        served_fingerprint(server.addr("imaps"), ""),
        old_fp,
        "nothing changes before the reload"
    );
    server.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.log_text().contains("TLS certificate reloaded") {
        assert!(Instant::now() < deadline, "{}", server.log_text());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(served_fingerprint(server.addr("imaps"), ""), new_fp);
    assert_eq!(served_fingerprint(server.addr("smtp"), "smtp"), new_fp);
    assert_eq!(served_fingerprint(server.addr("submissions"), ""), new_fp);
    assert_eq!(served_fingerprint(server.addr("pop3s"), ""), new_fp);

    // The session opened before the reload goes on.
    held.stdin.take().unwrap().write_all(b"go\n").unwrap();
    line.clear();
    out.read_line(&mut line).unwrap();
    assert!(held.wait().unwrap().success());
    let result: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(result["noop"], "OK", "{result}");
    assert_eq!(result["select"], "OK", "{result}");

    // A configuration that does not load changes nothing; the server stays up.
    let good = std::fs::read_to_string(&site.config).unwrap();
    std::fs::write(
        &site.config,
        format!("{good}\n[smtp]\nmax_recipients = \"many\"\n"),
    )
    .unwrap();
    install(&old);
    server.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server.log_text().contains("reload failed") {
        assert!(Instant::now() < deadline, "{}", server.log_text());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        server.log_text().contains("max_recipients"),
        "{}",
        server.log_text()
    );
    assert_eq!(served_fingerprint(server.addr("imaps"), ""), new_fp);
    assert_eq!(server.stop(), 0);
}

/// SMTP senders keep sending while SIGTERM arrives: the server stops listening at once,
/// lets the open sessions finish, exits 0, and every message that got `250` is stored.
fn sigterm_under_smtp_load_loses_no_acknowledged_message(profile: Profile) {
    const THREADS: usize = 8;
    let site = Site::with_config(profile, "\n[shutdown]\ntimeout = 20\n");
    site.add_users("example.org", &["alice"]);
    let server = site.serve();
    let smtp = server.addr("smtp");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("clients/smtp_load.py");
    let mut load = Command::new("python3");
    load.arg(script).args([
        &smtp.ip().to_string(),
        &smtp.port().to_string(),
        "alice@example.org",
        &THREADS.to_string(),
        "5",
        "60",
    ]);
    let (mut load, mut out) = spawn_client(load, "started");
    let mut line = String::new();
    std::thread::sleep(Duration::from_millis(1500));

    let stopping = Instant::now();
    server.signal("TERM");
    let code = server.wait(Duration::from_secs(40));
    let took = stopping.elapsed();
    assert_eq!(code, Some(0), "exit after SIGTERM");
    line.clear();
    out.read_line(&mut line).unwrap();
    assert!(load.wait().unwrap().success());
    let result: serde_json::Value = serde_json::from_str(&line).unwrap();
    let acked: Vec<&str> = result["acked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        acked.len() >= 10,
        "too little load to mean anything: {result}"
    );

    let stored: Vec<String> = site
        .stored_messages("alice@example.org")
        .iter()
        .map(|m| String::from_utf8_lossy(m).into_owned())
        .collect();
    let lost: Vec<&&str> = acked
        .iter()
        .filter(|id| !stored.iter().any(|m| m.contains(&format!("<{id}>"))))
        .collect();
    assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");
    // The index agrees with the objects.
    let indexed = site.mailbox_count("alice@example.org", "INBOX") as usize;
    assert!(
        indexed >= acked.len(),
        "{indexed} indexed, {} acked",
        acked.len()
    );
    eprintln!(
        "{profile:?}: {} acknowledged, {} stored, {indexed} indexed, {} unacknowledged; stopped in {took:?}; errors: {}",
        acked.len(),
        stored.len(),
        result["unacked"],
        result["errors"]
    );
    // Sessions finished their messages: the stop did not wait for the timeout.
    assert!(took < Duration::from_secs(20), "stop took {took:?}");
}
