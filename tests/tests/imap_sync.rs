//! CONDSTORE and QRESYNC (RFC 7162) as clients resynchronise: several sessions change flags
//! and expunge, and a session coming back with `SELECT … (QRESYNC (v m))` is told exactly
//! what changed; `STORE (UNCHANGEDSINCE)` loses no concurrent change; every change raises
//! HIGHESTMODSEQ. Raw clients (tests/clients/imap_raw.py) see the responses in order.

use baedal_tests::imap::{deliver, run_raw, site_with_mail, strings};
use baedal_tests::{Profile, Site, on_both_profiles};
use serde_json::Value;

on_both_profiles!(
    a_qresync_select_returns_exactly_what_changed,
    unchangedsince_against_a_concurrent_change_is_modified,
    every_change_raises_highestmodseq_and_changedsince_sees_it,
    vanished_replaces_expunge_once_qresync_is_enabled,
    esearch_searchres_sort_and_thread_answer_from_the_index,
    replayed_thunderbird_and_ios_sessions_with_compress_and_condstore,
    a_resync_from_before_the_pruned_history_gets_every_gone_uid,
);

/// Python helpers every script here uses.
const HELPERS: &str = r#"
import re
def code(lines, name):
    for l in lines:
        m = re.search(r"\[" + name + r" ([^\]]*)\]", l)
        if m: return m.group(1)
    return None
def fetches(lines):
    """{uid: (flags, modseq)} of the untagged FETCH responses."""
    out = {}
    for l in lines:
        if " FETCH (" in l and l.startswith("* "):
            uid = int(re.search(r"UID (\d+)", l).group(1))
            flags = re.search(r"FLAGS \(([^)]*)\)", l)
            modseq = re.search(r"MODSEQ \((\d+)\)", l)
            out[uid] = (flags.group(1) if flags else None, int(modseq.group(1)) if modseq else None)
    return out
def starting(lines, prefix):
    return [l for l in lines if l.startswith(prefix)]
"#;

fn run(site: &baedal_tests::Site, server: &baedal_tests::Server, body: &str) -> Value {
    run_raw(site, server, &format!("{HELPERS}\n{body}"))
}

/// The resync Thunderbird and K-9 do at every reconnect: after two other sessions changed
/// flags and expunged, `SELECT INBOX (QRESYNC (v m))` returns the changed FETCHes and the
/// `VANISHED (EARLIER)` set, nothing else; with known UIDs, only those.
fn a_qresync_select_returns_exactly_what_changed(profile: Profile) {
    let (site, server) = site_with_mail(profile, 8);
    let r = run(
        &site,
        &server,
        r#"
c = session(select=None)
assert tagged(c.cmd("ENABLE QRESYNC"))[0] == "OK"
first = c.cmd("SELECT INBOX")
v, m = int(code(first, "UIDVALIDITY")), int(code(first, "HIGHESTMODSEQ"))
c.close()
desk, phone = session(), session()
desk.cmd(r"STORE 2 +FLAGS (\Seen)")
phone.cmd(r"STORE 4 +FLAGS ($Label1)")
phone.cmd(r"STORE 3,5 +FLAGS (\Deleted)")
assert tagged(phone.cmd("EXPUNGE"))[0] == "OK"
desk.cmd(r"UID STORE 8 +FLAGS (\Flagged)")
assert tagged(desk.cmd("UID EXPUNGE 8"))[0] == "OK"   # not \Deleted: stays
desk.cmd("UID STORE 7 +FLAGS (\\Deleted)")
desk.cmd("UID EXPUNGE 7")
back = session(select=None)
back.cmd("ENABLE QRESYNC")
resync = back.cmd(f"SELECT INBOX (QRESYNC ({v} {m}))")
known = session(select=None); known.cmd("ENABLE QRESYNC")
limited = known.cmd(f"SELECT INBOX (QRESYNC ({v} {m} 1:4))")
wrong = session(select=None); wrong.cmd("ENABLE QRESYNC")
other_validity = wrong.cmd(f"SELECT INBOX (QRESYNC ({v + 1} {m}))")
plain = session(select=None)
not_enabled = plain.cmd(f"SELECT INBOX (QRESYNC ({v} {m}))")
print(json.dumps({"resync": resync, "limited": limited, "other": other_validity,
    "not_enabled": not_enabled, "m": m,
    "fetches": {str(k): v for k, v in fetches(resync).items()},
    "limited_fetches": sorted(fetches(limited))}))
"#,
    );
    let resync = strings(&r["resync"]);
    let vanished: Vec<&String> = resync
        .iter()
        .filter(|l| l.starts_with("* VANISHED"))
        .collect();
    assert_eq!(
        vanished,
        ["* VANISHED (EARLIER) 3,5,7"],
        "{}",
        resync.join("\n")
    );
    let fetches = r["fetches"].as_object().expect("fetches");
    let uids: Vec<&str> = fetches.keys().map(String::as_str).collect();
    assert_eq!(
        uids,
        ["2", "4", "8"],
        "only the changed messages: {resync:?}"
    );
    assert_eq!(fetches["2"][0], "\\Seen");
    assert_eq!(fetches["4"][0], "$Label1");
    assert_eq!(fetches["8"][0], "\\Flagged");
    let m = r["m"].as_i64().expect("modseq");
    for (uid, f) in fetches {
        assert!(f[1].as_i64().expect("MODSEQ") > m, "{uid}: {f}");
    }
    // The VANISHED comes before the FETCHes, after the usual SELECT responses.
    let at = |prefix: &str| resync.iter().position(|l| l.starts_with(prefix)).unwrap();
    assert!(at("* OK [HIGHESTMODSEQ") < at("* VANISHED") && at("* VANISHED") < at("* 2 FETCH"));
    let limited = strings(&r["limited"]);
    assert!(
        limited.contains(&"* VANISHED (EARLIER) 3".to_string()),
        "{limited:?}"
    );
    assert_eq!(r["limited_fetches"], serde_json::json!([2, 4]));
    let other = strings(&r["other"]);
    assert!(
        !other
            .iter()
            .any(|l| l.starts_with("* VANISHED") || l.contains("FETCH")),
        "another UIDVALIDITY: a plain SELECT: {other:?}"
    );
    assert!(
        strings(&r["not_enabled"]).last().unwrap().split(' ').nth(1) == Some("BAD"),
        "{}",
        r["not_enabled"]
    );
}

/// RFC 7162 §3.1.3: a conditional STORE against a message another session changed since
/// the modseq given is refused for that message and reported in `[MODIFIED]`; the others
/// are stored, each FETCH with its MODSEQ, and the other session's change survives.
fn unchangedsince_against_a_concurrent_change_is_modified(profile: Profile) {
    let (site, server) = site_with_mail(profile, 3);
    let r = run(
        &site,
        &server,
        r#"
a, b = session(), session()
before = fetches(a.cmd("FETCH 1:3 (UID MODSEQ)"))
m1 = max(before[1][1], before[2][1])
b.cmd(r"STORE 1 +FLAGS (\Flagged)")
conditional = a.cmd(f"STORE 1:2 (UNCHANGEDSINCE {m1}) +FLAGS (\\Seen)")
uid_conditional = a.cmd(f"UID STORE 3 (UNCHANGEDSINCE {before[3][1]}) +FLAGS.SILENT (\\Answered)")
after = a.cmd("FETCH 1:3 (FLAGS MODSEQ)")
print(json.dumps({"conditional": conditional, "uid": uid_conditional, "after": after, "m1": m1}))
"#,
    );
    let conditional = strings(&r["conditional"]);
    let done = conditional.last().unwrap();
    assert!(done.contains("OK [MODIFIED 1]"), "{conditional:?}");
    let line = |lines: &[String], prefix: &str| {
        lines
            .iter()
            .find(|l| l.starts_with(prefix))
            .cloned()
            .unwrap_or_else(|| panic!("no {prefix} in {lines:?}"))
    };
    let two = line(&conditional, "* 2 FETCH (FLAGS (");
    assert!(two.contains("\\Seen") && two.contains(" MODSEQ ("), "{two}");
    // Message 1 was not stored; the announcement tells the other session's change.
    let one = line(&conditional, "* 1 FETCH (");
    assert!(
        one.contains("\\Flagged") && !one.contains("\\Seen"),
        "{one}"
    );
    let uid = strings(&r["uid"]);
    assert!(
        uid.iter()
            .any(|l| l.starts_with("* 3 FETCH (UID 3 MODSEQ (")),
        ".SILENT with CONDSTORE still reports the MODSEQ: {uid:?}"
    );
    assert!(!uid.last().unwrap().contains("MODIFIED"), "{uid:?}");
    let after = strings(&r["after"]);
    let one = line(&after, "* 1 FETCH (FLAGS (");
    assert!(
        one.contains("\\Flagged") && !one.contains("\\Seen"),
        "{one}"
    );
    assert!(line(&after, "* 3 FETCH (FLAGS (").contains("\\Answered"));
}

/// A client that misses a modseq misses mail: an append, a delivery, a flag change and an
/// expunge each raise HIGHESTMODSEQ; `FETCH … (CHANGEDSINCE n)` returns exactly the
/// messages changed after n, `CHANGEDSINCE 0` (iOS Mail) every one, and `SEARCH MODSEQ`
/// the same set with the highest modseq.
fn every_change_raises_highestmodseq_and_changedsince_sees_it(profile: Profile) {
    let (site, server) = site_with_mail(profile, 2);
    let script = |phase: &str| {
        format!(
            r#"
phase = "{phase}"
c = session(select=None)
def highest():
    line = starting(c.cmd("STATUS INBOX (HIGHESTMODSEQ)"), "* STATUS")[0]
    return int(re.search(r"HIGHESTMODSEQ (\d+)", line).group(1))
out = {{}}
if phase == "one":
    out["start"] = highest()
    c.append("INBOX", "Subject: appended\r\n\r\nx\r\n")
    out["append"] = highest()
else:
    out["delivery"] = highest()
    c.cmd("SELECT INBOX")
    c.cmd(r"STORE 1 +FLAGS (\Seen)")
    out["store"] = highest()
    c.cmd(r"STORE 2 +FLAGS (\Deleted)")
    c.cmd("EXPUNGE")
    out["expunge"] = highest()
    out["all"] = sorted(fetches(c.cmd("UID FETCH 1:* (FLAGS) (CHANGEDSINCE 0)")))
    out["since_store"] = sorted(fetches(c.cmd(f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {{out['store'] - 1}})")))
    out["search"] = starting(c.cmd(f"SEARCH MODSEQ {{out['store']}}"), "* SEARCH")
print(json.dumps(out))
"#
        )
    };
    let one = run(&site, &server, &script("one"));
    deliver(&server, 9);
    let two = run(&site, &server, &script("two"));
    let n = |v: &Value, k: &str| v[k].as_i64().unwrap_or_else(|| panic!("{k}: {v}"));
    assert!(n(&one, "append") > n(&one, "start"), "{one}");
    assert!(n(&two, "delivery") > n(&one, "append"), "{one} {two}");
    assert!(n(&two, "store") > n(&two, "delivery"), "{two}");
    assert!(n(&two, "expunge") > n(&two, "store"), "{two}");
    // UIDs 1, 3 (appended) and 4 (delivered) remain; 2 was expunged.
    assert_eq!(two["all"], serde_json::json!([1, 3, 4]), "{two}");
    assert_eq!(two["since_store"], serde_json::json!([1]), "{two}");
    let store = n(&two, "store");
    assert_eq!(
        two["search"],
        serde_json::json!([format!("* SEARCH 1 (MODSEQ {store})")]),
        "{two}"
    );
}

/// RFC 7162 §3.2.10: once QRESYNC is enabled, expunges are announced as `VANISHED` UID
/// sets, and `UID FETCH … (CHANGEDSINCE m VANISHED)` reports the earlier ones.
fn vanished_replaces_expunge_once_qresync_is_enabled(profile: Profile) {
    let (site, server) = site_with_mail(profile, 5);
    let r = run(
        &site,
        &server,
        r#"
q = session(select=None)
q.cmd("ENABLE QRESYNC")
sel = q.cmd("SELECT INBOX")
m = int(code(sel, "HIGHESTMODSEQ"))
other = session()
other.cmd(r"STORE 2,4 +FLAGS (\Deleted)")
other.cmd("EXPUNGE")
noop = q.cmd("NOOP")
earlier = q.cmd(f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {m} VANISHED)")
bad = q.cmd(f"FETCH 1:* (FLAGS) (CHANGEDSINCE {m} VANISHED)")
legacy = session()
other.cmd(r"STORE 1 +FLAGS (\Deleted)")
other.cmd("EXPUNGE")
legacy_noop = legacy.cmd("NOOP")
closed = q.cmd("SELECT Sent")
print(json.dumps({"noop": noop, "earlier": earlier, "bad": bad, "legacy": legacy_noop, "closed": closed}))
"#,
    );
    let noop = strings(&r["noop"]);
    assert!(noop.contains(&"* VANISHED 2,4".to_string()), "{noop:?}");
    assert!(!noop.iter().any(|l| l.ends_with("EXPUNGE")), "{noop:?}");
    let earlier = strings(&r["earlier"]);
    assert_eq!(earlier[0], "* VANISHED (EARLIER) 2,4", "{earlier:?}");
    assert!(
        strings(&r["bad"]).last().unwrap().contains(" BAD "),
        "{}",
        r["bad"]
    );
    let legacy = strings(&r["legacy"]);
    assert!(legacy.contains(&"* 1 EXPUNGE".to_string()), "{legacy:?}");
    assert!(
        strings(&r["closed"])
            .iter()
            .any(|l| l.starts_with("* OK [CLOSED]")),
        "{}",
        r["closed"]
    );
}

/// ESEARCH (RFC 4731), SEARCHRES (RFC 5182), SORT and THREAD (RFC 5256) with the exact
/// responses a client parses; the wider comparison with Dovecot is in imap_compare.rs.
fn esearch_searchres_sort_and_thread_answer_from_the_index(profile: Profile) {
    let (site, server) = site_with_mail(profile, 0);
    let r = run(
        &site,
        &server,
        r#"
c = session(select=None)
msgs = [
  ("Subject: Re: Lunch\r\nFrom: Zed <z@x.test>\r\nMessage-ID: <b@x>\r\nReferences: <a@x>\r\nDate: Tue, 2 Jun 2026 10:00:00 +0000\r\n\r\nsecond\r\n", r"\Seen"),
  ("Subject: lunch\r\nFrom: Amy <a@x.test>\r\nMessage-ID: <a@x>\r\nDate: Mon, 1 Jun 2026 10:00:00 +0000\r\n\r\nfirst\r\n", ""),
  ("Subject: [team] Budget\r\nFrom: Bob <b@x.test>\r\nMessage-ID: <c@x>\r\nDate: Wed, 3 Jun 2026 10:00:00 +0000\r\n\r\nthird, a much longer body than the others\r\n", r"\Seen"),
]
for text, flags in msgs:
    assert tagged(c.append("INBOX", text, flags))[0] == "OK"
c.cmd("SELECT INBOX")
out = {
  "esearch": c.cmd("SEARCH RETURN (MIN MAX COUNT ALL) SEEN"),
  "uid_esearch": c.cmd("UID SEARCH RETURN () ALL"),
  "none": c.cmd("SEARCH RETURN (COUNT MIN) KEYWORD $Nothing"),
  "save": c.cmd("SEARCH RETURN (SAVE) UNSEEN"),
  "use_saved": c.cmd("FETCH $ (UID)"),
  "sort": c.cmd("SORT (SUBJECT) UTF-8 ALL"),
  "sort_rev": c.cmd("UID SORT (REVERSE DATE) UTF-8 ALL"),
  "sort_from": c.cmd("SORT (DISPLAYFROM) UTF-8 ALL"),
  "esort": c.cmd("SORT RETURN (MIN MAX COUNT) (SIZE) UTF-8 ALL"),
  "thread": c.cmd("THREAD REFERENCES UTF-8 ALL"),
  "ordered": c.cmd("THREAD ORDEREDSUBJECT UTF-8 ALL"),
}
print(json.dumps(out))
"#,
    );
    let first = |k: &str| strings(&r[k])[0].clone();
    assert_eq!(
        first("esearch"),
        "* ESEARCH (TAG \"t6\") MIN 1 MAX 3 COUNT 2 ALL 1,3"
    );
    assert_eq!(first("uid_esearch"), "* ESEARCH (TAG \"t7\") UID ALL 1:3");
    assert_eq!(first("none"), "* ESEARCH (TAG \"t8\") COUNT 0");
    assert_eq!(strings(&r["save"]).len(), 1, "SAVE alone: no ESEARCH");
    assert_eq!(first("use_saved"), "* 2 FETCH (UID 2)");
    // "Re: Lunch" and "lunch" have one base subject ("lunch"): ties in sequence order.
    assert_eq!(first("sort"), "* SORT 3 1 2");
    assert_eq!(first("sort_rev"), "* SORT 3 1 2");
    assert_eq!(first("sort_from"), "* SORT 2 3 1");
    assert_eq!(
        first("esort"),
        "* ESEARCH (TAG \"t14\") MIN 2 MAX 3 COUNT 3"
    );
    assert_eq!(first("thread"), "* THREAD (2 1)(3)");
    assert_eq!(first("ordered"), "* THREAD (2 1)(3)");
}

/// Replayed client sessions. Thunderbird: COMPRESS (on by default) right after login, then
/// CONDSTORE, the folder listing, SELECT (CONDSTORE), a CHANGEDSINCE flag resync, header
/// fetch of new mail, IDLE woken by a delivery; on IMAPS and on STARTTLS. iOS Mail:
/// `SELECT INBOX (CONDSTORE)` and `FETCH 1:* (FLAGS UID) (CHANGEDSINCE 0)`. Every
/// compressed response must decompress when it arrives (the client would hang otherwise).
fn replayed_thunderbird_and_ios_sessions_with_compress_and_condstore(profile: Profile) {
    let (site, server) = site_with_mail(profile, 3);
    let r = run(
        &site,
        &server,
        r#"
import time
def thunderbird(starttls):
    port = int(os.environ["IMAP_PORT" if starttls else "IMAPS_PORT"])
    c = Raw(port, os.environ["CA"], starttls=starttls).login("alice@example.org", "pw")
    caps = c.cmd("CAPABILITY")[0]
    z = c.compress()
    out = {"caps": caps, "compress": z[-1]}
    out["again"] = c.cmd("COMPRESS DEFLATE")[-1]
    out["enable"] = c.cmd("ENABLE CONDSTORE")
    out["list"] = c.cmd('LIST (SUBSCRIBED) "" "*" RETURN (SPECIAL-USE)')
    sel = c.cmd('SELECT "INBOX" (CONDSTORE)')
    m = int(code(sel, "HIGHESTMODSEQ"))
    out["select"] = sel
    other = session()
    other.cmd(f"STORE 2 +FLAGS ($Run{int(starttls)})")
    out["exists"] = [int(l.split()[1]) for l in sel if l.endswith(" EXISTS")][0]
    out["resync"] = c.cmd(f"UID FETCH 1:* (FLAGS) (CHANGEDSINCE {m})")
    out["headers"] = c.cmd("UID FETCH 1:* (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Bcc Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To Content-Type Reply-To)])")
    c.send("t99 IDLE\r\n")
    out["idle_go"] = c.line()
    other.append("INBOX", "Subject: during idle\r\n\r\nx\r\n")
    out["idle_news"] = [c.line(), c.line()]
    c.send("DONE\r\n")
    out["idle_done"] = c._until_tagged("t99")
    out["compressed_in"] = c.compressed_in
    out["logout"] = c.cmd("LOGOUT")
    return out
tb = thunderbird(False)
tb_starttls = thunderbird(True)
ios = session(select=None)
ios.cmd('ID ("name" "iPhone Mail" "version" "22A3354")')
ios_select = ios.cmd("SELECT INBOX (CONDSTORE)")
ios_all = ios.cmd("FETCH 1:* (FLAGS UID) (CHANGEDSINCE 0)")
print(json.dumps({"tb": tb, "tb_starttls": tb_starttls, "ios_select": ios_select, "ios_all": ios_all}))
"#,
    );
    for key in ["tb", "tb_starttls"] {
        let tb = &r[key];
        let caps = tb["caps"].as_str().unwrap();
        assert!(
            caps.contains("COMPRESS=DEFLATE") && caps.contains("CONDSTORE"),
            "{caps}"
        );
        assert!(tb["compress"].as_str().unwrap().contains("OK"), "{tb}");
        assert!(
            tb["again"]
                .as_str()
                .unwrap()
                .contains("NO [COMPRESSIONACTIVE]"),
            "{tb}"
        );
        assert_eq!(strings(&tb["enable"])[0], "* ENABLED CONDSTORE");
        let list = strings(&tb["list"]).join("\n");
        for folder in ["INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive"] {
            assert!(
                list.contains(&format!("\"{folder}\"")) || list.contains(folder),
                "{list}"
            );
        }
        assert!(
            list.contains("\\Sent") && list.contains("\\Trash"),
            "{list}"
        );
        let resync: Vec<String> = strings(&tb["resync"])
            .into_iter()
            .filter(|l| l.contains(" FETCH ("))
            .collect();
        assert_eq!(
            resync.len(),
            1,
            "only the changed message, once: {resync:?}"
        );
        assert!(
            resync[0].starts_with("* 2 FETCH (UID 2 FLAGS (")
                && resync[0].contains("$Run")
                && resync[0].contains("MODSEQ ("),
            "{resync:?}"
        );
        let headers = strings(&tb["headers"]);
        assert_eq!(
            headers
                .iter()
                .filter(|l| l.contains("Subject: message"))
                .count(),
            3,
            "{headers:?}"
        );
        assert!(tb["idle_go"].as_str().unwrap().starts_with("+ "), "{tb}");
        let news = strings(&tb["idle_news"]).join("\n");
        let exists = tb["exists"].as_i64().unwrap() + 1;
        assert!(news.contains(&format!("* {exists} EXISTS")), "{news}");
        assert!(
            strings(&tb["idle_done"])
                .last()
                .unwrap()
                .starts_with("t99 OK"),
            "{tb}"
        );
        assert!(tb["compressed_in"].as_i64().unwrap() > 0, "{tb}");
        assert!(
            strings(&tb["logout"])
                .iter()
                .any(|l| l.starts_with("* BYE"))
        );
    }
    let select = strings(&r["ios_select"]).join("\n");
    assert!(select.contains("* OK [HIGHESTMODSEQ "), "{select}");
    let all = strings(&r["ios_all"]);
    let fetched: Vec<&String> = all.iter().filter(|l| l.contains(" FETCH (")).collect();
    assert_eq!(fetched.len(), 5, "CHANGEDSINCE 0 is every message: {all:?}");
    assert!(fetched.iter().all(|l| l.contains("MODSEQ (")), "{all:?}");
}

/// Tombstones are pruned after `[imap] vanished_lifetime`: a client resyncing from a modseq
/// older than what was pruned gets every UID it may know that is gone (all of them, or
/// those of its known-uids), as Dovecot does, and still every changed flag. UID 3 went
/// before the client's modseq: only this fallback names it (the exact answer would not).
fn a_resync_from_before_the_pruned_history_gets_every_gone_uid(profile: Profile) {
    let site = Site::with_config(
        profile,
        "[imap]\nexpunged_grace = 2\nvanished_lifetime = 1\n",
    );
    site.add_users("example.org", &["alice"]);
    let server = site.serve();
    for i in 1..=6 {
        deliver(&server, i);
    }
    let r = run(
        &site,
        &server,
        r#"
import time
early = session()
early.cmd(r"UID STORE 3 +FLAGS (\Deleted)")
early.cmd("UID EXPUNGE 3")   # before the client's modseq: an exact answer leaves it out
early.close()
c = session(select=None)
c.cmd("ENABLE QRESYNC")
sel = c.cmd("SELECT INBOX")
v, m = int(code(sel, "UIDVALIDITY")), int(code(sel, "HIGHESTMODSEQ"))
c.cmd(r"UID STORE 2,5 +FLAGS (\Deleted)")
c.cmd("UID EXPUNGE 2,5")
c.cmd(r"UID STORE 1 +FLAGS (\Seen)")
c.close()
time.sleep(4)   # the purge runs every second here and forgets expunges older than 1 s
back = session(select=None)
back.cmd("ENABLE QRESYNC")
full = back.cmd(f"SELECT INBOX (QRESYNC ({v} {m}))")
known = session(select=None)
known.cmd("ENABLE QRESYNC")
limited = known.cmd(f"SELECT INBOX (QRESYNC ({v} {m} 3:6))")
print(json.dumps({"full": full, "limited": limited}))
"#,
    );
    let full = strings(&r["full"]);
    assert!(
        full.contains(&"* VANISHED (EARLIER) 2:3,5".to_string()),
        "{full:?}"
    );
    assert!(
        full.iter()
            .any(|l| l.starts_with("* 1 FETCH (UID 1 FLAGS (\\Seen")),
        "{full:?}"
    );
    let limited = strings(&r["limited"]);
    assert!(
        limited.contains(&"* VANISHED (EARLIER) 3,5".to_string()),
        "{limited:?}"
    );
}
