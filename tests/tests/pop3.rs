//! POP3 with independent clients: Python poplib (STLS and POP3S), curl pop3s, fetchmail.

use std::process::Command;

use baedal_tests::smtp::{self, assert_reply};
use baedal_tests::{Profile, Server, Site, on_both_profiles, python};
use serde_json::{Value, json};

on_both_profiles!(
    poplib_reads_deletes_at_quit_and_uidls_stay_stable,
    retrieved_mail_expires_after_the_users_retention,
    login_needs_tls_a_right_password_and_a_free_maildrop,
    a_dropped_connection_deletes_nothing_and_bad_commands_keep_the_session,
    curl_reads_over_pop3s,
    fetchmail_downloads_in_keep_and_nokeep_modes,
);

/// A site with alice (password "pw") holding `count` messages, and its running server.
fn site_with_mail(profile: Profile, count: usize) -> (Site, Server) {
    let site = Site::with_config(profile, "[pop3]\nauth_failure_delay_ms = 300\n");
    site.add_users("example.org", &["alice"]);
    let server = site.serve();
    for i in 1..=count {
        let body = format!("Subject: message {i}\r\n\r\n.leading dot\r\nbody {i}\r\n");
        let r = smtp::send(
            server.addr("smtp"),
            "s@remote.test",
            &["alice@example.org"],
            body.as_bytes(),
            &[],
        );
        assert_reply(&r["data"], 250, "2.0.0");
    }
    (site, server)
}

fn env(site: &Site, server: &Server) -> Vec<(&'static str, String)> {
    vec![
        ("POP3_PORT", server.addr("pop3").port().to_string()),
        ("POP3S_PORT", server.addr("pop3s").port().to_string()),
        (
            "CA",
            site.data_dir().join("tls/cert.pem").display().to_string(),
        ),
    ]
}

/// Python prelude: connect over STLS (`stls()`) or POP3S (`ssl()`), log in.
const PRELUDE: &str = r#"
import json, os, poplib, socket, ssl
ctx = ssl.create_default_context(cafile=os.environ["CA"])
def stls(user="alice@example.org", pw="pw"):
    p = poplib.POP3("localhost", int(os.environ["POP3_PORT"]), timeout=30)
    p.stls(ctx)
    if user:
        p.user(user); p.pass_(pw)
    return p
def ssl_():
    p = poplib.POP3_SSL("localhost", int(os.environ["POP3S_PORT"]), context=ctx, timeout=30)
    p.user("alice@example.org"); p.pass_("pw")
    return p
def err(f):
    try:
        return f().decode() if isinstance(f(), bytes) else str(f())
    except poplib.error_proto as e:
        return e.args[0].decode()
def s(b): return b.decode() if isinstance(b, bytes) else b
"#;

fn pop(site: &Site, server: &Server, body: &str) -> Value {
    python::run(&format!("{PRELUDE}\n{body}"), &env(site, server))
}

fn poplib_reads_deletes_at_quit_and_uidls_stay_stable(profile: Profile) {
    let (site, server) = site_with_mail(profile, 3);
    let first = pop(
        &site,
        &server,
        r#"
p = stls()
stat = p.stat()
uidl = [s(x) for x in p.uidl()[1]]
lst = [s(x) for x in p.list()[1]]
retr = [s(x) for x in p.retr(1)[1]]
top = [s(x) for x in p.top(2, 1)[1]]
dele = s(p.dele(3))
again = err(lambda: p.retr(3))
bad = err(lambda: p.retr(9))
print(json.dumps({"stat": stat, "uidl": uidl, "list": lst, "retr": retr, "top": top, "dele": dele,
                  "again": again, "bad": bad, "quit": s(p.quit())}))
"#,
    );
    assert_eq!(first["stat"][0], 3);
    let sizes: Vec<i64> = first["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            l.as_str()
                .unwrap()
                .split(' ')
                .nth(1)
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert_eq!(
        first["stat"][1],
        sizes.iter().sum::<i64>(),
        "STAT counts exact octets"
    );
    let stored = site.stored_messages("alice@example.org");
    assert_eq!(
        sizes[0],
        stored[0].len() as i64,
        "LIST gives the stored size"
    );
    let retr: Vec<&str> = first["retr"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert_eq!(
        retr.join("\r\n") + "\r\n",
        String::from_utf8(stored[0].clone()).unwrap(),
        "RETR is the stored message (poplib undoes the stuffing)"
    );
    let top = first["top"].as_array().unwrap();
    assert_eq!(
        top.last().unwrap(),
        ".leading dot",
        "TOP 2 1: headers, blank line, one body line"
    );
    assert_eq!(first["dele"], "+OK Message 3 deleted");
    assert_eq!(first["again"], "-ERR Message is deleted");
    assert_eq!(first["bad"], "-ERR No such message");
    assert_eq!(first["quit"], "+OK Bye (1 messages deleted)");
    assert_eq!(site.mailbox_count("alice@example.org", "INBOX"), 2);

    // A second session over POP3S sees the same UIDLs for the same messages.
    let second = pop(
        &site,
        &server,
        r#"
p = ssl_()
print(json.dumps({"uidl": [s(x) for x in p.uidl()[1]], "quit": s(p.quit())}))
"#,
    );
    let uidls = |v: &Value| -> Vec<String> {
        v["uidl"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap().split(' ').nth(1).unwrap().to_string())
            .collect()
    };
    assert_eq!(uidls(&second), uidls(&first)[..2]);
    // A new message, and the expunge of the first: the others keep their UIDLs.
    smtp::send(
        server.addr("smtp"),
        "s@remote.test",
        &["alice@example.org"],
        b"Subject: four\r\n\r\n4\r\n",
        &[],
    );
    let third = pop(
        &site,
        &server,
        r#"
p = stls()
p.dele(1)
print(json.dumps({"uidl": [s(x) for x in p.uidl()[1]], "quit": s(p.quit())}))
"#,
    );
    assert_eq!(uidls(&third)[0], uidls(&first)[1]);
    assert_eq!(uidls(&third).len(), 2);
    let fourth = pop(
        &site,
        &server,
        r#"
p = stls()
print(json.dumps({"uidl": [s(x) for x in p.uidl()[1]]}))
p.quit()
"#,
    );
    assert_eq!(
        uidls(&fourth),
        uidls(&third),
        "after the expunge, the same UIDLs for the same messages"
    );
}

fn retrieved_mail_expires_after_the_users_retention(profile: Profile) {
    let (site, server) = site_with_mail(profile, 3);
    // Retrieve message 1 (RETR) and 2 (TOP of the whole message); leave 3 unread.
    pop(
        &site,
        &server,
        r#"
p = stls()
p.retr(1)
p.top(2, 1000)
p.top(3, 0)
p.quit()
print("{}")
"#,
    );
    let now: i64 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let expire = |days_later: i64| -> i64 {
        let at = (now + days_later * 86_400 + 60).to_string();
        site.cli(&["pop3", "expire", "--now", &at, "--json"]).json()["expired"]
            .as_i64()
            .unwrap()
    };
    assert_eq!(expire(6), 0, "the site keeps retrieved mail 7 days");
    assert_eq!(site.mailbox_count("alice@example.org", "INBOX"), 3);
    assert_eq!(expire(7), 2, "after 7 days the two retrieved messages go");
    assert_eq!(site.mailbox_count("alice@example.org", "INBOX"), 1);
    assert_eq!(
        expire(365),
        0,
        "mail never retrieved over POP3 never expires"
    );

    // Per user: 0 keeps until the client deletes; 2 days expires sooner.
    site.cli(&["user", "set", "alice@example.org", "--pop3-retention", "0"])
        .ok();
    pop(
        &site,
        &server,
        "p = stls()\np.retr(1)\np.quit()\nprint('{}')",
    );
    assert_eq!(expire(3650), 0);
    site.cli(&["user", "set", "alice@example.org", "--pop3-retention", "2"])
        .ok();
    let capa = pop(
        &site,
        &server,
        r#"
before = poplib.POP3("localhost", int(os.environ["POP3_PORT"]), timeout=30).capa()
p = stls()
after = p.capa()
p.quit()
print(json.dumps({"before": before["EXPIRE"], "after": after["EXPIRE"]}))
"#,
    );
    assert_eq!(capa, json!({"before": ["7", "USER"], "after": ["2"]}));
    assert_eq!(expire(2), 1);
    assert_eq!(site.mailbox_count("alice@example.org", "INBOX"), 0);
    assert_eq!(
        site.cli(&["user", "show", "alice@example.org", "--json"])
            .json()["used_quota"],
        0,
        "expunged mail frees quota"
    );
}

fn login_needs_tls_a_right_password_and_a_free_maildrop(profile: Profile) {
    let (site, server) = site_with_mail(profile, 2);
    let r = pop(
        &site,
        &server,
        r#"
import time
plain = poplib.POP3("localhost", int(os.environ["POP3_PORT"]), timeout=30)
capa = plain.capa()
before_tls = err(lambda: plain.user("alice@example.org"))
auth_before_tls = err(lambda: plain._shortcmd("AUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHB3"))
plain.quit()
p = stls(user=None)
t = time.time()
wrong = err(lambda: (p.user("alice@example.org"), p.pass_("wrong"))[1])
delay = time.time() - t
unknown_user = err(lambda: (p.user("nobody@example.org"), p.pass_("pw"))[1])
ok = s(p._shortcmd("AUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHB3"))
other = stls(user=None)
in_use = err(lambda: (other.user("alice@example.org"), other.pass_("pw"))[1])
other.quit()
p.quit()
after = stls()
login = s(after.noop())
after.quit()
print(json.dumps({"capa": sorted(capa), "before_tls": before_tls, "auth_before_tls": auth_before_tls,
    "wrong": wrong, "delay": delay, "unknown_user": unknown_user, "ok": ok, "in_use": in_use, "login": login}))
"#,
    );
    assert!(r["capa"].as_array().unwrap().contains(&json!("STLS")));
    assert!(
        !r["capa"].as_array().unwrap().contains(&json!("USER")),
        "no USER offered before TLS"
    );
    assert!(r["before_tls"].as_str().unwrap().starts_with("-ERR [AUTH]"));
    assert!(
        r["auth_before_tls"]
            .as_str()
            .unwrap()
            .starts_with("-ERR [AUTH]")
    );
    assert_eq!(r["wrong"], "-ERR [AUTH] Authentication failed");
    assert!(
        r["delay"].as_f64().unwrap() >= 0.3,
        "a failed login is answered after the delay"
    );
    assert_eq!(r["unknown_user"], "-ERR [AUTH] Authentication failed");
    assert_eq!(r["ok"], "+OK Logged in");
    assert_eq!(
        r["in_use"],
        "-ERR [IN-USE] Maildrop is locked by another POP3 session"
    );
    assert_eq!(r["login"], "+OK", "the lock is released at QUIT");
    assert!(
        server.log_text().contains(
            "auth failed user=nobody@example.org ip=127.0.0.1 proto=pop3 reason=unknown-user"
        ),
        "a greppable line per failure"
    );
}

fn a_dropped_connection_deletes_nothing_and_bad_commands_keep_the_session(profile: Profile) {
    let (site, server) = site_with_mail(profile, 2);
    let r = pop(
        &site,
        &server,
        r#"
p = stls()
p.dele(1)
p.dele(2)
p.sock.shutdown(socket.SHUT_RDWR)
p.sock.close()
import time; time.sleep(0.3)
p = stls()
stat = p.stat()
unknown = err(lambda: p._shortcmd("FROB"))
long = err(lambda: p._shortcmd("NOOP " + "x" * 5000))
top_bad = err(lambda: p._shortcmd("TOP 1"))
wrong_state = err(lambda: p._shortcmd("STLS"))
rset_dele = s(p.dele(1)); rset = s(p.rset())
noop = s(p.noop())
p.quit()
print(json.dumps({"stat": stat, "unknown": unknown, "long": long, "top_bad": top_bad,
    "wrong_state": wrong_state, "rset": rset, "noop": noop}))
"#,
    );
    assert_eq!(r["stat"][0], 2, "the dropped session never reached UPDATE");
    assert_eq!(r["unknown"], "-ERR Unknown command");
    assert_eq!(r["long"], "-ERR Line too long");
    assert_eq!(r["top_bad"], "-ERR Syntax error");
    assert_eq!(r["wrong_state"], "-ERR Command not valid in this state");
    assert!(
        r["rset"]
            .as_str()
            .unwrap()
            .starts_with("+OK Maildrop has 2 messages")
    );
    assert_eq!(r["noop"], "+OK");
    assert_eq!(site.mailbox_count("alice@example.org", "INBOX"), 2);
}

fn curl_reads_over_pop3s(profile: Profile) {
    let (site, server) = site_with_mail(profile, 2);
    let ca = site.data_dir().join("tls/cert.pem");
    let curl = |path: &str| {
        let url = format!("pop3s://localhost:{}/{path}", server.addr("pop3s").port());
        Command::new("curl")
            .args(["-sS", "--cacert"])
            .arg(&ca)
            .args(["-u", "alice@example.org:pw", &url])
            .output()
            .unwrap()
    };
    let list = curl("");
    assert!(
        list.status.success(),
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&list.stdout).lines().count(), 2);
    let one = curl("1");
    assert_eq!(one.stdout, site.stored_messages("alice@example.org")[0]);
    let wrong = Command::new("curl")
        .args(["-sS", "--cacert"])
        .arg(&ca)
        .args([
            "-u",
            "alice@example.org:nope",
            &format!("pop3s://localhost:{}/", server.addr("pop3s").port()),
        ])
        .output()
        .unwrap();
    assert_eq!(wrong.status.code(), Some(67), "curl: login denied");
}

fn fetchmail_downloads_in_keep_and_nokeep_modes(profile: Profile) {
    let (site, server) = site_with_mail(profile, 3);
    let home = tempfile::tempdir().unwrap();
    let out = home.path().join("mbox");
    let ca = site.data_dir().join("tls/cert.pem");
    let run = |keep: &str| {
        let rc = home.path().join("fetchmailrc");
        std::fs::write(
            &rc,
            format!(
                "set no bouncemail\npoll localhost port {} protocol pop3 uidl\n  user \"alice@example.org\" password \"pw\"\n  ssl sslcertck sslcertfile \"{}\" {keep}\n  mda \"/bin/sh -c 'cat >> {}'\"\n",
                server.addr("pop3s").port(),
                ca.display(),
                out.display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&rc, std::fs::Permissions::from_mode(0o600)).unwrap();
        let o = Command::new("fetchmail")
            .args(["-f"])
            .arg(&rc)
            .args(["-v", "--nodetach", "--nosyslog"])
            .env("FETCHMAILHOME", home.path())
            .env("HOME", home.path())
            .output()
            .unwrap();
        (
            o.status.code(),
            format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
        )
    };
    let subjects = || {
        std::fs::read_to_string(&out)
            .unwrap_or_default()
            .matches("Subject: message")
            .count()
    };
    let (code, log) = run("keep");
    assert_eq!(code, Some(0), "{log}");
    assert_eq!(subjects(), 3, "{log}");
    assert_eq!(
        site.mailbox_count("alice@example.org", "INBOX"),
        3,
        "keep leaves mail on the server"
    );
    // UIDLs are stable: a second keep run finds nothing new (fetchmail exit 1: no mail).
    let (code, log) = run("keep");
    assert_eq!(code, Some(1), "{log}");
    assert_eq!(subjects(), 3);
    let (code, log) = run("nokeep fetchall");
    assert_eq!(code, Some(0), "{log}");
    assert_eq!(subjects(), 6);
    assert_eq!(
        site.mailbox_count("alice@example.org", "INBOX"),
        0,
        "nokeep deletes at QUIT"
    );
}

#[test]
fn a_missing_message_object_gives_sys_temp_and_an_idle_session_is_closed() {
    let site = Site::with_config(
        Profile::Sqlite,
        "[pop3]\nauth_failure_delay_ms = 300\nidle_timeout = 2\n",
    );
    site.add_users("example.org", &["alice"]);
    let server = site.serve();
    for i in 1..=2 {
        let body = format!("Subject: message {i}\r\n\r\nbody {i}\r\n");
        smtp::send(
            server.addr("smtp"),
            "s@remote.test",
            &["alice@example.org"],
            body.as_bytes(),
            &[],
        );
    }
    // Storage trouble: the first message's object disappears behind the index's back.
    let cur = site.maildir_cur("alice@example.org");
    let mut files: Vec<_> = std::fs::read_dir(&cur)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort_by_key(|p| std::fs::metadata(p).unwrap().modified().unwrap());
    std::fs::remove_file(&files[0]).unwrap();
    let r = pop(
        &site,
        &server,
        r#"
p = stls()
missing = err(lambda: p.retr(1))
other = len(p.retr(2)[1])
import time; time.sleep(3)
try:
    p.noop(); idle = "still open"
except Exception as e:
    idle = str(e)
print(json.dumps({"missing": missing, "other": other, "idle": idle}))
"#,
    );
    assert_eq!(
        r["missing"],
        "-ERR [SYS/TEMP] Temporary server problem, try again later"
    );
    assert!(r["other"].as_i64().unwrap() > 0, "the session goes on");
    assert!(
        r["idle"]
            .as_str()
            .unwrap()
            .contains("Disconnected for inactivity"),
        "{}",
        r["idle"]
    );
}
