//! IMAP response syntax (RFC 3501 §4, §9): strings as quoted or literal, NIL, flag lists,
//! dates, and the ENVELOPE structure built from a cached header section.

/// A string as IMAP sends it: quoted when it is short and safe, a literal otherwise.
pub fn string(out: &mut Vec<u8>, s: &[u8]) {
    let quotable = s.len() < 1024 && s.iter().all(|b| (0x20..0x7f).contains(b));
    if quotable {
        out.push(b'"');
        for &b in s {
            if b == b'"' || b == b'\\' {
                out.push(b'\\');
            }
            out.push(b);
        }
        out.push(b'"');
    } else {
        literal(out, s);
    }
}

/// `{n}\r\n` followed by the bytes.
pub fn literal(out: &mut Vec<u8>, s: &[u8]) {
    out.extend_from_slice(format!("{{{}}}\r\n", s.len()).as_bytes());
    out.extend_from_slice(s);
}

/// NIL or a string.
pub fn nstring(out: &mut Vec<u8>, s: Option<&[u8]>) {
    match s {
        Some(s) => string(out, s),
        None => out.extend_from_slice(b"NIL"),
    }
}

/// `21-Nov-2026 06:43:05 +0000` (RFC 3501 date-time), from seconds since the epoch.
pub fn internal_date(secs: i64) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = crate::time::civil_from_days(days);
    format!(
        "{d:02}-{}-{y} {:02}:{:02}:{:02} +0000",
        MONTHS[(m - 1) as usize],
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// RFC 3501 §7.4.2 ENVELOPE from a header section. Strings are sent as written (unfolded):
/// encoded words are not decoded, address lists keep their groups and source routes.
pub fn envelope(out: &mut Vec<u8>, header: &[u8]) {
    let fields = fields(header);
    // The last of a repeated field, as mail-parser (and so the rest of the server) reads it.
    let value = |name: &str| -> Option<&[u8]> {
        fields
            .iter()
            .rev()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v.as_slice())
    };
    let list = |name: &str| value(name).map(super::address::parse).unwrap_or_default();
    out.push(b'(');
    nstring(out, value("Date"));
    out.push(b' ');
    nstring(out, value("Subject"));
    let from = list("From");
    // RFC 3501 §7.4.2: sender and reply-to default to from when absent or empty.
    let or_from = |l: Vec<super::address::Address>| if l.is_empty() { from.clone() } else { l };
    for addresses in [
        from.clone(),
        or_from(list("Sender")),
        or_from(list("Reply-To")),
        list("To"),
        list("Cc"),
        list("Bcc"),
    ] {
        out.push(b' ');
        address_list(out, &addresses);
    }
    out.push(b' ');
    nstring(out, value("In-Reply-To"));
    out.push(b' ');
    nstring(out, value("Message-ID"));
    out.push(b')');
}

fn address_list(out: &mut Vec<u8>, list: &[super::address::Address]) {
    if list.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for a in list {
        out.push(b'(');
        // RFC 3501 §7.4.2: envelope strings are 7-bit; a raw 8-bit display name (an
        // SMTPUTF8 message) is sent as an RFC 2047 word.
        let name = a.name.as_deref().map(|n| {
            if n.is_ascii() {
                n.to_vec()
            } else {
                use base64::Engine;
                format!(
                    "=?UTF-8?B?{}?=",
                    base64::engine::general_purpose::STANDARD.encode(n)
                )
                .into_bytes()
            }
        });
        nstring(out, name.as_deref());
        out.push(b' ');
        nstring(out, a.adl.as_deref());
        out.push(b' ');
        nstring(out, a.mailbox.as_deref());
        out.push(b' ');
        nstring(out, a.host.as_deref());
        out.push(b')');
    }
    out.push(b')');
}

/// The fields of a header section in order: each name (as written, without trailing
/// whitespace) and value (what follows the colon, unfolded, without surrounding whitespace).
/// Lines without a colon are skipped; the section ends at its blank line.
pub fn fields(header: &[u8]) -> Vec<(&[u8], Vec<u8>)> {
    let mut fields: Vec<(&[u8], Vec<u8>)> = Vec::new();
    let mut in_field = false;
    for line in split_lines(header) {
        if line == b"\r\n" || line == b"\n" {
            break;
        }
        let content = line
            .strip_suffix(b"\n")
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
            .unwrap_or(line);
        let continuation = line.first().is_some_and(|&b| b == b' ' || b == b'\t');
        if continuation {
            // RFC 5322 §2.2.3: unfolding removes the line break, not the whitespace.
            if in_field && let Some((_, value)) = fields.last_mut() {
                value.extend_from_slice(content);
            }
            continue;
        }
        in_field = false;
        if let Some(colon) = content.iter().position(|&b| b == b':') {
            let name = content[..colon].trim_ascii_end();
            fields.push((name, content[colon + 1..].to_vec()));
            in_field = true;
        }
    }
    for (_, value) in &mut fields {
        *value = value.trim_ascii().to_vec();
    }
    fields
}

/// Bytes of the header section of a message (or of an encapsulated one), through the
/// blank line that ends it; all of it when there is none.
pub fn header_len(message: &[u8]) -> usize {
    let mut len = 0;
    for line in split_lines(message) {
        len += line.len();
        if line == b"\r\n" || line == b"\n" {
            return len;
        }
    }
    message.len()
}

/// The header lines of `header` whose field names are (or, with `not`, are not) in `names`.
pub fn header_fields(header: &[u8], names: &[String], not: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut keep = false;
    for line in split_lines(header) {
        let continuation = line.first().is_some_and(|&b| b == b' ' || b == b'\t');
        if line == b"\r\n" || line == b"\n" {
            break;
        }
        if !continuation {
            let name = line.split(|&b| b == b':').next().unwrap_or(b"");
            let name = String::from_utf8_lossy(name).trim().to_ascii_lowercase();
            keep = names.iter().any(|n| n.eq_ignore_ascii_case(&name)) != not;
        }
        if keep {
            out.extend_from_slice(line);
        }
    }
    // The blank line that ends a header section (RFC 3501 §6.4.5).
    out.extend_from_slice(b"\r\n");
    out
}

fn split_lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    bytes.split_inclusive(|&b| b == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_quoted_or_literal() {
        let mut out = Vec::new();
        string(&mut out, b"a \"b\"");
        out.push(b' ');
        string(&mut out, "é".as_bytes());
        assert_eq!(out, b"\"a \\\"b\\\"\" {2}\r\n\xc3\xa9");
    }

    #[test]
    fn dates_and_envelopes() {
        assert_eq!(internal_date(1_795_242_900), "21-Nov-2026 06:35:00 +0000");
        let mut out = Vec::new();
        envelope(
            &mut out,
            b"Date: Sat, 21 Nov 2026 06:35:00 +0000\r\nFrom: Alice Kim <alice@example.org>\r\nTo: bob@example.org, \"C\" <c@x.test>\r\nSubject: hi\r\nMessage-ID: <1@x>\r\n\r\n",
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "(\"Sat, 21 Nov 2026 06:35:00 +0000\" \"hi\" ((\"Alice Kim\" NIL \"alice\" \"example.org\")) \
((\"Alice Kim\" NIL \"alice\" \"example.org\")) ((\"Alice Kim\" NIL \"alice\" \"example.org\")) \
((NIL NIL \"bob\" \"example.org\")(\"C\" NIL \"c\" \"x.test\")) NIL NIL NIL \"<1@x>\")"
        );
    }

    fn envelope_of(header: &str) -> String {
        let mut out = Vec::new();
        envelope(&mut out, header.as_bytes());
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn envelopes_keep_groups_routes_and_encoded_words() {
        // (header section, expected ENVELOPE)
        let cases: &[(&str, &str)] = &[
            (
                "From: a@x\r\nTo: group: a@x, b@y;\r\n\r\n",
                r#"(NIL NIL ((NIL NIL "a" "x")) ((NIL NIL "a" "x")) ((NIL NIL "a" "x")) ((NIL NIL "group" NIL)(NIL NIL "a" "x")(NIL NIL "b" "y")(NIL NIL NIL NIL)) NIL NIL NIL NIL)"#,
            ),
            (
                "To: undisclosed-recipients:;\r\nCc: undisclosed-recipients: (none) ;\r\nBcc: <@route1,@route2:user@domain>\r\n\r\n",
                r#"(NIL NIL NIL NIL NIL ((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)) ((NIL NIL "undisclosed-recipients" NIL)(NIL NIL NIL NIL)) ((NIL "@route1,@route2" "user" "domain")) NIL NIL)"#,
            ),
            // Folded fields are unfolded; an empty Sender and Reply-To fall back to From.
            (
                "Subject: a\r\n  folded =?UTF-8?Q?w=C3=B6rd?=\r\nFrom: \"Lee, Bob\"\r\n <bob@x>\r\nSender:\r\nReply-To: \r\n\r\n",
                r#"(NIL "a  folded =?UTF-8?Q?w=C3=B6rd?=" (("Lee, Bob" NIL "bob" "x")) (("Lee, Bob" NIL "bob" "x")) (("Lee, Bob" NIL "bob" "x")) NIL NIL NIL NIL NIL)"#,
            ),
            // A raw UTF-8 display name (SMTPUTF8) is sent as an encoded word.
            (
                "From: Café <c@x>\r\n\r\n",
                r#"(NIL NIL (("=?UTF-8?B?Q2Fmw6k=?=" NIL "c" "x")) (("=?UTF-8?B?Q2Fmw6k=?=" NIL "c" "x")) (("=?UTF-8?B?Q2Fmw6k=?=" NIL "c" "x")) NIL NIL NIL NIL NIL)"#,
            ),
            ("", "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"),
        ];
        for (header, expected) in cases {
            assert_eq!(envelope_of(header), *expected, "for {header:?}");
        }
    }

    #[test]
    fn fields_and_header_length() {
        let h =
            b"Received: a\r\n b\r\nX-Tag: one\r\nnot a field\r\nX-Tag :two \r\n\r\nX-Body: no\r\n";
        let f: Vec<(String, String)> = fields(h)
            .into_iter()
            .map(|(n, v)| {
                (
                    String::from_utf8_lossy(n).into_owned(),
                    String::from_utf8(v).unwrap(),
                )
            })
            .collect();
        assert_eq!(
            f,
            [
                ("Received".to_string(), "a b".to_string()),
                ("X-Tag".to_string(), "one".to_string()),
                ("X-Tag".to_string(), "two".to_string()),
            ]
        );
        // (message, header length)
        for (m, len) in [
            (&b"A: b\r\n\r\nbody"[..], 8),
            (b"\r\nbody", 2),
            (b"A: b\n\nbody", 6),
            (b"A: b\r\n", 6),
            (b"", 0),
        ] {
            assert_eq!(header_len(m), len, "{m:?}");
        }
    }

    #[test]
    fn selects_header_fields() {
        let h = b"Subject: a\r\nX-Long: b\r\n c\r\nFrom: d\r\n\r\n";
        assert_eq!(
            header_fields(h, &["subject".into(), "x-long".into()], false),
            b"Subject: a\r\nX-Long: b\r\n c\r\n\r\n"
        );
        assert_eq!(
            header_fields(h, &["subject".into()], true),
            b"X-Long: b\r\n c\r\nFrom: d\r\n\r\n"
        );
    }
}
