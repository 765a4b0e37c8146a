//! IMAP4rev2 (RFC 9051) next to IMAP4rev1 on one mailbox at once: a rev2 session gets no
//! \Recent and no RECENT, a LIST in SELECT and ESEARCH for SEARCH, while a rev1 session keeps
//! its rev1 answers; BINARY (RFC 3516) undoes transfer encodings; STATUS SIZE and DELETED;
//! a UTF8=ACCEPT client (RFC 6855) and a modified-UTF-7 client name the same folders;
//! MULTIAPPEND (RFC 3502) stores all or none, SAVEDATE (RFC 8514) tells when a message came
//! into its mailbox, PREVIEW (RFC 8970) shows its first words.

use baedal_tests::imap::{run_raw, site_with_mail, strings};
use baedal_tests::{Profile, on_both_profiles};

on_both_profiles!(
    a_rev2_and_a_rev1_session_share_a_mailbox,
    binary_fetches_decoded_parts,
    utf8_and_modified_utf7_clients_see_one_folder,
    create_special_use_marks_the_new_folder,
    object_ids_survive_copy_and_rename,
    multiappend_savedate_and_preview,
    metadata_on_the_server_and_on_mailboxes,
    replies_share_a_threadid_across_mailboxes,
    uidonly_sessions_see_uids_and_vanished_only,
    catenate_builds_a_message_from_text_and_urls,
);

fn a_rev2_and_a_rev1_session_share_a_mailbox(profile: Profile) {
    let (site, server) = site_with_mail(profile, 2);
    let script = r#"
rev1 = session(select=None)
rev1_select = rev1.cmd("SELECT INBOX")
rev2 = session(select=None)
enabled = rev2.cmd("ENABLE IMAP4rev2")
rev2_select = rev2.cmd("SELECT INBOX")
print(json.dumps({"enabled": enabled, "rev2_select": rev2_select, "rev1_select": rev1_select,
    "rev2_search": rev2.cmd("SEARCH UNSEEN"), "rev1_search": rev1.cmd("SEARCH UNSEEN"),
    "rev2_flags": rev2.cmd("FETCH 1:* (FLAGS)"), "rev1_flags": rev1.cmd("FETCH 1:* (FLAGS)"),
    "status": rev2.cmd("STATUS Sent (MESSAGES SIZE DELETED)"),
    "caps": rev2.cmd("CAPABILITY"),
    "append": rev1.append("INBOX", "Subject: new\r\n\r\nx\r\n"),
    "rev1_noop": rev1.cmd("NOOP"), "rev2_noop": rev2.cmd("NOOP"),
    "count": rev2.cmd("UID SEARCH RETURN (COUNT) ALL")}))
"#;
    let r = run_raw(&site, &server, script);
    assert_eq!(strings(&r["enabled"])[0], "* ENABLED IMAP4rev2");
    let rev2_select = strings(&r["rev2_select"]);
    assert!(
        rev2_select.contains(&"* LIST () \"/\" \"INBOX\"".to_string()),
        "{rev2_select:?}"
    );
    assert!(
        !rev2_select.iter().any(|l| l.ends_with("RECENT")),
        "{rev2_select:?}"
    );
    let rev1_select = strings(&r["rev1_select"]);
    assert!(
        rev1_select.iter().any(|l| l.ends_with(" RECENT")),
        "{rev1_select:?}"
    );
    assert_eq!(
        strings(&r["rev2_search"])[0],
        "* ESEARCH (TAG \"t4\") ALL 1:2"
    );
    assert_eq!(strings(&r["rev1_search"])[0], "* SEARCH 1 2");
    assert!(
        rev1_select.contains(&"* 2 RECENT".to_string()),
        "{rev1_select:?}"
    );
    // The rev1 session claimed the messages as recent and shows \Recent; the rev2 session
    // never does.
    assert!(
        strings(&r["rev2_flags"])
            .iter()
            .all(|l| !l.contains("\\Recent")),
        "{}",
        r["rev2_flags"]
    );
    assert!(
        strings(&r["rev1_flags"])[0].contains("\\Recent"),
        "{}",
        r["rev1_flags"]
    );
    assert_eq!(
        strings(&r["status"])[0],
        "* STATUS \"Sent\" (MESSAGES 0 SIZE 0 DELETED 0)"
    );
    let caps = strings(&r["caps"])[0].clone();
    for cap in ["IMAP4rev1", "IMAP4rev2", "BINARY", "ESEARCH", "STATUS=SIZE"] {
        assert!(caps.split(' ').any(|c| c == cap), "{cap} in {caps}");
    }
    // An APPEND by the rev1 session: the rev2 session hears EXISTS without RECENT.
    let noop = strings(&r["rev2_noop"]);
    assert_eq!(noop[0], "* 3 EXISTS", "{noop:?}");
    assert!(!noop.iter().any(|l| l.ends_with("RECENT")), "{noop:?}");
    // The rev1 session's own APPEND is announced at its end, with RECENT.
    let append = strings(&r["append"]);
    assert!(append.contains(&"* 3 RECENT".to_string()), "{append:?}");
    assert_eq!(
        strings(&r["count"])[0],
        "* ESEARCH (TAG \"t9\") UID COUNT 3"
    );
}

fn binary_fetches_decoded_parts(profile: Profile) {
    let (site, server) = site_with_mail(profile, 0);
    let r = run_raw(
        &site,
        &server,
        r#"
msg = ("From: a@x\r\nSubject: parts\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n"
  "--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
  "caf=C3=A9\r\n"
  "--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
  "AAECAwQ=\r\n"
  "--b\r\nContent-Type: application/x-odd\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin\r\n"
  "--b--\r\n")
c = session(select=None)
c.append("INBOX", msg)
c.cmd("SELECT INBOX")
out = {
  "text": c.cmd("FETCH 1 (BINARY.PEEK[1] BINARY.SIZE[1])"),
  "octets": c.cmd("FETCH 1 (BINARY.PEEK[2] BINARY.SIZE[2])"),
  "partial": c.cmd("FETCH 1 (BINARY.PEEK[2]<1.2>)"),
  "unknown": c.cmd("FETCH 1 (BINARY.PEEK[3])"),
  "unseen": c.cmd("FETCH 1 (FLAGS)"),
  "seen": c.cmd("FETCH 1 (BINARY[1])"),
}
print(json.dumps(out))
"#,
    );
    let text = strings(&r["text"])[0].clone();
    assert_eq!(text, "* 1 FETCH (BINARY[1] {5}\r\ncafé BINARY.SIZE[1] 5)");
    let octets = strings(&r["octets"])[0].clone();
    assert_eq!(
        octets,
        "* 1 FETCH (BINARY[2] ~{5}\r\n\u{0}\u{1}\u{2}\u{3}\u{4} BINARY.SIZE[2] 5)"
    );
    assert_eq!(
        strings(&r["partial"])[0],
        "* 1 FETCH (BINARY[2]<1> {2}\r\n\u{1}\u{2})"
    );
    let unknown = strings(&r["unknown"]);
    assert!(
        unknown.last().unwrap().contains("NO [UNKNOWN-CTE]"),
        "{unknown:?}"
    );
    assert_eq!(strings(&r["unseen"])[0], "* 1 FETCH (FLAGS (\\Recent))");
    assert!(
        strings(&r["seen"])[0].contains("FLAGS (\\Seen \\Recent)"),
        "BINARY without PEEK sets \\Seen: {}",
        r["seen"]
    );
}

/// A Korean folder created by a rev1 client in modified UTF-7 is `회의` to a UTF8=ACCEPT
/// client, and the reverse; both reach the same mailbox (names are stored in UTF-8).
fn utf8_and_modified_utf7_clients_see_one_folder(profile: Profile) {
    let (site, server) = site_with_mail(profile, 0);
    let r = run_raw(
        &site,
        &server,
        r#"
rev1 = session(select=None)
created = rev1.cmd('CREATE "&1ozHWA-/&x5C4zA-"')
rev1.append("&1ozHWA-/&x5C4zA-", "Subject: x\r\n\r\nx\r\n")
utf8 = session(select=None)
enabled = utf8.cmd("ENABLE UTF8=ACCEPT")
listed = utf8.cmd('LIST "" "*"')
status = utf8.cmd('STATUS "회의/자료" (MESSAGES)')
made = utf8.cmd('CREATE "보관함"')
rev1_list = rev1.cmd('LIST "" "*"')
rev1_select = rev1.cmd('SELECT "&vPStANVo-"')
print(json.dumps({"created": created, "enabled": enabled, "listed": listed, "status": status,
    "made": made, "rev1_list": rev1_list, "rev1_select": rev1_select}))
"#,
    );
    assert_eq!(strings(&r["enabled"])[0], "* ENABLED UTF8=ACCEPT");
    let listed = strings(&r["listed"]).join("\n");
    assert!(listed.contains("회의/자료"), "{listed}");
    assert!(!listed.contains("&1ozHWA-"), "{listed}");
    assert!(
        strings(&r["status"])[0].ends_with("(MESSAGES 1)"),
        "{}",
        r["status"]
    );
    let rev1_list = strings(&r["rev1_list"]).join("\n");
    assert!(rev1_list.contains("\"&1ozHWA-/&x5C4zA-\""), "{rev1_list}");
    assert!(rev1_list.contains("\"&vPStANVo-\""), "{rev1_list}");
    assert!(
        strings(&r["rev1_select"]).last().unwrap().contains("OK"),
        "{}",
        r["rev1_select"]
    );
}

/// RFC 6154 §3 CREATE-SPECIAL-USE: the new folder carries the attribute in LIST; an
/// attribute the server cannot give, or two, is `NO [USEATTR]` and creates nothing.
fn create_special_use_marks_the_new_folder(profile: Profile) {
    let (site, server) = site_with_mail(profile, 0);
    let r = run_raw(
        &site,
        &server,
        r#"
c = session(select=None)
out = {
  "sent": c.cmd(r'CREATE "Sent Items" (USE (\Sent))'),
  "all": c.cmd(r'CREATE Everything (USE (\All))'),
  "two": c.cmd(r'CREATE Both (USE (\Sent \Trash))'),
  "list": c.cmd('LIST "" "*" RETURN (SPECIAL-USE)'),
  "caps": c.cmd("CAPABILITY"),
}
print(json.dumps(out))
"#,
    );
    assert!(strings(&r["sent"])[0].contains(" OK "), "{}", r["sent"]);
    for k in ["all", "two"] {
        assert!(strings(&r[k])[0].contains("NO [USEATTR]"), "{k}: {}", r[k]);
    }
    let list = strings(&r["list"]);
    let sent = list
        .iter()
        .find(|l| l.ends_with("\"Sent Items\""))
        .unwrap_or_else(|| panic!("{list:?}"));
    assert!(sent.contains("\\Sent"), "{sent}");
    assert!(
        !list
            .iter()
            .any(|l| l.contains("Everything") || l.contains("\"Both\"")),
        "{list:?}"
    );
    assert!(strings(&r["caps"])[0].contains(" CREATE-SPECIAL-USE"));
}

/// OBJECTID (RFC 8474): a mailbox keeps its MAILBOXID through RENAME, a message keeps its
/// EMAILID through COPY and MOVE, different messages have different ones, and SEARCH
/// EMAILID finds a message wherever it is.
fn object_ids_survive_copy_and_rename(profile: Profile) {
    let (site, server) = site_with_mail(profile, 2);
    let r = run_raw(
        &site,
        &server,
        r#"
import re
c = session(select=None)
made = c.cmd("CREATE Projects")
status = c.cmd("STATUS Projects (MAILBOXID)")
c.cmd("RENAME Projects Work")
renamed = c.cmd("STATUS Work (MESSAGES MAILBOXID)")
sel = c.cmd("SELECT INBOX")
ids = c.cmd("FETCH 1:2 (EMAILID THREADID)")
c.cmd("COPY 1 Work")
c.cmd("SELECT Work")
copied = c.cmd("UID FETCH 1 (EMAILID)")
first = re.search(r"EMAILID \((\S+)\)", ids[0]).group(1)
found = c.cmd(f"UID SEARCH EMAILID {first}")
print(json.dumps({"made": made, "status": status, "renamed": renamed, "sel": sel, "ids": ids,
    "copied": copied, "first": first, "found": found}))
"#,
    );
    let made = strings(&r["made"]).last().unwrap().clone();
    let id = made
        .split("[MAILBOXID (")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap_or_else(|| panic!("{made}"))
        .to_string();
    assert_eq!(
        strings(&r["status"])[0],
        format!("* STATUS \"Projects\" (MAILBOXID ({id}))")
    );
    assert_eq!(
        strings(&r["renamed"])[0],
        format!("* STATUS \"Work\" (MESSAGES 0 MAILBOXID ({id}))")
    );
    assert!(
        strings(&r["sel"])
            .iter()
            .any(|l| l.starts_with("* OK [MAILBOXID (M")),
        "{}",
        r["sel"]
    );
    let ids = strings(&r["ids"]);
    let first = r["first"].as_str().unwrap();
    assert!(ids[0].contains("THREADID (T"), "{ids:?}");
    assert!(!ids[1].contains(first), "different messages: {ids:?}");
    let thread = |line: &str| line.split("THREADID (").nth(1).map(|t| t.to_string());
    assert_ne!(
        thread(&ids[0]),
        thread(&ids[1]),
        "unrelated: two threads {ids:?}"
    );
    assert!(strings(&r["copied"])[0].contains(first), "{}", r["copied"]);
    assert_eq!(strings(&r["found"])[0], "* SEARCH 1");
}

fn multiappend_savedate_and_preview(profile: Profile) {
    let (site, server) = site_with_mail(profile, 2);
    let r = run_raw(
        &site,
        &server,
        r#"
import time
c = session()
m1 = b"Subject: one\r\n\r\nHello   Bob,\r\n> quoted line\r\nsee you\r\n"
m2 = (b"Subject: two\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
      + "<p>안녕하세요 <b>팀</b></p>".encode() + b"\r\n")
def multi(tag, mailbox, tail=b"\r\n"):
    c.send(b"%s APPEND %s (\\Seen) \"01-Jan-2020 10:00:00 +0000\" {%d+}\r\n" % (tag, mailbox, len(m1))
           + m1 + b" (\\Flagged) {%d+}\r\n" % len(m2) + m2 + tail)
    return c._until_tagged(tag.decode())
appended = multi(b"m1", b"INBOX")
missing = multi(b"m2", b"Nowhere")
broken = multi(b"m3", b"INBOX", b" junk\r\n")
after = c.cmd("UID SEARCH ALL")
fetched = c.cmd("UID FETCH 3:* (FLAGS INTERNALDATE SAVEDATE PREVIEW)")
lazy = c.cmd("UID FETCH 3 (PREVIEW (LAZY))")
today = time.strftime("%d-%b-%Y", time.gmtime())
since = c.cmd("UID SEARCH SAVEDSINCE " + today)
before = c.cmd("UID SEARCH SAVEDBEFORE 1-Jan-2021")
old = c.cmd("UID SEARCH BEFORE 1-Jan-2021")
supported = c.cmd("UID SEARCH SAVEDATESUPPORTED")
caps = c.cmd("CAPABILITY")
print(json.dumps({"appended": appended, "missing": missing, "broken": broken, "after": after,
    "fetched": fetched, "lazy": lazy, "since": since, "before": before, "old": old,
    "supported": supported, "caps": caps, "year": time.strftime("%Y", time.gmtime())}))
"#,
    );
    let appended = strings(&r["appended"]).last().unwrap().clone();
    assert!(
        appended.starts_with("m1 OK [APPENDUID ") && appended.contains(" 3:4] "),
        "{appended}"
    );
    let missing = strings(&r["missing"]).last().unwrap().clone();
    assert!(missing.starts_with("m2 NO [TRYCREATE]"), "{missing}");
    let broken = strings(&r["broken"]).last().unwrap().clone();
    assert!(broken.starts_with("m3 BAD"), "{broken}");
    // Neither the refused nor the broken MULTIAPPEND stored anything.
    assert_eq!(strings(&r["after"])[0], "* SEARCH 1 2 3 4");
    let fetched = strings(&r["fetched"]);
    let year = r["year"].as_str().unwrap();
    assert!(fetched[0].contains("FLAGS (\\Seen"), "{fetched:?}");
    assert!(fetched[1].contains("FLAGS (\\Flagged"), "{fetched:?}");
    // The first message was given an INTERNALDATE, the second was not.
    assert!(
        fetched[0].contains("INTERNALDATE \"01-Jan-2020 10:00:00 +0000\""),
        "{fetched:?}"
    );
    for line in &fetched[..2] {
        assert!(
            line.contains("SAVEDATE \"") && line.contains(&format!("-{year} ")),
            "saved this year: {line}"
        );
    }
    assert!(
        fetched[0].contains("PREVIEW \"Hello Bob, see you\""),
        "{fetched:?}"
    );
    assert!(
        fetched[1].contains("PREVIEW {") && fetched[1].ends_with("안녕하세요 팀)"),
        "{fetched:?}"
    );
    assert!(
        strings(&r["lazy"])[0].contains("PREVIEW \"Hello Bob, see you\""),
        "{}",
        r["lazy"]
    );
    assert_eq!(strings(&r["since"])[0], "* SEARCH 1 2 3 4");
    assert_eq!(strings(&r["before"])[0], "* SEARCH");
    assert_eq!(strings(&r["old"])[0], "* SEARCH 3");
    assert_eq!(strings(&r["supported"])[0], "* SEARCH 1 2 3 4");
    let caps = strings(&r["caps"])[0].clone();
    for cap in ["MULTIAPPEND", "SAVEDATE", "PREVIEW"] {
        assert!(caps.split(' ').any(|c| c == cap), "{cap} in {caps}");
    }
}

fn metadata_on_the_server_and_on_mailboxes(profile: Profile) {
    let (site, server) = site_with_mail(profile, 1);
    let r = run_raw(
        &site,
        &server,
        r#"
c = session()
out = {}
out["set"] = c.cmd('SETMETADATA INBOX (/private/comment "My inbox" /shared/vendor/x/Flag "1")')
out["one"] = c.cmd("GETMETADATA INBOX /private/comment")
out["many"] = c.cmd("GETMETADATA INBOX (/private/comment /shared/vendor/x/flag /private/missing)")
out["tree"] = c.cmd("GETMETADATA (DEPTH infinity) INBOX /shared")
out["shallow"] = c.cmd("GETMETADATA (DEPTH 1) INBOX /shared/vendor")
out["maxsize"] = c.cmd("GETMETADATA (MAXSIZE 3) INBOX /private/comment")
out["admin"] = c.cmd('GETMETADATA "" /shared/admin')
out["noperm"] = c.cmd('SETMETADATA "" (/shared/admin "mailto:me@example.org")')
out["private_server"] = c.cmd('SETMETADATA "" (/private/vendor/client/setting "on")')
out["private_server_get"] = c.cmd('GETMETADATA "" /private/vendor/client/setting')
value = b"line one\r\nline two"
c.send(b'l1 SETMETADATA INBOX (/private/multi {%d+}\r\n' % len(value) + value + b")\r\n")
out["literal"] = c._until_tagged("l1")
out["literal_get"] = c.cmd("GETMETADATA INBOX /private/multi")
big = b"x" * 70000
c.send(b'l2 SETMETADATA INBOX (/private/big {%d+}\r\n' % len(big) + big + b")\r\n")
out["big"] = c._until_tagged("l2")
many = " ".join('/private/n%d "v"' % i for i in range(201))
out["toomany"] = c.cmd("SETMETADATA INBOX (" + many + ")")
out["bad"] = c.cmd("GETMETADATA INBOX /comment")
out["nobox"] = c.cmd("GETMETADATA Nowhere /private/comment")
c.cmd("CREATE Work")
c.cmd('SETMETADATA Work (/private/comment "work")')
c.cmd("RENAME Work Job")
out["renamed"] = c.cmd("GETMETADATA Job /private/comment")
c.cmd("DELETE Job")
c.cmd("CREATE Job")
out["recreated"] = c.cmd("GETMETADATA Job /private/comment")
out["unset"] = c.cmd("SETMETADATA INBOX (/private/comment NIL)")
other = session()
out["other"] = other.cmd("GETMETADATA INBOX (/private/comment /shared/vendor/x/flag)")
out["caps"] = c.cmd("CAPABILITY")
print(json.dumps(out))
"#,
    );
    let lines = |k: &str| strings(&r[k]);
    let last = |k: &str| lines(k).last().cloned().unwrap_or_default();
    assert!(last("set").contains("OK"), "{r}");
    assert_eq!(
        lines("one")[0],
        "* METADATA \"INBOX\" (/private/comment \"My inbox\")"
    );
    // Names are case-insensitive and kept in lower case; a missing entry comes back NIL.
    assert_eq!(
        lines("many")[0],
        "* METADATA \"INBOX\" (/private/comment \"My inbox\" /shared/vendor/x/flag \"1\" /private/missing NIL)"
    );
    assert_eq!(
        lines("tree")[0],
        "* METADATA \"INBOX\" (/shared/vendor/x/flag \"1\" /shared NIL)"
    );
    // DEPTH 1 reaches only entries directly below /shared/vendor.
    assert_eq!(
        lines("shallow")[0],
        "* METADATA \"INBOX\" (/shared/vendor NIL)"
    );
    assert!(
        last("maxsize").contains("OK [METADATA LONGENTRIES 8]"),
        "{r}"
    );
    assert_eq!(lines("maxsize").len(), 1, "the long entry is left out: {r}");
    assert_eq!(
        lines("admin")[0],
        "* METADATA \"\" (/shared/admin \"mailto:postmaster@example.org\")"
    );
    assert!(last("noperm").contains("NO [NOPERM]"), "{r}");
    assert!(last("private_server").contains("OK"), "{r}");
    assert_eq!(
        lines("private_server_get")[0],
        "* METADATA \"\" (/private/vendor/client/setting \"on\")"
    );
    assert!(last("literal").contains("OK"), "{r}");
    let literal = lines("literal_get").join("\n");
    assert!(literal.contains("/private/multi {18}"), "{literal}");
    assert!(last("big").contains("NO [METADATA MAXSIZE 65536]"), "{r}");
    assert!(last("toomany").contains("NO [METADATA TOOMANY]"), "{r}");
    assert!(last("bad").contains("BAD"), "{r}");
    assert!(last("nobox").contains("NO [NONEXISTENT]"), "{r}");
    // Annotations follow a RENAME and go with a DELETE.
    assert_eq!(
        lines("renamed")[0],
        "* METADATA \"Job\" (/private/comment \"work\")"
    );
    assert_eq!(
        lines("recreated")[0],
        "* METADATA \"Job\" (/private/comment NIL)"
    );
    // Another session of the user sees the same entries (and the removal).
    assert!(last("unset").contains("OK"), "{r}");
    assert_eq!(
        lines("other")[0],
        "* METADATA \"INBOX\" (/shared/vendor/x/flag \"1\" /private/comment NIL)"
    );
    assert!(lines("caps")[0].contains(" METADATA"), "{r}");
}

fn replies_share_a_threadid_across_mailboxes(profile: Profile) {
    let (site, server) = site_with_mail(profile, 0);
    let send = |id: &str, extra: &str| {
        let body = format!(
            "From: bob@remote.test\r\nTo: alice@example.org\r\nSubject: plan\r\nMessage-ID: <{id}>\r\n{extra}\r\nhi\r\n"
        );
        let r = baedal_tests::smtp::send(
            server.addr("smtp"),
            "bob@remote.test",
            &["alice@example.org"],
            body.as_bytes(),
            &[],
        );
        baedal_tests::smtp::assert_reply(&r["data"], 250, "2.0.0");
    };
    send("root@remote.test", "");
    send("reply@remote.test", "In-Reply-To: <root@remote.test>\r\n");
    send("other@remote.test", "References: <nobody@remote.test>\r\n");
    let r = run_raw(
        &site,
        &server,
        r#"
import re
c = session()
d = b"Subject: Re: plan\r\nMessage-ID: <mine@example.org>\r\nReferences: <root@remote.test> <reply@remote.test>\r\n\r\nok\r\n"
c.send(b"a1 APPEND Sent {%d+}\r\n" % len(d) + d + b"\r\n")
appended = c._until_tagged("a1")
inbox = c.cmd("UID FETCH 1:* (THREADID)")
c.cmd("COPY 3 Archive")
t1 = re.search(r"THREADID \(([^)\s]+)\)", inbox[0]).group(1)
found = c.cmd("UID SEARCH THREADID " + t1)
none = c.cmd("UID SEARCH THREADID T999999999")
c.cmd("SELECT Sent")
sent = c.cmd("UID FETCH 1 (THREADID)")
c.cmd("SELECT Archive")
archived = c.cmd("UID FETCH 1 (THREADID)")
print(json.dumps({"appended": appended, "inbox": inbox, "found": found, "none": none,
    "sent": sent, "archived": archived}))
"#,
    );
    let thread = |v: &serde_json::Value, i: usize| {
        let line = strings(v)[i].clone();
        line.split("THREADID (")
            .nth(1)
            .and_then(|t| t.split(')').next())
            .unwrap_or_else(|| panic!("no THREADID in {line}"))
            .to_string()
    };
    assert!(
        strings(&r["appended"]).last().unwrap().contains("OK"),
        "{r}"
    );
    let (root, reply, other) = (
        thread(&r["inbox"], 0),
        thread(&r["inbox"], 1),
        thread(&r["inbox"], 2),
    );
    assert_eq!(root, reply, "a reply joins its parent's thread: {r}");
    assert_ne!(root, other, "an unrelated message has its own: {r}");
    // A reply appended to Sent joins the thread of the INBOX messages it refers to.
    assert_eq!(thread(&r["sent"], 0), root, "{r}");
    // COPY keeps the thread.
    assert_eq!(thread(&r["archived"], 0), other, "{r}");
    assert_eq!(strings(&r["found"])[0], "* SEARCH 1 2");
    assert_eq!(strings(&r["none"])[0], "* SEARCH");
}

fn uidonly_sessions_see_uids_and_vanished_only(profile: Profile) {
    let (site, server) = site_with_mail(profile, 3);
    let r = run_raw(
        &site,
        &server,
        r#"
c = session()
out = {}
out["caps"] = c.cmd("CAPABILITY")
out["enable"] = c.cmd("ENABLE UIDONLY")
out["seq_fetch"] = c.cmd("FETCH 1 (FLAGS)")
out["seq_key"] = c.cmd("UID SEARCH 1:2")
out["seq_search"] = c.cmd("SEARCH ALL")
out["seq_copy"] = c.cmd("COPY 1 Archive")
out["seq_sort"] = c.cmd("SORT (DATE) UTF-8 ALL")
out["fetch"] = c.cmd("UID FETCH 1:* (UID FLAGS)")
out["store"] = c.cmd("UID STORE 2 +FLAGS (\\Seen)")
out["search"] = c.cmd("UID SEARCH ALL")
out["copy"] = c.cmd("UID COPY 1 Archive")
other = session()
other.cmd("UID STORE 1 +FLAGS (\\Flagged)")
other.cmd("UID STORE 3 +FLAGS (\\Deleted)")
other.cmd("EXPUNGE")
out["noop"] = c.cmd("NOOP")
out["other_fetch"] = other.cmd("FETCH 1 (UID)")
print(json.dumps(out))
"#,
    );
    let lines = |k: &str| strings(&r[k]);
    let last = |k: &str| lines(k).last().cloned().unwrap_or_default();
    assert!(lines("caps")[0].contains(" UIDONLY"), "{r}");
    assert_eq!(lines("enable")[0], "* ENABLED UIDONLY");
    for k in ["seq_fetch", "seq_key", "seq_search", "seq_copy", "seq_sort"] {
        assert!(last(k).contains("BAD [UIDREQUIRED]"), "{k}: {r}");
    }
    let fetch = lines("fetch");
    assert!(fetch[0].starts_with("* 1 UIDFETCH (FLAGS ("), "{fetch:?}");
    assert!(fetch[2].starts_with("* 3 UIDFETCH (FLAGS ("), "{fetch:?}");
    assert!(
        !fetch
            .iter()
            .any(|l| l.starts_with('*') && (l.contains(" FETCH ") || l.contains("UID 1"))),
        "{fetch:?}"
    );
    assert!(
        lines("store")[0].starts_with("* 2 UIDFETCH (FLAGS (\\Seen"),
        "{r}"
    );
    assert_eq!(lines("search")[0], "* SEARCH 1 2 3");
    assert!(last("copy").contains("OK"), "{r}");
    // Another session's expunge and flag change: VANISHED and UIDFETCH, never EXPUNGE.
    let noop = lines("noop");
    assert!(noop.contains(&"* VANISHED 3".to_string()), "{noop:?}");
    assert!(
        noop.iter()
            .any(|l| l.starts_with("* 1 UIDFETCH (FLAGS (") && l.contains("\\Flagged")),
        "{noop:?}"
    );
    assert!(!noop.iter().any(|l| l.contains("EXPUNGE")), "{noop:?}");
    // A session that did not enable it keeps sequence numbers.
    assert_eq!(lines("other_fetch")[0], "* 1 FETCH (UID 1)");
}

fn catenate_builds_a_message_from_text_and_urls(profile: Profile) {
    let (site, server) = site_with_mail(profile, 2);
    let r = run_raw(
        &site,
        &server,
        r#"
import re
c = session()
out = {}
status = c.cmd("STATUS INBOX (UIDVALIDITY)")
v = int(re.search(r"UIDVALIDITY (\d+)", status[0]).group(1))
text = b"From: alice@example.org\r\nSubject: forwarded\r\n\r\nSee below:\r\n"
c.send(b"c1 APPEND Drafts (\\Draft) CATENATE (TEXT {%d+}\r\n" % len(text) + text
       + b' URL "/INBOX;UIDVALIDITY=%d/;UID=1/;SECTION=TEXT"' % v
       + b" URL /INBOX/;UID=2/;PARTIAL=0.12)\r\n")
out["append"] = c._until_tagged("c1")
c.send(b"c2 APPEND Drafts CATENATE (TEXT {5}\r\n")
out["continuation"] = c.line()
c.send(b"x: y\n)\r\n")
out["sync"] = c._until_tagged("c2")
out["bad_uid"] = c.cmd('APPEND Drafts CATENATE (URL "/INBOX/;UID=99")')
out["bad_validity"] = c.cmd('APPEND Drafts CATENATE (URL "/INBOX;UIDVALIDITY=%d/;UID=1")' % (v + 1))
out["bad_box"] = c.cmd('APPEND Drafts CATENATE (URL "/Nowhere/;UID=1")')
c.cmd("SELECT Drafts")
out["fetch"] = c.cmd("FETCH 1:* (FLAGS BODY.PEEK[])")
out["caps"] = c.cmd("CAPABILITY")
print(json.dumps(out))
"#,
    );
    let lines = |k: &str| strings(&r[k]);
    let last = |k: &str| lines(k).last().cloned().unwrap_or_default();
    assert!(last("append").contains("OK [APPENDUID"), "{r}");
    // A synchronizing literal inside CATENATE gets its continuation.
    assert!(r["continuation"].as_str().unwrap().starts_with('+'), "{r}");
    assert!(last("sync").contains("OK [APPENDUID"), "{r}");
    for k in ["bad_uid", "bad_validity", "bad_box"] {
        assert!(last(k).contains("NO [BADURL /"), "{k}: {r}");
    }
    let fetched = lines("fetch").join("\n");
    let expected = "From: alice@example.org\r\nSubject: forwarded\r\n\r\nSee below:\r\nbody of message 1\r\nReturn-Path:";
    assert!(
        fetched.contains(&format!("BODY[] {{{}}}", expected.len())),
        "{fetched}"
    );
    assert!(fetched.contains("\\Draft"), "{fetched}");
    assert_eq!(
        lines("fetch")
            .iter()
            .filter(|l| l.starts_with("* ") && l.contains(" FETCH "))
            .count(),
        2,
        "only the good APPENDs stored: {fetched}"
    );
    assert!(lines("caps")[0].contains(" CATENATE"), "{r}");
}
