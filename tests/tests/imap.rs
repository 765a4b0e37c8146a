//! IMAP with independent clients: Python imaplib (STARTTLS and IMAPS), raw TLS sockets for
//! IDLE, curl imaps; and what IMAP and POP3 sessions see of each other.

use std::process::Command;

use baedal_tests::imap::{run, site_with_mail};
use baedal_tests::smtp::{self, assert_reply};
use baedal_tests::{Profile, Site, on_both_profiles};

on_both_profiles!(
    a_thunderbird_style_first_sync_and_flag_changes,
    two_sessions_see_each_others_changes,
    an_outlook_style_session_appends_moves_and_expunges,
    idle_is_woken_by_an_smtp_delivery_within_a_second,
    logins_need_tls_and_bad_commands_get_bad,
    curl_fetches_over_imaps,
    mbsync_syncs_both_ways,
    recent_quota_and_a_flood_of_commands,
    bodystructure_and_envelope_of_tricky_mime,
    list_extended_special_use_and_list_status,
    a_mutt_style_session_with_authenticate_login,
);

fn a_thunderbird_style_first_sync_and_flag_changes(profile: Profile) {
    let (site, server) = site_with_mail(profile, 3);
    let r = run(
        &site,
        &server,
        r#"
m = imap()
caps = list(m.capabilities)
lst = s(m.list('""', '"*"')[1])
status = s(m.status("INBOX", "(MESSAGES UIDNEXT UIDVALIDITY UNSEEN)")[1])
sel = s(m.select("INBOX")[1])
typ, data = m.uid("FETCH", "1:*", "(UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (FROM TO CC SUBJECT DATE MESSAGE-ID)])")
headers = [s(d[1]) for d in data if isinstance(d, tuple)]
first_lines = [s(d[0]) for d in data if isinstance(d, tuple)]
env = s(m.fetch("1", "(ENVELOPE)")[1])
peek_flags = s(m.fetch("1", "(FLAGS)")[1])
body = s(m.fetch("1", "(BODY[])")[1][0][1])
seen_flags = s(m.fetch("1", "(FLAGS)")[1])
partial = s(m.fetch("2", "(BODY.PEEK[TEXT]<5.7>)")[1][0])
store = s(m.uid("STORE", "2", "+FLAGS", r"(\Flagged $Label1)")[1])
m.store("3", "+FLAGS", r"(\Deleted)")
expunge = s(m.expunge()[1])
after = s(m.fetch("1:*", "(UID FLAGS)")[1])
m.logout()
m = imaps()
again = s(m.select("INBOX", readonly=True)[1])
ro_store = s(m.store("1", "+FLAGS", r"(\Deleted)"))
m.logout()
print(json.dumps({"caps": caps, "list": lst, "status": status, "sel": sel, "headers": headers,
  "first_lines": first_lines, "env": env, "peek_flags": peek_flags, "body": body, "seen_flags": seen_flags,
  "partial": partial, "store": store, "expunge": expunge, "after": after, "again": again, "ro_store": ro_store}))
"#,
    );
    let caps: Vec<&str> = r["caps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    // After STARTTLS: login offered, STARTTLS and LOGINDISABLED gone.
    assert!(
        !caps.contains(&"LOGINDISABLED") && !caps.contains(&"STARTTLS"),
        "{caps:?}"
    );
    for cap in [
        "IMAP4REV1",
        "IDLE",
        "UIDPLUS",
        "SPECIAL-USE",
        "AUTH=PLAIN",
        "SASL-IR",
    ] {
        assert!(caps.contains(&cap), "{caps:?}");
    }
    let list = r["list"].to_string();
    for line in [
        r#"(\\HasNoChildren \\Sent) \"/\" \"Sent\""#,
        r#"(\\HasNoChildren \\Trash) \"/\" \"Trash\""#,
        r#"(\\HasNoChildren) \"/\" \"INBOX\""#,
    ] {
        assert!(list.contains(line), "{list}");
    }
    assert!(
        r["status"][0]
            .as_str()
            .unwrap()
            .contains("MESSAGES 3 UIDNEXT 4"),
        "{}",
        r["status"]
    );
    assert_eq!(r["sel"], serde_json::json!(["3"]));
    let stored = site.stored_messages("alice@example.org");
    assert_eq!(
        r["headers"][0],
        "From: Bob Lee <bob@remote.test>\r\nTo: alice@example.org\r\nSubject: message 1\r\nMessage-ID: <1@remote.test>\r\nDate: Sat, 21 Nov 2026 06:35:00 +0000\r\n\r\n"
    );
    assert!(
        r["first_lines"][0].as_str().unwrap().starts_with(&format!(
            "1 (UID 1 RFC822.SIZE {} FLAGS (\\Recent)",
            stored[0].len()
        )),
        "{}",
        r["first_lines"][0]
    );
    assert_eq!(
        r["env"][0],
        "1 (ENVELOPE (\"Sat, 21 Nov 2026 06:35:00 +0000\" \"message 1\" ((\"Bob Lee\" NIL \"bob\" \"remote.test\")) ((\"Bob Lee\" NIL \"bob\" \"remote.test\")) ((\"Bob Lee\" NIL \"bob\" \"remote.test\")) ((NIL NIL \"alice\" \"example.org\")) NIL NIL NIL \"<1@remote.test>\"))"
    );
    assert_eq!(
        r["peek_flags"][0], "1 (FLAGS (\\Recent))",
        "BODY.PEEK does not set \\Seen"
    );
    assert_eq!(r["body"].as_str().unwrap().as_bytes(), &stored[0][..]);
    assert_eq!(
        r["seen_flags"][0], "1 (FLAGS (\\Seen \\Recent))",
        "BODY[] sets \\Seen"
    );
    assert_eq!(r["partial"][1], "of mess", "BODY[TEXT]<5.7>");
    assert!(
        r["partial"][0]
            .as_str()
            .unwrap()
            .contains("BODY[TEXT]<5> {7}"),
        "{}",
        r["partial"]
    );
    // The first session to select the mailbox sees its messages as \Recent.
    assert_eq!(
        r["store"][0],
        "2 (FLAGS (\\Flagged $Label1 \\Recent) UID 2)"
    );
    assert_eq!(r["expunge"], serde_json::json!(["3"]));
    assert_eq!(
        r["after"],
        serde_json::json!([
            "1 (UID 1 FLAGS (\\Seen \\Recent))",
            "2 (UID 2 FLAGS (\\Flagged $Label1 \\Recent))"
        ])
    );
    assert_eq!(r["again"], serde_json::json!(["2"]));
    assert_eq!(r["ro_store"][0], "NO");
    assert_eq!(site.mailbox_count("alice@example.org", "INBOX"), 2);
}

fn two_sessions_see_each_others_changes(profile: Profile) {
    let (site, server) = site_with_mail(profile, 3);
    let r = run(
        &site,
        &server,
        r#"
desktop = imap(); desktop.select("INBOX")
phone = imap(); phone.select("INBOX")
phone.store("1", "+FLAGS", r"(\Seen)")
phone.store("2", "+FLAGS", r"(\Deleted)")
phone.expunge()
desktop.noop()
seen_by_desktop = {k: s(v) for k, v in desktop.untagged_responses.items()}
desktop.untagged_responses.clear()
# POP3 deletes message 1 (the former 1) at QUIT: IMAP sees it as an expunge.
p = poplib.POP3("localhost", int(os.environ["POP3_PORT"]), timeout=30); p.stls(ctx)
p.user("alice@example.org"); p.pass_("pw")
uidl_before = s(p.uidl()[1])
p.dele(1); p.quit()
desktop.noop()
after_pop = {k: s(v) for k, v in desktop.untagged_responses.items()}
print(json.dumps({"seen": seen_by_desktop, "after_pop": after_pop, "uidl": uidl_before}))
"#,
    );
    assert_eq!(
        r["seen"]["EXPUNGE"],
        serde_json::json!(["2"]),
        "{}",
        r["seen"]
    );
    // The desktop selected first: message 1 is \\Recent in its session (RFC 3501 §2.3.2).
    assert_eq!(
        r["seen"]["FETCH"],
        serde_json::json!(["1 (UID 1 FLAGS (\\Seen \\Recent))"]),
        "{}",
        r["seen"]
    );
    assert_eq!(
        r["after_pop"]["EXPUNGE"],
        serde_json::json!(["1"]),
        "{}",
        r["after_pop"]
    );
    // POP3 numbered what IMAP left (UIDs 1 and 3); their UIDLs did not change with the
    // IMAP flag change and expunge.
    assert_eq!(r["uidl"].as_array().unwrap().len(), 2);
    assert!(
        r["uidl"][0].as_str().unwrap().starts_with("1 00000001"),
        "{}",
        r["uidl"]
    );
    assert!(
        r["uidl"][1].as_str().unwrap().starts_with("2 00000003"),
        "{}",
        r["uidl"]
    );
    assert_eq!(site.mailbox_count("alice@example.org", "INBOX"), 1);
}

fn idle_is_woken_by_an_smtp_delivery_within_a_second(profile: Profile) {
    let (site, server) = site_with_mail(profile, 1);
    let r = run(
        &site,
        &server,
        r#"
import smtplib, threading
raw = ctx.wrap_socket(socket.create_connection(("localhost", int(os.environ["IMAPS_PORT"])), timeout=10), server_hostname="localhost")
f = raw.makefile("rb")
def cmd(line):
    raw.sendall(line.encode() + b"\r\n")
f.readline()
cmd('a LOGIN alice@example.org pw'); f.readline()
cmd('b SELECT INBOX')
while not f.readline().startswith(b"b "): pass
cmd('c IDLE')
cont = f.readline()
start = time.time()
smtp = smtplib.SMTP("127.0.0.1", int(os.environ["SMTP_PORT"]))
smtp.sendmail("bob@remote.test", ["alice@example.org"], b"Subject: wake up\r\n\r\nx\r\n")
delivered = time.time()
smtp.quit()
line = f.readline()
woken = time.time()
recent = f.readline()
cmd('DONE')
done = f.readline()
print(json.dumps({"cont": s(cont), "line": s(line), "recent": s(recent), "latency": woken - delivered, "done": s(done)}))
"#,
    );
    assert_eq!(r["cont"], "+ idling\r\n");
    assert_eq!(r["line"], "* 2 EXISTS\r\n");
    assert_eq!(r["recent"], "* 2 RECENT\r\n");
    assert!(
        r["latency"].as_f64().unwrap() < 1.0,
        "told within a second: {}",
        r["latency"]
    );
    assert_eq!(r["done"], "c OK IDLE terminated\r\n");
}

fn logins_need_tls_and_bad_commands_get_bad(profile: Profile) {
    let (site, server) = site_with_mail(profile, 1);
    let r = run(
        &site,
        &server,
        r#"
plain = imaplib.IMAP4("localhost", int(os.environ["IMAP_PORT"]), timeout=30)
plain_caps = list(plain.capabilities)
try:
    plain.login("alice@example.org", "pw"); before_tls = "OK"
except imaplib.IMAP4.error as e:
    before_tls = str(e)
m = imap(user=None)
try:
    m.login("alice@example.org", "wrong"); wrong = "OK"
except imaplib.IMAP4.error as e:
    wrong = str(e)
m.login("alice@example.org", "pw")
raw = ctx.wrap_socket(socket.create_connection(("localhost", int(os.environ["IMAPS_PORT"])), timeout=10), server_hostname="localhost")
f = raw.makefile("rb"); f.readline()
raw.sendall(b"a LOGIN alice@example.org pw\r\nb FROBNICATE\r\nc SELECT\r\nd APPEND INBOX {99999999999}\r\ne NOOP\r\n")
lines = [s(f.readline()) for _ in range(5)]
print(json.dumps({"before_tls": before_tls, "wrong": wrong, "lines": lines, "plain_caps": plain_caps}))
"#,
    );
    let plain_caps = r["plain_caps"].to_string();
    assert!(
        plain_caps.contains("LOGINDISABLED") && plain_caps.contains("STARTTLS"),
        "{plain_caps}"
    );
    assert!(
        r["before_tls"]
            .as_str()
            .unwrap()
            .contains("PRIVACYREQUIRED"),
        "{}",
        r["before_tls"]
    );
    assert!(
        r["wrong"]
            .as_str()
            .unwrap()
            .contains("AUTHENTICATIONFAILED"),
        "{}",
        r["wrong"]
    );
    let lines: Vec<&str> = r["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(lines[0].starts_with("a OK"), "{lines:?}");
    assert!(lines[1].starts_with("b BAD"), "{lines:?}");
    assert!(lines[2].starts_with("c BAD"), "{lines:?}");
    assert!(
        lines[3].starts_with("d BAD"),
        "a literal over the limit: {lines:?}"
    );
    assert!(
        lines[4].starts_with("e OK"),
        "the session survives: {lines:?}"
    );
}

fn curl_fetches_over_imaps(profile: Profile) {
    let (site, server) = site_with_mail(profile, 2);
    let url = format!(
        "imaps://localhost:{}/INBOX;UID=2",
        server.addr("imaps").port()
    );
    let out = Command::new("curl")
        .args(["-sS", "--cacert"])
        .arg(site.data_dir().join("tls/cert.pem"))
        .args(["-u", "alice@example.org:pw", &url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.stdout, site.stored_messages("alice@example.org")[1]);
}

fn an_outlook_style_session_appends_moves_and_expunges(profile: Profile) {
    let (site, server) = site_with_mail(profile, 3);
    let r = run(
        &site,
        &server,
        r#"
m = imap()
lst = s(m.list('""', '"*"')[1])
sent = b"From: alice@example.org\r\nTo: bob@remote.test\r\nSubject: my reply\r\n\r\nthanks\r\n"
append = s(m.append("Sent", r"(\Seen)", imaplib.Time2Internaldate(1795242900), sent))
m.select("INBOX")
move = s(m.uid("MOVE", "1", "Trash")) ; move_data = s(m.untagged_responses.pop("OK", None))
copy = s(m.uid("COPY", "2", "Archive"))
m.select("Trash"); trash = s(m.fetch("1:*", "(UID FLAGS)")[1])
m.store("1", "+FLAGS", r"(\Deleted)"); m.expunge()
m.select("Sent"); sent_back = s(m.fetch("1", "(FLAGS INTERNALDATE BODY.PEEK[])")[1][0])
create = s(m.create("Projects/2026"))
lst2 = s(m.list('""', '"Projects*"')[1])
rename = s(m.rename("Projects", "Work"))
lst3 = s(m.list('""', '"Work*"')[1])
delete_parent = s(m.delete("Work"))
delete_child = s(m.delete("Work/2026"))
status = s(m.status("Archive", "(MESSAGES)")[1])
m.select("INBOX")
search = s(m.search(None, "SUBJECT", '"message 3"')[1])
search_uid = s(m.uid("SEARCH", "NOT", "DELETED", "SINCE", "1-Jan-2020")[1])
search_from = s(m.search("UTF-8", "FROM", "bob")[1])
search_body = s(m.search(None, "BODY", '"of message 2"')[1])
bs = s(m.fetch("1", "(BODYSTRUCTURE)")[1])
m.subscribe("Archive"); m.unsubscribe("Junk")
lsub = s(m.lsub('""', '"*"')[1])
m.logout()
print(json.dumps({"list": lst, "append": append, "move": move, "move_data": move_data, "copy": copy, "trash": trash,
  "sent_back": sent_back, "create": create, "lst2": lst2, "rename": rename, "lst3": lst3, "delete_parent": delete_parent,
  "delete_child": delete_child, "status": status, "search": search, "search_uid": search_uid,
  "search_from": search_from, "search_body": search_body, "bs": bs, "lsub": lsub}))
"#,
    );
    assert!(
        r["append"][1][0]
            .as_str()
            .unwrap()
            .starts_with("[APPENDUID "),
        "{}",
        r["append"]
    );
    assert!(
        r["move_data"].to_string().contains("COPYUID"),
        "{}",
        r["move_data"]
    );
    assert_eq!(r["copy"][0], "OK");
    assert_eq!(
        r["trash"],
        serde_json::json!(["1 (UID 1 FLAGS (\\Recent))"])
    );
    let sent_back = &r["sent_back"];
    assert!(
        sent_back[0]
            .as_str()
            .unwrap()
            .contains("FLAGS (\\Seen \\Recent) INTERNALDATE \"21-Nov-2026 06:35:00 +0000\""),
        "{sent_back}"
    );
    assert_eq!(
        sent_back[1],
        "From: alice@example.org\r\nTo: bob@remote.test\r\nSubject: my reply\r\n\r\nthanks\r\n"
    );
    assert_eq!(r["create"][0], "OK");
    assert_eq!(
        r["lst2"],
        serde_json::json!([
            "(\\HasChildren) \"/\" \"Projects\"",
            "(\\HasNoChildren) \"/\" \"Projects/2026\""
        ])
    );
    assert_eq!(
        r["lst3"],
        serde_json::json!([
            "(\\HasChildren) \"/\" \"Work\"",
            "(\\HasNoChildren) \"/\" \"Work/2026\""
        ])
    );
    assert_eq!(r["delete_parent"][0], "NO");
    assert_eq!(r["delete_child"][0], "OK");
    assert!(
        r["status"][0].as_str().unwrap().contains("MESSAGES 1"),
        "{}",
        r["status"]
    );
    // INBOX now holds UIDs 2 and 3 (1 moved to Trash).
    assert_eq!(r["search"], serde_json::json!(["2"]));
    assert_eq!(r["search_uid"], serde_json::json!(["2 3"]));
    assert_eq!(r["search_from"], serde_json::json!(["1 2"]));
    assert_eq!(r["search_body"], serde_json::json!(["1"]));
    assert_eq!(
        r["bs"][0],
        "1 (BODYSTRUCTURE (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 19 1 NIL NIL NIL NIL))"
    );
    let lsub = r["lsub"].to_string();
    assert!(lsub.contains("Archive") && !lsub.contains("Junk"), "{lsub}");
    assert_eq!(site.mailbox_count("alice@example.org", "Trash"), 0);
    // The expunged message's object stays for sessions not yet told of the expunge
    // (`[imap] expunged_grace`); the copy in Archive shares its blob with INBOX.
    assert_eq!(
        site.stored_messages("alice@example.org").len(),
        4,
        "INBOX 2 and 3, Sent 1, the expunged one"
    );
    // Past the grace period, the purge (here `storage verify --repair`) removes it.
    let tomorrow = (baedal_tests::now_secs() + 86_400).to_string();
    site.cli(&["storage", "verify", "--repair", "--now", &tomorrow])
        .ok();
    assert_eq!(
        site.stored_messages("alice@example.org").len(),
        3,
        "INBOX 2 and 3, Sent 1"
    );
    assert_eq!(site.mailbox_count("alice@example.org", "Sent"), 1);
    assert_eq!(site.mailbox_count("alice@example.org", "INBOX"), 2);
}

fn mbsync_syncs_both_ways(profile: Profile) {
    let (site, server) = site_with_mail(profile, 3);
    let home = tempfile::tempdir().unwrap();
    let local = home.path().join("mail");
    std::fs::create_dir_all(&local).unwrap();
    let rc = home.path().join("mbsyncrc");
    std::fs::write(
        &rc,
        format!(
            "IMAPAccount baedal\nHost localhost\nPort {}\nUser alice@example.org\nPass pw\nSSLType IMAPS\nCertificateFile {}\n\n\
             IMAPStore remote\nAccount baedal\n\nMaildirStore local\nPath {}/\nInbox {}/INBOX\nSubFolders Verbatim\n\n\
             Channel sync\nFar :remote:\nNear :local:\nPatterns *\nCreate Both\nExpunge Both\nSyncState *\nSync All\n",
            server.addr("imaps").port(),
            site.data_dir().join("tls/cert.pem").display(),
            local.display(),
            local.display()
        ),
    )
    .unwrap();
    let mbsync = || {
        let out = Command::new("mbsync")
            .arg("-c")
            .arg(&rc)
            .args(["-a", "-D"])
            .env("HOME", home.path())
            .output()
            .unwrap();
        let log = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "mbsync: {log}");
        log
    };
    let count = |dir: &std::path::Path| -> usize {
        ["cur", "new"]
            .iter()
            .map(|d| {
                std::fs::read_dir(dir.join(d))
                    .map(|r| r.count())
                    .unwrap_or(0)
            })
            .sum()
    };
    let _ = mbsync();
    assert_eq!(count(&local.join("INBOX")), 3, "the INBOX came down");
    assert!(
        local.join("Sent").is_dir() && local.join("Trash").is_dir(),
        "the folders came down"
    );
    // Locally: a new folder with a message, one message flagged seen, one deleted.
    let projects = local.join("Projects");
    for d in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(projects.join(d)).unwrap();
    }
    std::fs::write(
        projects.join("new/1.local"),
        b"Subject: local note\r\n\r\nwritten offline\r\n",
    )
    .unwrap();
    let inbox_files: Vec<_> = std::fs::read_dir(local.join("INBOX/new"))
        .unwrap()
        .chain(std::fs::read_dir(local.join("INBOX/cur")).unwrap())
        .map(|e| e.unwrap().path())
        .collect();
    std::fs::remove_file(&inbox_files[0]).unwrap();
    let second = &inbox_files[1];
    // Maildir: a message read locally moves to cur/ with the S flag in its name.
    let base = second
        .file_name()
        .unwrap()
        .to_string_lossy()
        .split(':')
        .next()
        .unwrap()
        .to_string();
    std::fs::rename(second, local.join("INBOX/cur").join(format!("{base}:2,S"))).unwrap();
    let log = mbsync();
    assert_eq!(
        site.mailbox_count("alice@example.org", "Projects"),
        1,
        "the new folder went up"
    );
    assert_eq!(
        site.mailbox_count("alice@example.org", "INBOX"),
        2,
        "the local deletion went up"
    );
    let flags = run(
        &site,
        &server,
        "m = imap(); m.select('INBOX'); print(json.dumps(s(m.fetch('1:*', '(FLAGS)')[1]))); m.logout()",
    );
    assert!(
        flags.to_string().contains("\\\\Seen"),
        "the local \\Seen went up: {flags}\n{log}"
    );
}

fn recent_quota_and_a_flood_of_commands(profile: Profile) {
    let (site, server) = site_with_mail(profile, 2);
    site.cli(&["user", "quota", "alice@example.org", "10M"])
        .ok();
    let r = run(
        &site,
        &server,
        r#"
a = imap()
first = s(a.select("INBOX")[1]); first_recent = s(a.untagged_responses.get("RECENT"))
recent_flags = s(a.fetch("1", "(FLAGS)")[1])
search_recent = s(a.search(None, "RECENT")[1])
b = imap()
second = s(b.select("INBOX")[1]); second_recent = s(b.untagged_responses.get("RECENT"))
quota_root = s(b._simple_command("GETQUOTAROOT", "INBOX")); quota = s(b.untagged_responses.get("QUOTA")); root = s(b.untagged_responses.get("QUOTAROOT"))
# 2,000 pipelined NOOPs: every one answered, in order, and the session goes on.
raw = ctx.wrap_socket(socket.create_connection(("localhost", int(os.environ["IMAPS_PORT"])), timeout=30), server_hostname="localhost")
f = raw.makefile("rb"); f.readline()
raw.sendall(b"".join(b"n%d NOOP\r\n" % i for i in range(2000)) + b"z LOGOUT\r\n")
tags = [f.readline().split(b" ")[0] for _ in range(2002)]
print(json.dumps({"first_recent": first_recent, "recent_flags": recent_flags, "search_recent": search_recent,
  "second_recent": second_recent, "quota_root": quota_root, "quota": quota, "root": root,
  "tags_ok": tags[:2000] == [b"n%d" % i for i in range(2000)], "bye": s(tags[2000])}))
"#,
    );
    assert_eq!(r["first_recent"], serde_json::json!(["2"]), "{r}");
    assert_eq!(
        r["recent_flags"],
        serde_json::json!(["1 (FLAGS (\\Recent))"])
    );
    assert_eq!(r["search_recent"], serde_json::json!(["1 2"]));
    assert_eq!(
        r["second_recent"],
        serde_json::json!(["0"]),
        "only one session gets \\Recent"
    );
    let used_kib = (site
        .stored_messages("alice@example.org")
        .iter()
        .map(Vec::len)
        .sum::<usize>() as u64)
        .div_ceil(1024);
    assert_eq!(
        r["quota"],
        serde_json::json!([format!("\"\" (STORAGE {used_kib} 10240)")])
    );
    assert_eq!(r["root"], serde_json::json!(["\"INBOX\" \"\""]));
    assert_eq!(r["tags_ok"], true);
    assert_eq!(r["bye"], "*");
}

fn bodystructure_and_envelope_of_tricky_mime(profile: Profile) {
    let site = Site::with_config(profile, "");
    site.add_users("example.org", &["alice"]);
    let server = site.serve();
    let tricky = "From: =?UTF-8?B?67CV7KeA7Jew?= <jiyeon@remote.test>\r\n\
To: alice@example.org\r\n\
Subject: =?UTF-8?Q?R=C3=A9sum=C3=A9_attached?=\r\n\
Date: Sat, 21 Nov 2026 06:35:00 +0000\r\n\
Message-ID: <tricky@remote.test>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=outer\r\n\
\r\n\
preamble\r\n\
--outer\r\n\
Content-Type: multipart/alternative; boundary=inner\r\n\
\r\n\
--inner\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
Content-Transfer-Encoding: quoted-printable\r\n\
\r\n\
Caf=C3=A9\r\n\
--inner\r\n\
Content-Type: text/html; charset=utf-8\r\n\
\r\n\
<p>Caf\u{e9}</p>\r\n\
--inner--\r\n\
--outer\r\n\
Content-Type: application/octet-stream\r\n\
Content-Disposition: attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
JVBERi0xLjQK\r\n\
--outer\r\n\
Content-Type: message/rfc822\r\n\
\r\n\
Subject: inner message\r\n\
From: x@y.test\r\n\
\r\n\
inner body\r\n\
--outer\r\n\
Content-Type: text/plain; broken=\r\n\
\r\n\
malformed part without closing boundary\r\n";
    let r = smtp::send(
        server.addr("smtp"),
        "jiyeon@remote.test",
        &["alice@example.org"],
        tricky.as_bytes(),
        &["--smtputf8"],
    );
    assert_reply(&r["data"], 250, "2.0.0");
    let r = run(
        &site,
        &server,
        r#"
m = imap(); m.select("INBOX")
bs = s(m.fetch("1", "(BODYSTRUCTURE)")[1])
env = s(m.fetch("1", "(ENVELOPE)")[1])
part11 = s(m.fetch("1", "(BODY.PEEK[1.1])")[1][0][1])
part2mime = s(m.fetch("1", "(BODY.PEEK[2.MIME])")[1][0][1])
part3header = s(m.fetch("1", "(BODY.PEEK[3.HEADER])")[1][0][1])
part3text = s(m.fetch("1", "(BODY.PEEK[3.TEXT])")[1][0][1])
print(json.dumps({"bs": bs, "env": env, "part11": part11, "part2mime": part2mime, "part3header": part3header, "part3text": part3text}))
"#,
    );
    let bs = r["bs"].to_string();
    for expected in [
        "(\\\"text\\\" \\\"plain\\\" (\\\"charset\\\" \\\"utf-8\\\") NIL NIL \\\"quoted-printable\\\" 9 1",
        "(\\\"text\\\" \\\"html\\\" (\\\"charset\\\" \\\"utf-8\\\")",
        "\\\"alternative\\\" (\\\"boundary\\\" \\\"inner\\\")",
        "\\\"application\\\" \\\"octet-stream\\\" NIL NIL NIL \\\"base64\\\" 12 NIL (\\\"attachment\\\" (\\\"filename\\\" {12}",
        "\\\"message\\\" \\\"rfc822\\\" NIL NIL NIL \\\"7bit\\\"",
        "\\\"inner message\\\"",
        "\\\"mixed\\\" (\\\"boundary\\\" \\\"outer\\\")",
    ] {
        assert!(bs.contains(expected), "{expected} in {bs}");
    }
    let env = r["env"][0].as_str().unwrap();
    assert!(
        env.contains("\"=?UTF-8?Q?R=C3=A9sum=C3=A9_attached?=\""),
        "ENVELOPE keeps encoded words: {env}"
    );
    assert!(
        env.contains("((\"=?UTF-8?B?67CV7KeA7Jew?=\" NIL \"jiyeon\" \"remote.test\"))"),
        "{env}"
    );
    assert_eq!(r["part11"], "Caf=C3=A9");
    assert!(
        r["part2mime"]
            .as_str()
            .unwrap()
            .starts_with("Content-Type: application/octet-stream\r\n"),
        "{}",
        r["part2mime"]
    );
    assert!(
        r["part3header"]
            .as_str()
            .unwrap()
            .starts_with("Subject: inner message\r\n"),
        "{}",
        r["part3header"]
    );
    assert!(
        r["part3text"].as_str().unwrap().starts_with("inner body"),
        "{}",
        r["part3text"]
    );
}

fn list_extended_special_use_and_list_status(profile: Profile) {
    let (site, server) = site_with_mail(profile, 2);
    let r = run(
        &site,
        &server,
        r#"
raw = ctx.wrap_socket(socket.create_connection(("localhost", int(os.environ["IMAPS_PORT"])), timeout=30), server_hostname="localhost")
f = raw.makefile("rb"); f.readline()
def cmd(tag, line):
    raw.sendall(("%s %s\r\n" % (tag, line)).encode())
    out = []
    while True:
        l = f.readline().decode().rstrip("\r\n")
        out.append(l)
        if l.startswith(tag + " "):
            return out
cmd("a", "LOGIN alice@example.org pw")
special = cmd("b", 'LIST (SPECIAL-USE) "" "*"')
status = cmd("c", 'LIST "" ("INBOX" "Sent") RETURN (STATUS (MESSAGES UNSEEN))')
delim = cmd("d", 'LIST "" ""')
print(json.dumps({"special": special, "status": status, "delim": delim}))
"#,
    );
    assert_eq!(
        r["special"],
        serde_json::json!([
            "* LIST (\\HasNoChildren \\Archive) \"/\" \"Archive\"",
            "* LIST (\\HasNoChildren \\Drafts) \"/\" \"Drafts\"",
            "* LIST (\\HasNoChildren \\Junk) \"/\" \"Junk\"",
            "* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent\"",
            "* LIST (\\HasNoChildren \\Trash) \"/\" \"Trash\"",
            "b OK LIST completed"
        ])
    );
    assert_eq!(
        r["status"],
        serde_json::json!([
            "* LIST (\\HasNoChildren) \"/\" \"INBOX\"",
            "* STATUS \"INBOX\" (MESSAGES 2 UNSEEN 2)",
            "* LIST (\\HasNoChildren \\Sent) \"/\" \"Sent\"",
            "* STATUS \"Sent\" (MESSAGES 0 UNSEEN 0)",
            "c OK LIST completed"
        ])
    );
    assert_eq!(
        r["delim"],
        serde_json::json!(["* LIST (\\Noselect) \"/\" \"\"", "d OK LIST completed"])
    );
}

fn a_mutt_style_session_with_authenticate_login(profile: Profile) {
    let (site, server) = site_with_mail(profile, 3);
    let r = run(
        &site,
        &server,
        r#"
import base64
m = imaplib.IMAP4_SSL("localhost", int(os.environ["IMAPS_PORT"]), ssl_context=ctx, timeout=30)
answers = iter([b"alice@example.org", b"pw"])
auth = s(m.authenticate("LOGIN", lambda challenge: next(answers)))
statuses = [s(m.status(box, "(MESSAGES UNSEEN)")[1]) for box in ("INBOX", "Sent", "Drafts")]
m.select("INBOX")
hdrs = m.fetch("1:*", "(UID FLAGS INTERNALDATE RFC822.SIZE BODY.PEEK[HEADER.FIELDS (DATE FROM SENDER SUBJECT TO CC MESSAGE-ID REFERENCES CONTENT-TYPE CONTENT-DESCRIPTION IN-REPLY-TO REPLY-TO LINES LIST-POST X-LABEL X-ORIGINAL-TO)])")[1]
count = len([h for h in hdrs if isinstance(h, tuple)])
silent = s(m.uid("STORE", "1:2", "+FLAGS.SILENT", r"(\Seen)"))
partial = s(m.fetch("3", "(BODY.PEEK[]<0.20>)")[1][0])
m.uid("STORE", "3", "+FLAGS.SILENT", r"(\Deleted)")
close = s(m.close())
m.select("INBOX")
flags = s(m.fetch("1:*", "(FLAGS)")[1])
m.logout()
print(json.dumps({"auth": auth, "statuses": statuses, "count": count, "silent": silent, "partial": partial, "close": close, "flags": flags}))
"#,
    );
    assert_eq!(r["auth"][0], "OK", "{r}");
    assert!(
        r["statuses"][0][0]
            .as_str()
            .unwrap()
            .contains("MESSAGES 3 UNSEEN 3"),
        "{r}"
    );
    assert_eq!(r["count"], 3);
    assert_eq!(
        r["silent"],
        serde_json::json!(["OK", [null]]),
        "+FLAGS.SILENT sends no FETCH"
    );
    let stored = site.stored_messages("alice@example.org");
    assert_eq!(r["partial"][0], "3 (BODY[]<0> {20}");
    assert_eq!(
        r["partial"][1].as_str().unwrap().as_bytes(),
        &stored[0][..20]
    );
    assert_eq!(r["close"][0], "OK");
    assert_eq!(
        r["flags"],
        serde_json::json!(["1 (FLAGS (\\Seen))", "2 (FLAGS (\\Seen))"]),
        "CLOSE expunged the \\Deleted message"
    );
}
