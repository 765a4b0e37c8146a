//! The store and the index: consistency checks, user removal, concurrent deliveries.

use baedal_tests::smtp::{self, assert_reply};
use baedal_tests::{Profile, Site, on_both_profiles, python};

on_both_profiles!(
    verify_finds_orphans_and_missing_objects_and_repairs,
    removing_a_user_removes_their_mail_only_when_asked,
    concurrent_deliveries_to_one_mailbox_get_distinct_ascending_uids,
);

/// Seconds since 1970, a day from now: past the orphan grace period.
fn tomorrow() -> String {
    (baedal_tests::now_secs() + 86_400).to_string()
}

fn send(site: &Site, server: &baedal_tests::Server, to: &str, subject: &str) {
    let msg = format!("Subject: {subject}\r\n\r\nbody\r\n");
    let r = smtp::send(
        server.addr("smtp"),
        "s@remote.test",
        &[to],
        msg.as_bytes(),
        &[],
    );
    assert_reply(&r["data"], 250, "2.0.0");
    let _ = site;
}

fn verify_finds_orphans_and_missing_objects_and_repairs(profile: Profile) {
    let site = Site::new(profile);
    site.add_users("example.org", &["alice"]);
    let server = site.serve();
    send(&site, &server, "alice@example.org", "one");
    send(&site, &server, "alice@example.org", "two");
    let clean = site
        .cli(&["storage", "verify", "--now", &tomorrow(), "--json"])
        .json();
    assert_eq!(
        (clean["objects"].as_i64(), clean["indexed"].as_i64()),
        (Some(2), Some(2)),
        "{clean}"
    );

    let cur = site.maildir_cur("alice@example.org");
    // A crash after the object was written and before the index commit leaves an orphan.
    std::fs::write(cur.join("1700000000.M1P1Q1.crashed,S=5"), b"lost\n").unwrap();
    // An object lost behind the index's back.
    let victim = std::fs::read_dir(&cur)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| !p.to_string_lossy().contains("crashed"))
        .unwrap();
    std::fs::remove_file(&victim).unwrap();

    let found = site.cli(&["storage", "verify", "--now", &tomorrow()]);
    found.fails(1, "the store and the index disagree");
    assert!(
        found
            .stdout
            .contains("orphan object  example.org/alice/Maildir/cur/1700000000.M1P1Q1.crashed,S=5"),
        "{}",
        found.stdout
    );
    assert!(
        found
            .stdout
            .contains("missing object example.org/alice/Maildir/cur/"),
        "{}",
        found.stdout
    );
    // Young objects are never orphans: a delivery may be writing one.
    let now = site.cli(&["storage", "verify", "--json"]);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&now.stdout).unwrap()["orphan_objects"],
        serde_json::json!([])
    );

    let repaired = site.cli(&["storage", "verify", "--repair", "--now", &tomorrow()]);
    assert!(repaired.stdout.contains("removed 1"), "{}", repaired.stdout);
    assert!(!cur.join("1700000000.M1P1Q1.crashed,S=5").exists());
    // The missing object is still reported: only an operator can restore it.
    repaired.fails(1, "disagree");
}

fn removing_a_user_removes_their_mail_only_when_asked(profile: Profile) {
    let site = Site::new(profile);
    site.add_users("example.org", &["alice", "bob"]);
    let server = site.serve();
    send(&site, &server, "alice@example.org", "for alice");
    send(&site, &server, "bob@example.org", "for bob");
    drop(server);
    site.cli(&["user", "remove", "alice@example.org"])
        .fails(1, "pass --delete-mail");
    assert!(
        site.cli(&["user", "remove", "alice@example.org", "--delete-mail"])
            .ok()
            .contains("and 1 message(s)")
    );
    assert!(
        site.stored_messages("alice@example.org").is_empty(),
        "alice's objects are gone"
    );
    assert_eq!(
        site.stored_messages("bob@example.org").len(),
        1,
        "bob's are not"
    );
    site.cli(&["storage", "verify", "--now", &tomorrow()]).ok();
    site.cli(&["domain", "remove", "example.org", "--force"])
        .fails(1, "pass --delete-mail");
    site.cli(&[
        "domain",
        "remove",
        "example.org",
        "--force",
        "--delete-mail",
    ])
    .ok();
    let left = site
        .cli(&["storage", "verify", "--now", &tomorrow(), "--json"])
        .json();
    assert_eq!(
        (left["objects"].as_i64(), left["indexed"].as_i64()),
        (Some(0), Some(0)),
        "{left}"
    );
}

fn concurrent_deliveries_to_one_mailbox_get_distinct_ascending_uids(profile: Profile) {
    let site = Site::new(profile);
    site.add_users("example.org", &["alice"]);
    let server = site.serve();
    let r = python::run(
        r#"
import json, os, smtplib, threading
port = int(os.environ["SMTP_PORT"])
errors = []
def worker(n):
    try:
        s = smtplib.SMTP("127.0.0.1", port, timeout=60)
        for i in range(15):
            s.sendmail("s@remote.test", ["alice@example.org"], b"Subject: t%d m%d\r\n\r\nx\r\n" % (n, i))
        s.quit()
    except Exception as e:
        errors.append(str(e))
threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
[t.start() for t in threads]; [t.join() for t in threads]
print(json.dumps({"errors": errors}))
"#,
        &[("SMTP_PORT", server.addr("smtp").port().to_string())],
    );
    assert_eq!(r["errors"], serde_json::json!([]));
    let boxes = site
        .cli(&["mailbox", "list", "alice@example.org", "--json"])
        .json();
    let inbox = boxes
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["name"] == "INBOX")
        .unwrap()
        .clone();
    assert_eq!(
        (inbox["messages"].as_i64(), inbox["uidnext"].as_i64()),
        (Some(120), Some(121)),
        "{inbox}"
    );
    let uids = python::run(
        r#"
import imaplib, json, os, ssl
ctx = ssl.create_default_context(cafile=os.environ["CA"])
m = imaplib.IMAP4_SSL("localhost", int(os.environ["IMAPS_PORT"]), ssl_context=ctx)
m.login("alice@example.org", "pw"); m.select("INBOX")
data = m.fetch("1:*", "(UID)")[1]
print(json.dumps([int(d.split(b"UID ")[1].rstrip(b")")) for d in data]))
"#,
        &[
            ("IMAPS_PORT", server.addr("imaps").port().to_string()),
            (
                "CA",
                site.data_dir().join("tls/cert.pem").display().to_string(),
            ),
        ],
    );
    let uids: Vec<i64> = uids
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_i64().unwrap())
        .collect();
    assert_eq!(
        uids,
        (1..=120).collect::<Vec<i64>>(),
        "UIDs never repeat, never go backwards"
    );
}

/// S3 down: nothing is acknowledged without a durable object; S3 back: mail flows again,
/// without a restart.
#[test]
fn an_unreachable_s3_answers_451_and_service_resumes_when_it_returns() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = format!(
        "[storage]\nbackend = \"s3\"\n\n[storage.s3]\nendpoint = \"http://127.0.0.1:{port}\"\nbucket = \"{}\"\naccess_key = \"{}\"\nsecret_key = \"{}\"\n",
        baedal_tests::s3::BUCKET,
        baedal_tests::s3::ACCESS_KEY,
        baedal_tests::s3::SECRET_KEY
    );
    let site = Site::with_config(Profile::Sqlite, &config);
    site.add_users("example.org", &["alice"]);
    let server = site.serve();
    let msg = b"Subject: while S3 is down\r\n\r\nbody\r\n";
    let r = smtp::send(
        server.addr("smtp"),
        "s@remote.test",
        &["alice@example.org"],
        msg,
        &[],
    );
    assert_reply(&r["data"], 451, "4.3.0");
    assert_eq!(
        site.mailbox_count("alice@example.org", "INBOX"),
        0,
        "nothing half-stored"
    );

    let root = site.dir.path().join("s3");
    std::fs::create_dir_all(root.join(baedal_tests::s3::BUCKET)).unwrap();
    baedal_tests::s3::start_on(&root, format!("127.0.0.1:{port}").parse().unwrap());
    let r = smtp::send(
        server.addr("smtp"),
        "s@remote.test",
        &["alice@example.org"],
        msg,
        &[],
    );
    assert_reply(&r["data"], 250, "2.0.0");
    assert_eq!(site.mailbox_count("alice@example.org", "INBOX"), 1);
    let objects: Vec<_> = std::fs::read_dir(root.join("mailboxes/example.org/alice/Maildir/cur"))
        .unwrap()
        .collect();
    assert_eq!(
        objects.len(),
        1,
        "the object is in the bucket under the user's Maildir key"
    );
}

/// S3 goes down under a running server: IMAP and POP3 still log in and list (the index is
/// in SQL), reading a body gets a temporary error and the session goes on; S3 back: the
/// same sessions read the message.
#[test]
fn imap_and_pop3_answer_temporary_errors_while_s3_is_down() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let config = format!(
        "[storage]\nbackend = \"s3\"\n\n[storage.s3]\nendpoint = \"http://{addr}\"\nbucket = \"{}\"\naccess_key = \"{}\"\nsecret_key = \"{}\"\n",
        baedal_tests::s3::BUCKET,
        baedal_tests::s3::ACCESS_KEY,
        baedal_tests::s3::SECRET_KEY
    );
    let site = Site::with_config(Profile::Sqlite, &config);
    let root = site.dir.path().join("s3");
    std::fs::create_dir_all(root.join(baedal_tests::s3::BUCKET)).unwrap();
    let s3 = baedal_tests::s3::start_stoppable(&root, addr);
    site.add_users("example.org", &["alice"]);
    let server = site.serve();
    let r = smtp::send(
        server.addr("smtp"),
        "s@remote.test",
        &["alice@example.org"],
        b"Subject: stored before the outage\r\n\r\nthe body\r\n",
        &[],
    );
    assert_reply(&r["data"], 250, "2.0.0");
    s3.stop();

    let script = r#"
import imaplib, json, os, poplib, ssl, sys
ctx = ssl.create_default_context(cafile=os.environ["CA"])
out = {}
m = imaplib.IMAP4_SSL("localhost", int(os.environ["IMAPS_PORT"]), ssl_context=ctx, timeout=60)
m.login("alice@example.org", "pw")
out["select"] = m.select("INBOX")[0]
try:
    typ, data = m.fetch("1", "(BODY.PEEK[])")
    out["fetch_down"] = [typ, [x.decode() if isinstance(x, bytes) else str(x) for x in data]]
except imaplib.IMAP4.error as e:
    out["fetch_down"] = ["NO", [str(e)]]
out["noop_after"] = m.noop()[0]
p = poplib.POP3_SSL("localhost", int(os.environ["POP3S_PORT"]), context=ctx, timeout=60)
p.user("alice@example.org"); p.pass_("pw")
out["stat"] = list(p.stat())
try:
    p.retr(1)
    out["retr_down"] = "+OK"
except poplib.error_proto as e:
    out["retr_down"] = e.args[0].decode()
out["pop_noop_after"] = p.noop().decode()
print(json.dumps(out)); sys.stdout.flush()
# The harness restarts S3 and writes a line to stdin.
sys.stdin.readline()
typ, data = m.fetch("1", "(BODY.PEEK[])")
out["fetch_up"] = data[0][1].decode()
out["retr_up"] = b"\r\n".join(p.retr(1)[1]).decode()
p.quit(); m.logout()
print(json.dumps(out))
"#;
    use std::io::{BufRead, Write};
    let mut child = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .env("CA", site.data_dir().join("tls/cert.pem"))
        .env("IMAPS_PORT", server.addr("imaps").port().to_string())
        .env("POP3S_PORT", server.addr("pop3s").port().to_string())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let Some(Ok(first)) = lines.next() else {
        panic!("the client failed; server log:\n{}", server.log_text());
    };
    let down: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert_eq!(down["select"], "OK", "{down}");
    assert_eq!(down["fetch_down"][0], "NO", "{down}");
    assert!(
        down["fetch_down"][1].to_string().contains("UNAVAILABLE"),
        "{down}"
    );
    assert_eq!(down["noop_after"], "OK", "the IMAP session goes on: {down}");
    assert_eq!(down["stat"][0], 1, "{down}");
    assert!(
        down["retr_down"]
            .as_str()
            .unwrap()
            .starts_with("-ERR [SYS/TEMP]"),
        "{down}"
    );
    assert!(
        down["pop_noop_after"].as_str().unwrap().starts_with("+OK"),
        "{down}"
    );

    let _s3 = baedal_tests::s3::start_on(&root, addr);
    child.stdin.as_mut().unwrap().write_all(b"go\n").unwrap();
    let up: serde_json::Value =
        serde_json::from_str(&lines.next().expect("second report").unwrap()).unwrap();
    assert!(
        up["fetch_up"].as_str().unwrap().contains("the body"),
        "{up}"
    );
    assert!(up["retr_up"].as_str().unwrap().contains("the body"), "{up}");
    assert!(child.wait().unwrap().success());
}

/// `[database] statement_timeout`: PostgreSQL cancels a statement that runs too long.
#[test]
fn a_postgres_statement_past_its_timeout_is_cancelled() {
    let url = baedal_tests::postgres::fresh_database();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let db =
            baedal_storage::Database::connect_with(&url, 1, std::time::Duration::from_millis(300))
                .await
                .unwrap();
        let started = std::time::Instant::now();
        let err = sqlx::query("SELECT pg_sleep(5)")
            .execute(db.pool())
            .await
            .expect_err("cancelled");
        assert!(err.to_string().contains("statement timeout"), "{err}");
        assert!(started.elapsed() < std::time::Duration::from_secs(3));
        // The connection stays usable.
        sqlx::query("SELECT 1").execute(db.pool()).await.unwrap();
    });
}

/// Two destinations of one message finish at the same moment, on PostgreSQL: whichever
/// records last must see the other's outcome and take the message out of the queue.
#[test]
fn parallel_outcomes_for_one_message_retire_it_on_postgres() {
    use baedal_storage::queue::{Attempt, Outgoing};
    use std::sync::Arc;
    let url = baedal_tests::postgres::fresh_database();
    let dir = tempfile::tempdir().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let db = baedal_storage::Database::connect(&url, 8).await.unwrap();
        db.migrate().await.unwrap();
        let blobs = Arc::new(baedal_storage::FsBlobStore::new(dir.path().join("blobs")));
        let queue = baedal_storage::Queue::new(db, blobs);
        const MESSAGES: usize = 30;
        let recipients = vec!["a@one.test".to_string(), "b@two.test".to_string()];
        for n in 0..MESSAGES {
            let spool = dir.path().join(format!("m{n}"));
            std::fs::write(&spool, b"Subject: x\r\n\r\nx\r\n").unwrap();
            let outgoing = Outgoing {
                id: &format!("m{n}"),
                spool_file: &spool,
                size: 16,
                sender: "s@example.org",
                recipients: &recipients,
                last_use: true,
            };
            queue.enqueue(&outgoing, 1000, 86_400).await.unwrap();
        }
        // `queue list`: every message with its own recipients, in the order given.
        let listed = queue.list().await.unwrap();
        assert_eq!(listed.len(), MESSAGES);
        for m in &listed {
            let to: Vec<&str> = m.recipients.iter().map(|r| r.recipient.as_str()).collect();
            assert_eq!(to, ["a@one.test", "b@two.test"], "{}", m.id);
        }
        let leased = queue.lease_due(1000, 1000, 600).await.unwrap();
        assert_eq!(leased.len(), 2 * MESSAGES);
        // Each recipient recorded on its own, all at once, as parallel deliveries do.
        let mut recording = tokio::task::JoinSet::new();
        for r in leased {
            let queue = queue.clone();
            recording.spawn(async move {
                let outcome = [(&r, &Attempt::Delivered)];
                queue.record(&outcome, 1001, true).await.unwrap()
            });
        }
        let mut retired = Vec::new();
        while let Some(r) = recording.join_next().await {
            retired.push(r.unwrap());
        }
        assert_eq!(
            retired.iter().filter(|r| **r).count(),
            MESSAGES,
            "every message retired exactly once"
        );
        assert!(queue.list().await.unwrap().is_empty());
    });
}
