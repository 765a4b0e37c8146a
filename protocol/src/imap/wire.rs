//! IMAP response syntax (RFC 3501 §4, §9): strings as quoted or literal, NIL, flag lists,
//! dates, and the ENVELOPE structure built from a cached header section.

use mail_parser::{Address, MessageParser};

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

/// RFC 3501 §7.4.2 ENVELOPE from a header section.
pub fn envelope(out: &mut Vec<u8>, header: &[u8]) {
    // mail-parser wants a message; a header section with its blank line is one.
    let parsed = MessageParser::default().parse_headers(header);
    let Some(message) = parsed else {
        out.extend_from_slice(b"(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
        return;
    };
    let raw = |name: &str| -> Option<Vec<u8>> {
        message
            .header_raw(name)
            .map(|v| unfold(v.trim()).into_bytes())
    };
    out.push(b'(');
    nstring(out, raw("Date").as_deref());
    out.push(b' ');
    nstring(out, raw("Subject").as_deref());
    let from = message.from();
    // RFC 3501 §7.4.2: sender and reply-to default to from.
    for list in [
        from,
        message.sender().or(from),
        message.reply_to().or(from),
        message.to(),
        message.cc(),
        message.bcc(),
    ] {
        out.push(b' ');
        addresses(out, list);
    }
    out.push(b' ');
    nstring(out, raw("In-Reply-To").as_deref());
    out.push(b' ');
    nstring(out, raw("Message-ID").as_deref());
    out.push(b')');
}

fn unfold(s: &str) -> String {
    s.replace("\r\n", "").replace('\n', "")
}

fn addresses(out: &mut Vec<u8>, list: Option<&Address<'_>>) {
    let Some(list) = list else {
        out.extend_from_slice(b"NIL");
        return;
    };
    let addrs: Vec<_> = list.iter().collect();
    if addrs.is_empty() {
        out.extend_from_slice(b"NIL");
        return;
    }
    out.push(b'(');
    for a in addrs {
        let (mailbox, host) = match a.address.as_deref().and_then(|e| e.rsplit_once('@')) {
            Some((m, h)) => (Some(m.to_string()), Some(h.to_string())),
            None => (a.address.as_deref().map(str::to_string), None),
        };
        out.push(b'(');
        // RFC 3501 §7.4.2: envelope strings are 7-bit; a decoded non-ASCII display name is
        // encoded again as an RFC 2047 word.
        let name = a.name.as_deref().map(|n| {
            if n.is_ascii() {
                n.to_string()
            } else {
                use base64::Engine;
                format!(
                    "=?UTF-8?B?{}?=",
                    base64::engine::general_purpose::STANDARD.encode(n)
                )
            }
        });
        nstring(out, name.as_deref().map(str::as_bytes));
        out.extend_from_slice(b" NIL ");
        nstring(out, mailbox.as_deref().map(str::as_bytes));
        out.push(b' ');
        nstring(out, host.as_deref().map(str::as_bytes));
        out.push(b')');
    }
    out.push(b')');
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
