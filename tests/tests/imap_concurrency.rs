//! IMAP with several sessions on one mailbox, as a desktop, a phone and webmail are: every
//! change reaches every session, nothing one session does undoes another's, and the rules of
//! RFC 3501 a client builds its cache on hold (UIDVALIDITY, EXPUNGE timing, FLAGS). The
//! clients are raw TLS sockets (tests/clients/imap_raw.py), so the order of responses is
//! checked as sent.

use baedal_tests::imap::site_with_mail;
use baedal_tests::imap::strings;
use baedal_tests::{Profile, Server, Site, on_both_profiles};
use serde_json::Value;

on_both_profiles!(
    concurrent_flag_changes_are_never_lost,
    uidvalidity_never_repeats_for_a_name,
    an_expunged_message_stays_fetchable_until_the_session_is_told,
    appends_copies_and_moves_are_announced_to_every_session,
    expunge_reports_what_another_session_expunged_first,
    a_new_keyword_is_announced_in_flags_before_it_is_shown,
    subscriptions_are_names_not_mailboxes,
);

fn run(site: &Site, server: &Server, body: &str) -> Value {
    baedal_tests::imap::run_raw(site, server, body)
}

/// Defect 1: `+FLAGS` and `-FLAGS` are set operations on the stored flags, not on a
/// session's stale copy; two sessions hammering one message both keep every change.
fn concurrent_flag_changes_are_never_lost(profile: Profile) {
    let (site, server) = site_with_mail(profile, 1);
    let r = run(
        &site,
        &server,
        r#"
one = session(); two = session()
one.cmd(r"STORE 1 +FLAGS (\Seen)")
two.cmd("NOOP")
answered = one.cmd(r"STORE 1 +FLAGS (\Answered)")
unseen = two.cmd(r"STORE 1 -FLAGS (\Seen)")
fresh = session().cmd("FETCH 1 (FLAGS)")
# Two sessions at once, each adding and removing its own keywords 40 times on message 1.
def hammer(c, prefix, out):
    for i in range(40):
        c.cmd(f"STORE 1 +FLAGS ({prefix}{i})")
        if i % 2:
            c.cmd(f"STORE 1 -FLAGS ({prefix}{i})")
    out.append(True)
done = []
threads = [threading.Thread(target=hammer, args=(c, p, done)) for c, p in ((one, "$A"), (two, "$B"))]
for t in threads: t.start()
for t in threads: t.join()
final = session().cmd("FETCH 1 (FLAGS)")
print(json.dumps({"answered": answered, "unseen": unseen, "fresh": fresh, "final": final, "done": len(done)}))
"#,
    );
    assert_eq!(tagged_status(&r["unseen"]), "OK");
    let unseen = strings(&r["unseen"]).join("\n");
    assert!(
        unseen.contains("* 1 FETCH (FLAGS (\\Answered") && !unseen.contains("\\Seen"),
        "the other session's \\Answered survives: {unseen}"
    );
    let fresh = strings(&r["fresh"])[0].clone();
    assert!(fresh.starts_with("* 1 FETCH (FLAGS (\\Answered"), "{fresh}");
    assert_eq!(r["done"], 2);
    let final_flags = strings(&r["final"])[0].clone();
    for prefix in ["$A", "$B"] {
        for i in 0..40 {
            let flag = format!("{prefix}{i}");
            let present = final_flags.split([' ', '(', ')']).any(|f| f == flag);
            assert_eq!(present, i % 2 == 0, "{flag} in {final_flags}");
        }
    }
}

fn tagged_status(lines: &Value) -> String {
    let last = strings(lines).pop().unwrap_or_default();
    last.split(' ').nth(1).unwrap_or_default().to_string()
}

/// Defect 2: a mailbox deleted and created again under the same name, in the same second or
/// after a restart, never gets a UIDVALIDITY it had before (RFC 3501 §2.3.1.1).
fn uidvalidity_never_repeats_for_a_name(profile: Profile) {
    let (site, server) = site_with_mail(profile, 0);
    let script = r#"
c = session(select=None)
values = []
for _ in range(3):
    assert tagged(c.cmd("CREATE Reports"))[0] == "OK"
    status = c.cmd("STATUS Reports (UIDVALIDITY)")[0]
    values.append(int(status.split("UIDVALIDITY ")[1].rstrip(")")))
    assert tagged(c.cmd("DELETE Reports"))[0] == "OK"
print(json.dumps({"values": values}))
"#;
    let before = run(&site, &server, script);
    drop(server);
    let server = site.serve();
    let after = run(&site, &server, script);
    let mut all: Vec<i64> = before["values"]
        .as_array()
        .unwrap()
        .iter()
        .chain(after["values"].as_array().unwrap())
        .map(|v| v.as_i64().unwrap())
        .collect();
    let count = all.len();
    assert_eq!(count, 6);
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), count, "a UIDVALIDITY repeated: {before} {after}");
    assert!(all.iter().all(|v| *v > 0 && *v <= i64::from(u32::MAX)));
}

/// Defect 3: until a session is told of an expunge, its messages keep their sequence
/// numbers and bodies (RFC 3501 §7.4.1: no EXPUNGE during FETCH); NOOP then tells it.
fn an_expunged_message_stays_fetchable_until_the_session_is_told(profile: Profile) {
    let (site, server) = site_with_mail(profile, 2);
    let r = run(
        &site,
        &server,
        r#"
desktop = session(); phone = session()
phone.cmd(r"STORE 1 +FLAGS (\Deleted)")
phone_expunge = phone.cmd("EXPUNGE")
body = desktop.cmd("FETCH 1 (UID BODY.PEEK[])")
envelope = desktop.cmd("FETCH 1 (ENVELOPE)")
noop = desktop.cmd("NOOP")
after = desktop.cmd("FETCH 1 (UID)")
print(json.dumps({"phone": phone_expunge, "body": body, "envelope": envelope, "noop": noop, "after": after}))
"#,
    );
    assert_eq!(untagged_count(&r["phone"], "EXPUNGE"), 1, "{}", r["phone"]);
    let body = strings(&r["body"]);
    assert_eq!(tagged_status(&r["body"]), "OK", "{body:?}");
    assert!(
        body[0].starts_with("* 1 FETCH (UID 1 BODY[] {") && body[0].contains("body of message 1"),
        "{body:?}"
    );
    assert_eq!(
        untagged_count(&r["body"], "EXPUNGE"),
        0,
        "no EXPUNGE during FETCH"
    );
    assert!(
        strings(&r["envelope"])[0].contains("\"message 1\""),
        "{}",
        r["envelope"]
    );
    assert_eq!(strings(&r["noop"])[0], "* 1 EXPUNGE", "{}", r["noop"]);
    assert_eq!(strings(&r["after"])[0], "* 1 FETCH (UID 2)");
}

fn untagged_count(lines: &Value, kind: &str) -> usize {
    strings(lines)
        .iter()
        .filter(|l| l.starts_with("* ") && l.split(' ').nth(2) == Some(kind))
        .count()
}

/// Defect 4: the session's own APPEND, COPY and MOVE into its selected mailbox, and another
/// session's APPEND, are announced with EXISTS before the tagged OK, so the next FETCH
/// finds the message; a MOVE out is announced with EXPUNGE.
fn appends_copies_and_moves_are_announced_to_every_session(profile: Profile) {
    let (site, server) = site_with_mail(profile, 1);
    let r = run(
        &site,
        &server,
        r#"
a = session(); b = session()
append = a.append("INBOX", "Subject: appended\r\n\r\nhello\r\n", r"\Seen")
fetch_new = a.cmd("FETCH 2 (UID FLAGS)")
copy = a.cmd("COPY 1 INBOX")
other = b.append("INBOX", "Subject: from b\r\n\r\nhi\r\n")
a_noop = a.cmd("NOOP")
move = a.cmd("MOVE 1 Archive")
b_noop = b.cmd("NOOP")
b_fetch = b.cmd("FETCH 1:* (UID)")
print(json.dumps({"append": append, "fetch_new": fetch_new, "copy": copy, "other": other,
  "a_noop": a_noop, "move": move, "b_noop": b_noop, "b_fetch": b_fetch}))
"#,
    );
    let append = strings(&r["append"]);
    assert!(append.contains(&"* 2 EXISTS".to_string()), "{append:?}");
    assert!(append.last().unwrap().contains("[APPENDUID "), "{append:?}");
    assert_eq!(
        strings(&r["fetch_new"])[0],
        "* 2 FETCH (UID 2 FLAGS (\\Seen \\Recent))"
    );
    assert!(
        strings(&r["copy"]).contains(&"* 3 EXISTS".to_string()),
        "{}",
        r["copy"]
    );
    assert!(
        strings(&r["other"]).contains(&"* 4 EXISTS".to_string()),
        "b appends to the mailbox it has selected: {}",
        r["other"]
    );
    assert!(
        strings(&r["a_noop"]).contains(&"* 4 EXISTS".to_string()),
        "{}",
        r["a_noop"]
    );
    let moved = strings(&r["move"]);
    assert!(moved[0].starts_with("* OK [COPYUID "), "{moved:?}");
    assert_eq!(moved[1], "* 1 EXPUNGE", "{moved:?}");
    assert_eq!(strings(&r["b_noop"])[0], "* 1 EXPUNGE", "{}", r["b_noop"]);
    assert_eq!(
        strings(&r["b_fetch"])[..3],
        [
            "* 1 FETCH (UID 2)",
            "* 2 FETCH (UID 3)",
            "* 3 FETCH (UID 4)"
        ]
    );
}

/// Defect 4, second part: EXPUNGE tells the session of every message gone, also those
/// another session expunged before it.
fn expunge_reports_what_another_session_expunged_first(profile: Profile) {
    let (site, server) = site_with_mail(profile, 3);
    let r = run(
        &site,
        &server,
        r#"
a = session(); b = session()
a.cmd(r"STORE 2 +FLAGS (\Deleted)")
b.cmd("NOOP")
a_expunge = a.cmd("EXPUNGE")
b_expunge = b.cmd("EXPUNGE")
b_after = b.cmd("FETCH 1:* (UID)")
print(json.dumps({"a": a_expunge, "b": b_expunge, "b_after": b_after}))
"#,
    );
    assert_eq!(strings(&r["a"])[0], "* 2 EXPUNGE");
    assert_eq!(strings(&r["b"])[0], "* 2 EXPUNGE", "{}", r["b"]);
    assert_eq!(
        strings(&r["b_after"])[..2],
        ["* 1 FETCH (UID 1)", "* 2 FETCH (UID 3)"]
    );
}

/// Defect 5: a keyword new to a session comes in a `* FLAGS` (and PERMANENTFLAGS) before any
/// FETCH shows it (RFC 3501 §7.2.6); SELECT lists the keywords in use.
fn a_new_keyword_is_announced_in_flags_before_it_is_shown(profile: Profile) {
    let (site, server) = site_with_mail(profile, 1);
    let r = run(
        &site,
        &server,
        r#"
a = session(); b = session()
b_store = b.cmd("STORE 1 +FLAGS ($Label1)")
a_noop = a.cmd("NOOP")
own = a.cmd("STORE 1 +FLAGS ($Work)")
check = a.cmd("CHECK")
select = session(select=None).cmd("SELECT INBOX")
print(json.dumps({"b_store": b_store, "a_noop": a_noop, "own": own, "select": select, "check": check}))
"#,
    );
    for key in ["b_store", "a_noop"] {
        let lines = strings(&r[key]);
        assert!(
            lines[0].starts_with("* FLAGS (") && lines[0].contains("$Label1"),
            "{lines:?}"
        );
        assert!(
            lines[1].starts_with("* OK [PERMANENTFLAGS (") && lines[1].contains("$Label1"),
            "{lines:?}"
        );
        assert!(
            lines[2].starts_with("* 1 FETCH (") && lines[2].contains("$Label1"),
            "{lines:?}"
        );
    }
    let own = strings(&r["own"]);
    assert!(
        own[0].starts_with("* FLAGS (") && own[0].contains("$Work"),
        "{own:?}"
    );
    let select = strings(&r["select"]);
    assert!(
        select[0].starts_with("* FLAGS (") && select[0].contains("$Label1 $Work"),
        "{select:?}"
    );
    assert_eq!(
        strings(&r["check"])
            .last()
            .unwrap()
            .split_once(' ')
            .unwrap()
            .1,
        "OK CHECK completed"
    );
}

/// Defect 11: CREATE subscribes nothing; a subscription outlives its mailbox; LSUB and
/// LIST-EXTENDED show parents and deleted names as RFC 3501 §6.3.9 and RFC 5258 say.
fn subscriptions_are_names_not_mailboxes(profile: Profile) {
    let (site, server) = site_with_mail(profile, 0);
    let r = run(
        &site,
        &server,
        r#"
c = session(select=None)
c.cmd("CREATE Projects/2026")
lsub_new = c.cmd('LSUB "" "Projects*"')
c.cmd("SUBSCRIBE Projects/2026")
lsub_parent = c.cmd('LSUB "" "%"')
c.cmd("CREATE Old"); c.cmd("SUBSCRIBE Old"); c.cmd("DELETE Old")
subscribed = c.cmd('LIST (SUBSCRIBED) "" "*"')
recursive = c.cmd('LIST (SUBSCRIBED RECURSIVEMATCH) "" "%"')
bad = c.cmd('LIST (RECURSIVEMATCH) "" "%"')
unsub_gone = c.cmd("UNSUBSCRIBE Old")
unsub_never = c.cmd("UNSUBSCRIBE Never")
after = c.cmd('LIST (SUBSCRIBED) "" "Old"')
print(json.dumps({"lsub_new": lsub_new, "lsub_parent": lsub_parent, "subscribed": subscribed,
  "recursive": recursive, "bad": bad, "unsub_gone": unsub_gone, "unsub_never": unsub_never, "after": after}))
"#,
    );
    assert_eq!(
        strings(&r["lsub_new"]).len(),
        1,
        "CREATE subscribed: {}",
        r["lsub_new"]
    );
    let parent = strings(&r["lsub_parent"]);
    assert!(
        parent.contains(&"* LSUB (\\Noselect) \"/\" \"Projects\"".to_string()),
        "{parent:?}"
    );
    assert!(
        parent.contains(&"* LSUB (\\HasNoChildren) \"/\" \"INBOX\"".to_string()),
        "{parent:?}"
    );
    let subscribed = strings(&r["subscribed"]);
    assert!(
        subscribed.contains(&"* LIST (\\NonExistent \\Subscribed) \"/\" \"Old\"".to_string()),
        "{subscribed:?}"
    );
    assert!(
        subscribed
            .contains(&"* LIST (\\HasNoChildren \\Subscribed) \"/\" \"Projects/2026\"".to_string()),
        "{subscribed:?}"
    );
    assert!(
        !subscribed.iter().any(|l| l.ends_with("\"Projects\"")),
        "{subscribed:?}"
    );
    let recursive = strings(&r["recursive"]);
    assert!(
        recursive.contains(
            &"* LIST (\\HasChildren) \"/\" \"Projects\" (\"CHILDINFO\" (\"SUBSCRIBED\"))"
                .to_string()
        ),
        "{recursive:?}"
    );
    assert_eq!(tagged_status(&r["bad"]), "BAD");
    assert_eq!(tagged_status(&r["unsub_gone"]), "OK");
    assert_eq!(tagged_status(&r["unsub_never"]), "OK");
    assert_eq!(strings(&r["after"]).len(), 1, "{}", r["after"]);
}
