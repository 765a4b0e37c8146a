//! CONTEXT=SEARCH (RFC 5267) and `APPEND … UTF8 (…)` (RFC 6855 §4) from outside, with raw
//! clients (tests/clients/imap_raw.py) that see every response in order:
//! - a search kept current (`RETURN (UPDATE)`) while other sessions change flags, expunge
//!   and append: the ADDTO/REMOVEFROM lines Dovecot 2.3 sends for the same steps (checked by
//!   hand against it: position 0, REMOVEFROM of an expunged message before its EXPUNGE with
//!   the old sequence number, then REMOVEFROM and ADDTO on one line after EXISTS);
//! - a checker: three sessions change the mailbox at random while one keeps two searches
//!   current; after every NOOP the result it built from ADDTO/REMOVEFROM alone must equal a
//!   fresh search;
//! - CONTEXT=SORT: the same kind of checker for sorted results, applying the positioned
//!   ADDTO/REMOVEFROM pairs in order (§4.3.3, §4.3.4) and comparing with a fresh SORT;
//! - PARTIAL, CANCELUPDATE, NOUPDATE, refused RETURN combinations, and UTF8 APPEND.

use baedal_tests::imap::{run_raw, site_with_mail, strings};
use baedal_tests::{Profile, on_both_profiles};
use serde_json::Value;

on_both_profiles!(
    a_kept_search_hears_what_other_sessions_change,
    a_checker_rebuilds_each_kept_result_from_the_updates,
    partial_cancelupdate_and_noupdate,
    a_sorted_context_keeps_its_order_through_changes,
    append_utf8_stores_utf8_headers,
);

/// The checkers' start: session A (nothing selected yet) and three others on INBOX, a seeded
/// random source, and `tagged_cmd` for commands under a tag the model reads.
const CHECKER_PRELUDE: &str = r#"
import random, re
rng = random.Random(5267)
a = session(select=None)
others = [session() for _ in range(3)]
def tagged_cmd(tag, command):
    a.send(tag + " " + command + "\r\n")
    return a._until_tagged(tag)
"#;

/// Runs a checker script after [`CHECKER_PRELUDE`] on a site with `count` messages.
fn run_checker(profile: Profile, count: usize, body: &str) -> Value {
    let (site, server) = site_with_mail(profile, count);
    run_raw(&site, &server, &format!("{CHECKER_PRELUDE}{body}"))
}

fn lines(v: &Value, key: &str) -> Vec<String> {
    strings(&v[key])
}

/// The steps of the Dovecot session above, on Baedal: five unseen messages; a UID and a
/// sequence-number search kept current; another session sets \Seen on 2, expunges 4 and
/// appends a sixth; the NOOP after tells everything in Dovecot's order.
fn a_kept_search_hears_what_other_sessions_change(profile: Profile) {
    let (site, server) = site_with_mail(profile, 5);
    let r = run_raw(
        &site,
        &server,
        r#"
a = session()
b = session()
out = {
  "caps": a.cmd("CAPABILITY"),
  "u1": a.cmd("UID SEARCH RETURN (ALL UPDATE) UNSEEN"),
  "u2": a.cmd("SEARCH RETURN (UPDATE) UNSEEN"),
}
b.cmd("STORE 2 +FLAGS (\\Seen)")
b.cmd("STORE 4 +FLAGS (\\Deleted)")
b.cmd("EXPUNGE")
assert tagged(b.append("INBOX", "Subject: six\r\n\r\nsix\r\n"))[0] == "OK"
out["noop"] = a.cmd("NOOP")
# Its own change too, and in IDLE.
out["own"] = a.cmd("STORE 1 +FLAGS.SILENT (\\Seen)")
a.send("i1 IDLE\r\n")
out["idle_start"] = [a.line()]
b.cmd("STORE 3 +FLAGS (\\Seen)")
idle = []
while sum("ESEARCH" in l for l in idle) < 2:
    idle.append(a.line())
out["idle"] = idle
a.send("DONE\r\n")
out["idle_done"] = a._until_tagged("i1")
print(json.dumps(out))
"#,
    );
    let caps = lines(&r, "caps")[0].clone();
    assert!(caps.contains(" CONTEXT=SEARCH"), "{caps}");
    assert!(caps.contains(" CONTEXT=SORT"), "{caps}");
    assert_eq!(
        lines(&r, "u1")[0],
        "* ESEARCH (TAG \"t4\") UID ALL 1:5",
        "{r}"
    );
    // UPDATE alone: no result now, only the changes to come (as Dovecot answers).
    assert_eq!(lines(&r, "u2")[0], "* ESEARCH (TAG \"t5\")", "{r}");
    let noop = lines(&r, "noop");
    let at = |needle: &str| {
        noop.iter()
            .position(|l| l == needle)
            .unwrap_or_else(|| panic!("no {needle:?} in {noop:?}"))
    };
    let expunge = at("* 4 EXPUNGE");
    assert!(at("* ESEARCH (TAG \"t4\") UID REMOVEFROM (0 4)") < expunge);
    assert!(at("* ESEARCH (TAG \"t5\") REMOVEFROM (0 4)") < expunge);
    let exists = at("* 5 EXISTS");
    assert!(at("* ESEARCH (TAG \"t4\") UID REMOVEFROM (0 2) ADDTO (0 6)") > exists);
    // Sequence numbers after the expunge: UID 6 is message 5.
    assert!(at("* ESEARCH (TAG \"t5\") REMOVEFROM (0 2) ADDTO (0 5)") > exists);
    assert_eq!(
        noop.iter().filter(|l| l.contains("ESEARCH")).count(),
        4,
        "{noop:?}"
    );
    assert!(
        lines(&r, "own").contains(&"* ESEARCH (TAG \"t4\") UID REMOVEFROM (0 1)".to_string()),
        "{r}"
    );
    let idle = lines(&r, "idle");
    assert!(idle.contains(&"* ESEARCH (TAG \"t4\") UID REMOVEFROM (0 3)".to_string()));
    assert!(idle.contains(&"* ESEARCH (TAG \"t5\") REMOVEFROM (0 3)".to_string()));
}

/// Three sessions set and clear \Seen and \Flagged, expunge and append at random (a fixed
/// seed) while session A keeps `UNSEEN` (UID) and `FLAGGED` (sequence numbers) current. A
/// models each result from what it was told only (ALL, ADDTO, REMOVEFROM, and for sequence
/// numbers EXPUNGE and EXISTS); after every NOOP each model must equal a fresh search.
fn a_checker_rebuilds_each_kept_result_from_the_updates(profile: Profile) {
    let r = run_checker(
        profile,
        12,
        r#"

def parse_set(text):
    out = set()
    for part in text.split(","):
        lo, _, hi = part.partition(":")
        lo = int(lo); hi = int(hi or lo)
        out.update(range(min(lo, hi), max(lo, hi) + 1))
    return out

unseen = set()   # UIDs, from UPDATE lines only
flagged = set()  # sequence numbers, from UPDATE lines and EXPUNGE only
count = [0]      # messages A knows of

def absorb(lines):
    for l in lines:
        m = re.match(r"\* (\d+) EXPUNGE$", l)
        if m:
            n = int(m.group(1))
            assert n not in flagged, "EXPUNGE of %d before its REMOVEFROM: %r" % (n, lines)
            flagged_now = {s - 1 if s > n else s for s in flagged}
            flagged.clear(); flagged.update(flagged_now)
            count[0] -= 1
            continue
        m = re.match(r"\* (\d+) EXISTS$", l)
        if m:
            count[0] = int(m.group(1))
            continue
        m = re.match(r'\* ESEARCH \(TAG "(\w+)"\)( UID)?(.*)$', l)
        if not m:
            continue
        target = unseen if m.group(1) == "u" else flagged
        for what, items in re.findall(r"(ALL|ADDTO|REMOVEFROM) (?:\(0 )?([\d:,]+)\)?", m.group(3)):
            ids = parse_set(items)
            if what == "REMOVEFROM":
                assert ids <= target, "REMOVEFROM of %r not in %r: %s" % (ids, target, l)
                target.difference_update(ids)
            else:
                assert not (ids & target), "ADDTO of %r already in %r: %s" % (ids, target, l)
                target.update(ids)

absorb(a.cmd("SELECT INBOX"))
# The tags the model reads: u for UNSEEN (UIDs), f for FLAGGED (sequence numbers).
absorb(tagged_cmd("u", "UID SEARCH RETURN (ALL UPDATE) UNSEEN"))
absorb(tagged_cmd("f", "SEARCH RETURN (ALL UPDATE) FLAGGED"))

checks = 0
mismatches = []
for step in range(60):
    s = rng.choice(others)
    op = rng.random()
    if op < 0.35:
        s.cmd("UID STORE %d %sFLAGS (\\Seen)" % (rng.randint(1, 30), rng.choice("+-")))
    elif op < 0.6:
        s.cmd("UID STORE %d %sFLAGS (\\Flagged)" % (rng.randint(1, 30), rng.choice("+-")))
    elif op < 0.8:
        s.cmd("UID STORE %d +FLAGS (\\Deleted)" % rng.randint(1, 30))
        s.cmd("EXPUNGE")
    else:
        flags = rng.choice(["", "\\Seen", "\\Flagged"])
        s.append("INBOX", "Subject: new %d\r\n\r\nnew\r\n" % step, flags)
    if step % 3 == 2:
        absorb(a.cmd("NOOP"))
        got_unseen = set()
        for l in a.cmd("UID SEARCH UNSEEN"):
            if l.startswith("* SEARCH"):
                got_unseen = {int(x) for x in l.split()[2:]}
        got_flagged = set()
        for l in a.cmd("SEARCH FLAGGED"):
            if l.startswith("* SEARCH"):
                got_flagged = {int(x) for x in l.split()[2:]}
        checks += 1
        if got_unseen != unseen or got_flagged != flagged:
            mismatches.append({"step": step, "unseen": [sorted(unseen), sorted(got_unseen)],
                               "flagged": [sorted(flagged), sorted(got_flagged)]})
print(json.dumps({"checks": checks, "mismatches": mismatches,
                  "unseen": len(unseen), "flagged": len(flagged)}))
"#,
    );
    assert_eq!(r["mismatches"], serde_json::json!([]), "{r}");
    assert_eq!(r["checks"], 20, "{r}");
}

fn partial_cancelupdate_and_noupdate(profile: Profile) {
    let (site, server) = site_with_mail(profile, 5);
    let r = run_raw(
        &site,
        &server,
        r#"
a = session()
b = session()
out = {
  "p1": a.cmd("UID SEARCH RETURN (PARTIAL 2:3) ALL"),
  "p2": a.cmd("UID SEARCH RETURN (PARTIAL 50:60) ALL"),
  "p3": a.cmd("SEARCH RETURN (COUNT PARTIAL 4:1) ALL"),
  "sort_partial": a.cmd("SORT RETURN (PARTIAL 1:2) (REVERSE SUBJECT) UTF-8 ALL"),
  "bad_partial": a.cmd("SEARCH RETURN (PARTIAL 0:3) ALL"),
  "context": a.cmd("UID SEARCH RETURN (CONTEXT COUNT) ALL"),
  "body": a.cmd("UID SEARCH RETURN (ALL UPDATE) BODY message"),
  "sorted": a.cmd("SORT RETURN (ALL UPDATE) (ARRIVAL) UTF-8 ALL"),
  "kept": a.cmd("UID SEARCH RETURN (COUNT UPDATE) UNSEEN"),
  "cancel_unknown": a.cmd('CANCELUPDATE "nosuch"'),
  "cancel_none": a.cmd("CANCELUPDATE"),
  "cancel": a.cmd('CANCELUPDATE "t9"'),
}
b.cmd("STORE 1 +FLAGS (\\Seen)")
out["after_cancel"] = a.cmd("NOOP")
a.send("t11 UID SEARCH RETURN (UPDATE) ALL\r\n")
out["reuse"] = a._until_tagged("t11")
out["all_partial"] = a.cmd("SEARCH RETURN (ALL PARTIAL 1:2) ALL")
a.cmd("UNSELECT")
out["cancel_unselected"] = a.cmd('CANCELUPDATE "t9"')
print(json.dumps(out))
"#,
    );
    let first = |k: &str| lines(&r, k)[0].clone();
    assert_eq!(first("p1"), "* ESEARCH (TAG \"t3\") UID PARTIAL (2:3 2:3)");
    assert_eq!(
        first("p2"),
        "* ESEARCH (TAG \"t4\") UID PARTIAL (50:60 NIL)"
    );
    assert_eq!(
        first("p3"),
        "* ESEARCH (TAG \"t5\") COUNT 5 PARTIAL (1:4 1:4)"
    );
    // RFC 5267 §4.4: positions in sort order (Dovecot 2.3 answers 1:2 here).
    assert_eq!(
        first("sort_partial"),
        "* ESEARCH (TAG \"t6\") PARTIAL (1:2 5,4)"
    );
    assert!(first("bad_partial").starts_with("t7 BAD"), "{r}");
    assert_eq!(first("context"), "* ESEARCH (TAG \"t8\") UID COUNT 5");
    // A search of message text is not kept current.
    let body = lines(&r, "body");
    assert_eq!(body[0], "* ESEARCH (TAG \"t9\") UID ALL 1:5", "{body:?}");
    assert!(body[1].starts_with("* NO [NOUPDATE \"t9\"]"), "{body:?}");
    assert!(body[2].starts_with("t9 OK"), "{body:?}");
    // A sorted result is kept current (CONTEXT=SORT).
    let sorted = lines(&r, "sorted");
    assert_eq!(
        sorted[0], "* ESEARCH (TAG \"t10\") ALL 1,2,3,4,5",
        "{sorted:?}"
    );
    assert!(sorted[1].starts_with("t10 OK"), "{sorted:?}");
    assert!(first("cancel_unknown").starts_with("t12 NO"), "{r}");
    assert!(first("cancel_none").starts_with("t13 BAD"), "{r}");
    // t9 was never kept (NOUPDATE); t11 is.
    assert!(first("cancel").starts_with("t14 NO"), "{r}");
    let after = lines(&r, "after_cancel");
    assert!(
        after.contains(&"* ESEARCH (TAG \"t11\") UID REMOVEFROM (0 1)".to_string()),
        "{after:?}"
    );
    // §4.3: UPDATE under the tag of a kept search; §4.4: ALL with PARTIAL.
    assert!(first("reuse").starts_with("t11 BAD"), "{r}");
    assert!(first("all_partial").starts_with("t16 BAD"), "{r}");
    assert!(first("cancel_unselected").starts_with("t18 BAD"), "{r}");
}

/// Sorted results kept current: `UID SORT … (REVERSE SUBJECT) … UNSEEN` (UIDs) and
/// `SORT … (SUBJECT) … ALL` (sequence numbers) while three sessions append messages whose
/// subjects fall anywhere in the order, set and clear \Seen and expunge. Session A applies
/// each pair where it says (and renumbers on EXPUNGE); after every NOOP each list must be
/// exactly what a fresh SORT returns, in order.
fn a_sorted_context_keeps_its_order_through_changes(profile: Profile) {
    let r = run_checker(
        profile,
        6,
        r#"

def ids(text):
    out = []
    for part in text.split(","):
        lo, _, hi = part.partition(":")
        out.extend(range(int(lo), int(hi or lo) + 1))
    return out

models = {"s": [], "q": []}   # s: UIDs (UID SORT), q: sequence numbers (SORT)

def absorb(lines):
    for l in lines:
        m = re.match(r"\* (\d+) EXPUNGE$", l)
        if m:
            n = int(m.group(1))
            assert n not in models["q"], "EXPUNGE of %d before its REMOVEFROM: %r" % (n, lines)
            models["q"] = [x - 1 if x > n else x for x in models["q"]]
            continue
        m = re.match(r'\* ESEARCH \(TAG "(\w+)"\)( UID)?(.*)$', l)
        if not m or m.group(1) not in models:
            continue
        model = models[m.group(1)]
        rest = m.group(3)
        all_ = re.match(r" ALL ([\d:,]+)$", rest)
        if all_:
            model[:] = ids(all_.group(1))
            continue
        for what, payload in re.findall(r"(ADDTO|REMOVEFROM) \(([^)]*)\)", rest):
            words = payload.split()
            for pos, items in zip(words[0::2], words[1::2]):
                pos, items = int(pos), ids(items)
                assert pos >= 1, l
                if what == "REMOVEFROM":
                    assert model[pos - 1:pos - 1 + len(items)] == items, "%s on %r" % (l, model)
                    del model[pos - 1:pos - 1 + len(items)]
                else:
                    model[pos - 1:pos - 1] = items

absorb(a.cmd("SELECT INBOX"))
absorb(tagged_cmd("s", "UID SORT RETURN (ALL UPDATE) (REVERSE SUBJECT) UTF-8 UNSEEN"))
absorb(tagged_cmd("q", "SORT RETURN (ALL UPDATE) (SUBJECT) UTF-8 ALL"))
first = {"s": list(models["s"]), "q": list(models["q"])}

words = ["apple", "banana", "cherry", "grape", "kiwi", "lemon", "mango", "peach", "plum", "zucchini"]
checks, mismatches = 0, []
for step in range(45):
    s = rng.choice(others)
    op = rng.random()
    if op < 0.35:
        subject = "%s %d" % (rng.choice(words), step)
        s.append("INBOX", "Subject: %s\r\n\r\nbody\r\n" % subject, rng.choice(["", "\\Seen"]))
    elif op < 0.7:
        s.cmd("UID STORE %d %sFLAGS (\\Seen)" % (rng.randint(1, 25), rng.choice("+-")))
    else:
        s.cmd("UID STORE %d +FLAGS (\\Deleted)" % rng.randint(1, 25))
        s.cmd("EXPUNGE")
    if step % 3 == 2:
        absorb(a.cmd("NOOP"))
        fresh = {}
        for key, command in (("s", "UID SORT (REVERSE SUBJECT) UTF-8 UNSEEN"), ("q", "SORT (SUBJECT) UTF-8 ALL")):
            fresh[key] = []
            for l in a.cmd(command):
                if l.startswith("* SORT"):
                    fresh[key] = [int(x) for x in l.split()[2:]]
        checks += 1
        if fresh != models:
            mismatches.append({"step": step, "told": dict(models), "fresh": fresh})
print(json.dumps({"checks": checks, "mismatches": mismatches, "first": first,
                  "last": models}))
"#,
    );
    assert_eq!(r["mismatches"], serde_json::json!([]), "{r}");
    assert_eq!(r["checks"], 15, "{r}");
    // "message 6" … "message 1" by REVERSE SUBJECT.
    assert_eq!(
        r["first"]["s"],
        serde_json::json!([6, 5, 4, 3, 2, 1]),
        "{r}"
    );
    assert_eq!(
        r["first"]["q"],
        serde_json::json!([1, 2, 3, 4, 5, 6]),
        "{r}"
    );
}

/// RFC 6855 §4: after ENABLE UTF8=ACCEPT, `APPEND … UTF8 (~{n}…)` stores a message whose
/// header fields are UTF-8 as it is; without ENABLE the form is refused; so is a wrapper
/// around a plain literal.
fn append_utf8_stores_utf8_headers(profile: Profile) {
    let (site, server) = site_with_mail(profile, 0);
    let r = run_raw(
        &site,
        &server,
        r#"
def utf8_append(c, tag, message, wrapper="~"):
    data = message.encode()
    c.send(("%s APPEND INBOX UTF8 (%s{%d}\r\n" % (tag, wrapper, len(data))).encode())
    first = c.line()
    if not first.startswith("+"):
        return [first]
    c.send(data + b")\r\n")
    return c._until_tagged(tag)

message = "From: 김철수 <chulsoo@example.org>\r\nSubject: 회의 안내\r\n\r\n내일 10시\r\n"
a = session()
out = {"before_enable": utf8_append(a, "x1", message)}
out["enable"] = a.cmd("ENABLE UTF8=ACCEPT")
out["append"] = utf8_append(a, "x2", message)
out["plain_literal"] = utf8_append(a, "x3", message, wrapper="")
a.cmd("NOOP")
out["fetch"] = a.cmd("FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
out["search"] = a.cmd("SEARCH CHARSET UTF-8 SUBJECT {6+}\r\n회의")
print(json.dumps(out))
"#,
    );
    let first = |k: &str| lines(&r, k)[0].clone();
    assert!(first("before_enable").starts_with("x1 BAD"), "{r}");
    let append = lines(&r, "append");
    assert!(
        append.last().unwrap().starts_with("x2 OK [APPENDUID"),
        "{append:?}"
    );
    assert!(first("plain_literal").starts_with("x3 BAD"), "{r}");
    let fetch = lines(&r, "fetch").join("\n");
    assert!(fetch.contains("Subject: 회의 안내"), "{fetch}");
    assert_eq!(first("search"), "* SEARCH 1");
}
