//! IMAP semantics a compliance tester checks, with Python imaplib against the real server:
//! SEARCH SENT* on the Date header as written (RFC 3501 §6.4.4), HEADER.FIELDS and TEXT of
//! encapsulated messages (§6.4.5), ENVELOPE groups and source routes (§7.4.2), SEARCH HEADER
//! on repeated fields and address keys on group names (§6.4.4).

use baedal_tests::imap::run;
use baedal_tests::smtp::{self, assert_reply};
use baedal_tests::{Profile, Server, Site, on_both_profiles};
use serde_json::{Value, json};

on_both_profiles!(
    sent_dates_are_the_dates_written_in_the_date_header,
    header_fields_and_text_of_encapsulated_messages,
    envelopes_keep_groups_and_source_routes,
    header_and_address_searches_see_every_field_and_group_names,
);

fn site(profile: Profile) -> (Site, Server) {
    let site = Site::with_config(profile, "");
    site.add_users("example.org", &["alice"]);
    let server = site.serve();
    (site, server)
}

/// `m.append` of each message to INBOX, in order, then `body`.
fn append_then(site: &Site, server: &Server, messages: &[&str], body: &str) -> Value {
    let messages = serde_json::to_string(messages).expect("JSON");
    run(
        site,
        server,
        &format!(
            "m = imap()\nfor msg in {messages}:\n    assert m.append('INBOX', None, None, msg.encode())[0] == 'OK'\n\
             m.select('INBOX')\n\
             def search(*keys):\n    typ, data = m.search(None, *keys)\n    assert typ == 'OK', (keys, data)\n    return s(data[0]).split()\n\
             def uid_search(*keys):\n    typ, data = m.uid('SEARCH', *keys)\n    assert typ == 'OK', (keys, data)\n    return s(data[0]).split()\n\
             {body}"
        ),
    )
}

fn sent_dates_are_the_dates_written_in_the_date_header(profile: Profile) {
    let (site, server) = site(profile);
    let message = |date: &str| {
        format!(
            "From: bob@remote.test\r\nTo: alice@example.org\r\nSubject: dated\r\nDate: {date}\r\n\r\nbody\r\n"
        )
    };
    let r = append_then(
        &site,
        &server,
        &[
            // 6 December 16:00 in UTC.
            &message("Mon, 7 Dec 2026 01:00:00 +0900"),
            // 7 December 04:30 in UTC.
            &message("Sun, 6 Dec 2026 23:30:00 -0500 (EST)"),
            &message("Tue, 8 Dec 2026 12:00:00 +0000"),
            &message("not a date"),
        ],
        r#"
print(json.dumps({
  "on7": search("SENTON", "7-Dec-2026"), "on6": search("SENTON", "6-Dec-2026"),
  "before7": search("SENTBEFORE", "7-Dec-2026"), "since7": search("SENTSINCE", "7-Dec-2026"),
  "before8": search("SENTBEFORE", "8-Dec-2026"), "since9": search("SENTSINCE", "9-Dec-2026"),
  "not_on7": search("NOT", "SENTON", "7-Dec-2026"), "uid_on6": uid_search("SENTON", "6-Dec-2026"),
}))
"#,
    );
    // RFC 3501 §6.4.4: the date as written, disregarding time and time zone.
    assert_eq!(r["on7"], json!(["1"]), "{r}");
    assert_eq!(r["on6"], json!(["2"]), "{r}");
    assert_eq!(r["before7"], json!(["2"]), "{r}");
    assert_eq!(r["since7"], json!(["1", "3"]), "{r}");
    assert_eq!(r["before8"], json!(["1", "2"]), "{r}");
    assert_eq!(r["since9"], json!([]), "{r}");
    // A message without a readable date is in no SENT* range.
    assert_eq!(r["not_on7"], json!(["2", "3", "4"]), "{r}");
    assert_eq!(r["uid_on6"], json!(["2"]), "{r}");
}

const INNER_HEADER: &str = "Subject: original\r\n\
From: Carol <carol@remote.test>\r\n\
To: team: alice@example.org, dan@example.org;\r\n\
Date: Fri, 20 Nov 2026 10:00:00 +0100\r\n\
X-Tag: inner\r\n\
Content-Type: multipart/mixed; boundary=inner\r\n\
\r\n";

const INNER_TEXT: &str = "inner preamble\r\n\
--inner\r\n\
Content-Type: text/plain\r\n\
\r\n\
original text\r\n\
--inner\r\n\
Content-Type: message/rfc822\r\n\
\r\n\
Subject: deepest\r\n\
X-Tag: deepest\r\n\
\r\n\
deep body\r\n\
--inner--\r\n\
inner epilogue\r\n";

/// A top-level message/rfc822 whose encapsulated message is a multipart with an epilogue.
const WRAPPED: &str = "From: Bob Lee <bob@remote.test>\r\n\
To: alice@example.org\r\n\
Subject: wrapper\r\n\
MIME-Version: 1.0\r\n\
Content-Type: message/rfc822\r\n\
\r\n\
Subject: wrapped\r\n\
From: carol@remote.test\r\n\
Content-Type: multipart/alternative; boundary=alt\r\n\
\r\n\
--alt\r\n\
Content-Type: text/plain\r\n\
\r\n\
wrapped text\r\n\
--alt--\r\n\
wrapped epilogue\r\n\
last line\r\n";

fn header_fields_and_text_of_encapsulated_messages(profile: Profile) {
    let (site, server) = site(profile);
    let forwarded = format!(
        "From: Bob Lee <bob@remote.test>\r\n\
To: alice@example.org\r\n\
Subject: forwarded\r\n\
Date: Sat, 21 Nov 2026 06:35:00 +0000\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=outer\r\n\
\r\n\
--outer\r\n\
Content-Type: text/plain\r\n\
\r\n\
see attached\r\n\
--outer\r\n\
Content-Type: message/rfc822\r\n\
Content-Description: the original\r\n\
\r\n\
{INNER_HEADER}{INNER_TEXT}\r\n\
--outer--\r\n\
outer epilogue\r\n"
    );
    let r = append_then(
        &site,
        &server,
        &[&forwarded, WRAPPED],
        r#"
def part(n, section):
    typ, data = m.fetch(n, "(BODY.PEEK[%s])" % section)
    assert typ == "OK" and isinstance(data[0], tuple), (section, data)
    return [s(data[0][0]), s(data[0][1])]
sections = ["2.HEADER.FIELDS (SUBJECT X-TAG)", "2.HEADER.FIELDS.NOT (Subject From To Date Content-Type)",
  "2.HEADER", "2.TEXT", "2.MIME", "2", "2.1", "2.2.HEADER.FIELDS (X-Tag)", "2.2.HEADER", "2.2.TEXT",
  "1.HEADER.FIELDS (SUBJECT)", "1.TEXT"]
out = {sec: part("1", sec) for sec in sections}
for sec in ["1.HEADER.FIELDS (FROM)", "1.HEADER.FIELDS.NOT (FROM)", "1.HEADER", "1.TEXT", "1.1"]:
    out["wrapped " + sec] = part("2", sec)
out["bs"] = s(m.fetch("1", "(BODYSTRUCTURE)")[1][0])
out["flags"] = s(m.fetch("1:2", "(FLAGS)")[1])
print(json.dumps(out))
"#,
    );
    let body = |section: &str| {
        r[section][1]
            .as_str()
            .unwrap_or_else(|| panic!("no {section}: {r}"))
            .to_string()
    };
    // The response names the section as asked, field names in upper case.
    assert!(
        r["2.HEADER.FIELDS (SUBJECT X-TAG)"][0]
            .as_str()
            .is_some_and(|l| l.contains("BODY[2.HEADER.FIELDS (SUBJECT X-TAG)] {")),
        "{r}"
    );
    // RFC 3501 §6.4.5: after a part number, HEADER.FIELDS, HEADER.FIELDS.NOT, HEADER and TEXT
    // are those of the message encapsulated in the message/rfc822 part.
    assert_eq!(
        body("2.HEADER.FIELDS (SUBJECT X-TAG)"),
        "Subject: original\r\nX-Tag: inner\r\n\r\n"
    );
    assert_eq!(
        body("2.HEADER.FIELDS.NOT (Subject From To Date Content-Type)"),
        "X-Tag: inner\r\n\r\n"
    );
    assert_eq!(body("2.HEADER"), INNER_HEADER);
    // Byte-exact to the end of the part: the epilogue after the closing boundary included.
    assert_eq!(body("2.TEXT"), INNER_TEXT);
    assert_eq!(
        body("2.MIME"),
        "Content-Type: message/rfc822\r\nContent-Description: the original\r\n\r\n"
    );
    assert_eq!(body("2"), format!("{INNER_HEADER}{INNER_TEXT}"));
    assert_eq!(body("2.1"), "original text");
    assert_eq!(body("2.2.HEADER.FIELDS (X-Tag)"), "X-Tag: deepest\r\n\r\n");
    assert_eq!(
        body("2.2.HEADER"),
        "Subject: deepest\r\nX-Tag: deepest\r\n\r\n"
    );
    assert_eq!(body("2.2.TEXT"), "deep body");
    // Part 1 is text/plain: it has no encapsulated header or text.
    assert_eq!(body("1.HEADER.FIELDS (SUBJECT)"), "");
    assert_eq!(body("1.TEXT"), "");
    assert_eq!(
        body("wrapped 1.HEADER.FIELDS (FROM)"),
        "From: carol@remote.test\r\n\r\n"
    );
    assert_eq!(
        body("wrapped 1.HEADER.FIELDS.NOT (FROM)"),
        "Subject: wrapped\r\nContent-Type: multipart/alternative; boundary=alt\r\n\r\n"
    );
    assert_eq!(
        body("wrapped 1.HEADER"),
        "Subject: wrapped\r\nFrom: carol@remote.test\r\nContent-Type: multipart/alternative; boundary=alt\r\n\r\n"
    );
    let wrapped_text = &WRAPPED[WRAPPED.find("--alt\r\n").expect("boundary")..];
    assert_eq!(body("wrapped 1.TEXT"), wrapped_text);
    assert_eq!(body("wrapped 1.1"), "wrapped text");
    // The encapsulated message's ENVELOPE in BODYSTRUCTURE keeps its group.
    let bs = r["bs"].as_str().unwrap_or_default();
    assert!(
        bs.contains("((NIL NIL \"team\" NIL)(NIL NIL \"alice\" \"example.org\")(NIL NIL \"dan\" \"example.org\")(NIL NIL NIL NIL))"),
        "{bs}"
    );
    // BODY.PEEK sets no flag.
    assert_eq!(
        r["flags"],
        json!(["1 (FLAGS (\\Recent))", "2 (FLAGS (\\Recent))"]),
        "{r}"
    );
}

fn envelopes_keep_groups_and_source_routes(profile: Profile) {
    let (site, server) = site(profile);
    let message = "From: \"Lee, Bob\" <bob@remote.test>\r\n\
Sender: <@relay1.test,@relay2.test:bob@remote.test>\r\n\
To: group: a@x.test, \"Ann B\" <b@y.test>;, carol@remote.test\r\n\
Cc: undisclosed-recipients:;\r\n\
Bcc: undisclosed-recipients: (none) ;\r\n\
Subject: =?UTF-8?Q?groups_and_r=C3=B4utes?=\r\n\
Date: Sat, 21 Nov 2026 06:35:00 +0000\r\n\
Message-ID: <groups@remote.test>\r\n\
\r\n\
body\r\n";
    let r = append_then(
        &site,
        &server,
        &[message],
        r#"print(json.dumps({"env": s(m.fetch("1", "(ENVELOPE)")[1])}))"#,
    );
    // RFC 3501 §7.4.2: a group is a start marker (the name as mailbox, NIL host), its
    // members and an end marker (all NIL); a comment is no member; a source route is the adl.
    assert_eq!(
        r["env"],
        json!([concat!(
            "1 (ENVELOPE (\"Sat, 21 Nov 2026 06:35:00 +0000\" \"=?UTF-8?Q?groups_and_r=C3=B4utes?=\" ",
            "((\"Lee, Bob\" NIL \"bob\" \"remote.test\")) ",
            "((NIL \"@relay1.test,@relay2.test\" \"bob\" \"remote.test\")) ",
            "((\"Lee, Bob\" NIL \"bob\" \"remote.test\")) ",
            "((NIL NIL \"group\" NIL)(NIL NIL \"a\" \"x.test\")(\"Ann B\" NIL \"b\" \"y.test\")(NIL NIL NIL NIL)(NIL NIL \"carol\" \"remote.test\")) ",
            "((NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL)) ",
            "((NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL)) ",
            "NIL \"<groups@remote.test>\"))"
        )]),
        "{r}"
    );
}

fn header_and_address_searches_see_every_field_and_group_names(profile: Profile) {
    let (site, server) = site(profile);
    // Message 1 comes by SMTP: the MX adds its Received field above the sender's.
    let delivered = "Received: from relay.remote.test by smtp.remote.test\r\n\
From: carol@remote.test\r\n\
To: alice@example.org\r\n\
Subject: third\r\n\
X-Tag: fourth\r\n\
\r\n\
three\r\n";
    let sent = smtp::send(
        server.addr("smtp"),
        "carol@remote.test",
        &["alice@example.org"],
        delivered.as_bytes(),
        &[],
    );
    assert_reply(&sent["data"], 250, "2.0.0");
    let r = append_then(
        &site,
        &server,
        &[
            "From: Bob Lee <bob@remote.test>\r\n\
To: undisclosed-recipients:;\r\n\
Subject: first\r\n\
X-Tag: first\r\n\
X-Tag: second\r\n\
Received: from a.relay.test by b.relay.test\r\n\
Received: from c.relay.test by d.relay.test\r\n\
\r\n\
one\r\n",
            "From: =?UTF-8?B?67CV7KeA7Jew?= <jiyeon@remote.test>\r\n\
To: team: ann@t.test, bo@t.test;\r\n\
Cc: \"Lee, Bob\" <bob@remote.test>\r\n\
Bcc: hidden@remote.test\r\n\
Subject: second\r\n\
X-Tag: third\r\n\
\r\n\
two\r\n",
        ],
        r#"
def utf8_search(key):
    m.literal = "박지연".encode()
    typ, data = m.search("UTF-8", key)
    assert typ == "OK", data
    return s(data[0]).split()
print(json.dumps({
  "tag_first": search("HEADER", "X-Tag", "first"), "tag_second": search("HEADER", "X-Tag", "second"),
  "tag_any": search("HEADER", "X-Tag", '""'), "tag_none": search("HEADER", "X-Missing", '""'),
  "received_a": search("HEADER", "Received", "a.relay.test"),
  "received_c": search("HEADER", "Received", "c.relay.test"),
  "received_mx": search("HEADER", "Received", '"(Baedal)"'),
  "received_sender": search("HEADER", "Received", "relay.remote.test"),
  "to_undisclosed": search("TO", "undisclosed"), "to_team": search("TO", "team"),
  "to_member": search("TO", "ann@t.test"), "to_alice": search("TO", "alice"),
  "not_to_undisclosed": search("NOT", "TO", "undisclosed"),
  "from_name": search("FROM", '"bob lee"'), "from_jiyeon": search("FROM", "jiyeon"),
  "from_decoded": utf8_search("FROM"),
  "cc": search("CC", '"lee, bob"'), "bcc": search("BCC", "hidden"),
  "uid_to_team": uid_search("TO", "team"),
}))
"#,
    );
    let cases = [
        // RFC 3501 §6.4.4: any occurrence of a repeated field.
        ("tag_first", vec!["2"]),
        ("tag_second", vec!["2"]),
        ("tag_any", vec!["1", "2", "3"]),
        ("tag_none", vec![]),
        ("received_a", vec!["2"]),
        ("received_c", vec!["2"]),
        ("received_mx", vec!["1"]),
        ("received_sender", vec!["1"]),
        // Address keys match the whole field value, group names included.
        ("to_undisclosed", vec!["2"]),
        ("to_team", vec!["3"]),
        ("to_member", vec!["3"]),
        ("to_alice", vec!["1"]),
        ("not_to_undisclosed", vec!["1", "3"]),
        ("from_name", vec!["2"]),
        ("from_jiyeon", vec!["3"]),
        ("from_decoded", vec!["3"]),
        ("cc", vec!["3"]),
        ("bcc", vec!["3"]),
        ("uid_to_team", vec!["3"]),
    ];
    for (key, expected) in cases {
        assert_eq!(r[key], json!(expected), "{key}: {r}");
    }
}
