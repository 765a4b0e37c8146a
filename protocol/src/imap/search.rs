//! SEARCH and UID SEARCH (RFC 3501 §6.4.4): every search key, evaluated per message; header
//! keys read the cached header section, BODY and TEXT read the message.

use baedal_storage::mailstore::StoredMessage;
use chrono::NaiveDate;
use imap_codec::imap_types::core::Vec1;
use imap_codec::imap_types::search::SearchKey;
use mail_parser::decoders::html::html_to_text;
use mail_parser::parsers::MessageStream;
use mail_parser::{HeaderValue, MessageParser, PartType};

use super::mailboxes::has_flag;
use super::session::{Done, Session, State};
use super::wire;

/// What a message offers to search keys; header and body are read only when a key needs them.
struct Candidate<'a> {
    seq: u32,
    recent: bool,
    largest_seq: u32,
    largest_uid: u32,
    message: &'a StoredMessage,
    header: Option<Vec<u8>>,
    blob: Option<Vec<u8>>,
}

fn needs_header(key: &SearchKey<'_>) -> bool {
    match key {
        SearchKey::Bcc(_)
        | SearchKey::Cc(_)
        | SearchKey::From(_)
        | SearchKey::To(_)
        | SearchKey::Subject(_)
        | SearchKey::Header(..) => true,
        SearchKey::SentBefore(_) | SearchKey::SentOn(_) | SearchKey::SentSince(_) => true,
        SearchKey::And(keys) => keys.as_ref().iter().any(needs_header),
        SearchKey::Not(k) => needs_header(k),
        SearchKey::Or(a, b) => needs_header(a) || needs_header(b),
        _ => false,
    }
}

pub(super) fn needs_body(key: &SearchKey<'_>) -> bool {
    match key {
        SearchKey::Body(_) | SearchKey::Text(_) => true,
        SearchKey::And(keys) => keys.as_ref().iter().any(needs_body),
        SearchKey::Not(k) => needs_body(k),
        SearchKey::Or(a, b) => needs_body(a) || needs_body(b),
        _ => false,
    }
}

fn contains(haystack: &str, needle: &[u8]) -> bool {
    haystack
        .to_lowercase()
        .contains(&String::from_utf8_lossy(needle).to_lowercase())
}

/// A field value with its encoded words (RFC 2047) decoded.
fn decoded(value: &[u8]) -> String {
    // mail-parser reads a value up to the end of its line.
    let mut line = value.to_vec();
    line.push(b'\n');
    match MessageStream::new(&line).parse_unstructured() {
        HeaderValue::Text(text) => text.into_owned(),
        _ => String::from_utf8_lossy(value).into_owned(),
    }
}

/// An address field written out again from its parsed list, names decoded:
/// `group: Name <mailbox@host>, <mailbox@host>;`, so that a search for `Bob Lee <bob@x>`
/// finds `"Bob Lee" <bob@x>` too.
fn normalized_addresses(value: &[u8]) -> String {
    let mut out = String::new();
    for a in super::address::parse(value) {
        let text = |s: &Option<Vec<u8>>| s.as_deref().map(decoded).unwrap_or_default();
        if a.is_group_marker() {
            match &a.mailbox {
                Some(_) => out.push_str(&format!("{}: ", text(&a.mailbox))),
                None => out.push_str("; "),
            }
        } else {
            out.push_str(&format!(
                "{} <{}@{}>, ",
                text(&a.name),
                text(&a.mailbox),
                text(&a.host)
            ));
        }
    }
    out
}

/// The date of a Date header value as written (`[day-name ","] day month year ...`): RFC 3501
/// §6.4.4 compares it disregarding time and time zone, so `Mon, 7 Dec 2026 01:00:00 +0900`
/// is 7 December even though it is 6 December in UTC.
fn written_date(value: &[u8]) -> Option<NaiveDate> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let text = String::from_utf8_lossy(value);
    let mut words = text
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty());
    let mut word = words.next()?;
    if word.starts_with(|c: char| c.is_ascii_alphabetic()) {
        word = words.next()?;
    }
    let day: u32 = word.parse().ok()?;
    let month = words.next()?.get(..3)?.to_ascii_lowercase();
    let month = MONTHS.iter().position(|m| *m == month)? as u32 + 1;
    let year_text = words.next()?;
    let year: i32 = year_text.parse().ok()?;
    // RFC 5322 §4.3 obs-year: two digits are 20xx below 50 and 19xx from 50, three are 1900+.
    let year = match year_text.len() {
        2 if year < 50 => year + 2000,
        2 => year + 1900,
        3 => year + 1900,
        _ => year,
    };
    NaiveDate::from_ymd_opt(year, month, day)
}

pub(super) fn day(secs: i64) -> NaiveDate {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|d| d.date_naive())
        .unwrap_or_default()
}

/// The values of every occurrence of the header field `name` in a header section.
fn values(header: &[u8], name: &[u8]) -> Vec<Vec<u8>> {
    wire::fields(header)
        .into_iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
        .collect()
}

/// RFC 3501 §6.4.4: the (last) Date header's date as written.
fn sent_day(header: &[u8]) -> Option<NaiveDate> {
    written_date(values(header, b"Date").last()?)
}

/// True when any occurrence of the field holds `needle` (RFC 3501 §6.4.4: a substring,
/// case-insensitive), as written or decoded; an address field also as written out again
/// from its addresses. Group names are part of the value (`TO undisclosed` finds
/// `To: undisclosed-recipients:;`), as with Dovecot.
fn field_contains(header: &[u8], name: &[u8], needle: &[u8], addresses: bool) -> bool {
    values(header, name).iter().any(|value| {
        contains(&String::from_utf8_lossy(value), needle)
            || contains(&decoded(value), needle)
            || (addresses && contains(&normalized_addresses(value), needle))
    })
}

/// RFC 3501 §6.4.4 BODY: the text of the whole body, decoded: the text bodies, and the text
/// parts that are attachments (a `text/plain` with `Content-Disposition: attachment` is not a
/// text body, but it is in the body), HTML as text.
fn body_text(msg: &mail_parser::Message<'_>) -> String {
    let mut parts: Vec<String> = (0..msg.text_body_count())
        .filter_map(|i| msg.body_text(i).map(|t| t.into_owned()))
        .collect();
    for part in msg.attachments() {
        match &part.body {
            PartType::Text(text) => parts.push(text.to_string()),
            PartType::Html(html) => parts.push(html_to_text(html)),
            _ => {}
        }
    }
    parts.join("\n")
}

/// RFC 3501 §6.4.4 TEXT: the header section as written, and each field again with its
/// encoded words (RFC 2047) decoded, as SUBJECT and HEADER see it.
fn header_text(header: &[u8]) -> String {
    let mut text = String::from_utf8_lossy(header).into_owned();
    for (name, value) in wire::fields(header) {
        text.push_str(&String::from_utf8_lossy(name));
        text.push_str(": ");
        text.push_str(&decoded(&value));
        text.push('\n');
    }
    text
}

impl Candidate<'_> {
    fn header(&self) -> &[u8] {
        self.header.as_deref().unwrap_or(b"")
    }

    fn field_contains(&self, name: &[u8], needle: &[u8], addresses: bool) -> bool {
        field_contains(self.header(), name, needle, addresses)
    }

    fn matches(&self, key: &SearchKey<'_>) -> bool {
        let m = self.message;
        match key {
            SearchKey::All => true,
            SearchKey::And(keys) => keys.as_ref().iter().all(|k| self.matches(k)),
            SearchKey::Or(a, b) => self.matches(a) || self.matches(b),
            SearchKey::Not(k) => !self.matches(k),
            SearchKey::SequenceSet(set) => {
                super::selected::contains(set, self.seq, self.largest_seq)
            }
            SearchKey::Uid(set) => super::selected::contains(set, m.uid as u32, self.largest_uid),
            SearchKey::Answered => has_flag(&m.flags, "\\Answered"),
            SearchKey::Unanswered => !has_flag(&m.flags, "\\Answered"),
            SearchKey::Deleted => has_flag(&m.flags, "\\Deleted"),
            SearchKey::Undeleted => !has_flag(&m.flags, "\\Deleted"),
            SearchKey::Draft => has_flag(&m.flags, "\\Draft"),
            SearchKey::Undraft => !has_flag(&m.flags, "\\Draft"),
            SearchKey::Flagged => has_flag(&m.flags, "\\Flagged"),
            SearchKey::Unflagged => !has_flag(&m.flags, "\\Flagged"),
            SearchKey::Seen => has_flag(&m.flags, "\\Seen"),
            SearchKey::Unseen => !has_flag(&m.flags, "\\Seen"),
            SearchKey::Keyword(k) => has_flag(&m.flags, k.as_ref()),
            SearchKey::Unkeyword(k) => !has_flag(&m.flags, k.as_ref()),
            SearchKey::Recent => self.recent,
            SearchKey::New => self.recent && !has_flag(&m.flags, "\\Seen"),
            SearchKey::Old => !self.recent,
            SearchKey::Larger(n) => m.size > i64::from(*n),
            SearchKey::Smaller(n) => m.size < i64::from(*n),
            SearchKey::Before(d) => day(m.internal_date) < *d.as_ref(),
            SearchKey::On(d) => day(m.internal_date) == *d.as_ref(),
            SearchKey::Since(d) => day(m.internal_date) >= *d.as_ref(),
            SearchKey::SentBefore(d) => sent_day(self.header()).is_some_and(|s| s < *d.as_ref()),
            SearchKey::SentOn(d) => sent_day(self.header()).is_some_and(|s| s == *d.as_ref()),
            SearchKey::SentSince(d) => sent_day(self.header()).is_some_and(|s| s >= *d.as_ref()),
            SearchKey::Subject(s) => self.field_contains(b"Subject", s.as_ref(), false),
            SearchKey::From(s) => self.field_contains(b"From", s.as_ref(), true),
            SearchKey::To(s) => self.field_contains(b"To", s.as_ref(), true),
            SearchKey::Cc(s) => self.field_contains(b"Cc", s.as_ref(), true),
            SearchKey::Bcc(s) => self.field_contains(b"Bcc", s.as_ref(), true),
            // RFC 3501 §6.4.4: any occurrence of a repeated field; an empty string finds
            // every message that has the field.
            SearchKey::Header(name, value) => {
                self.field_contains(name.as_ref(), value.as_ref(), false)
            }
            // RFC 7162 §3.1.5 (per-flag entries are not kept apart: the message's modseq).
            SearchKey::ModSequence { modseq, .. } => m.modseq as u64 >= *modseq,
            SearchKey::Body(s) | SearchKey::Text(s) => {
                let blob = self.blob.as_deref().unwrap_or(b"");
                let text = match MessageParser::default().parse(blob) {
                    Some(msg) => body_text(&msg),
                    None => String::from_utf8_lossy(blob).into_owned(),
                };
                let header = if matches!(key, SearchKey::Text(_)) {
                    header_text(self.header())
                } else {
                    String::new()
                };
                contains(&text, s.as_ref()) || contains(&header, s.as_ref())
            }
        }
    }
}

/// The messages a search matched: indexes into the session's picture, ascending.
pub(super) struct Matched {
    pub indexes: Vec<usize>,
    /// RFC 7162 §3.1.5: the highest modseq among them, when the criteria used MODSEQ.
    pub modseq: Option<i64>,
}

fn uses_modseq(key: &SearchKey<'_>) -> bool {
    match key {
        SearchKey::ModSequence { .. } => true,
        SearchKey::And(keys) => keys.as_ref().iter().any(uses_modseq),
        SearchKey::Not(k) => uses_modseq(k),
        SearchKey::Or(a, b) => uses_modseq(a) || uses_modseq(b),
        _ => false,
    }
}

impl Session {
    /// Evaluates search criteria over the selected mailbox as the client knows it (SEARCH,
    /// ESEARCH, SORT, THREAD). `Err` is the completion to send instead.
    pub(super) async fn matching(
        &mut self,
        charset: Option<&str>,
        criteria: &Vec1<SearchKey<'_>>,
    ) -> Result<Matched, Done> {
        if let Some(charset) = charset
            && !charset.eq_ignore_ascii_case("UTF-8")
            && !charset.eq_ignore_ascii_case("US-ASCII")
        {
            return Err(Done::no(
                "[BADCHARSET (UTF-8 US-ASCII)] Unsupported charset",
            ));
        }
        let State::Selected(_, selected) = &self.state else {
            return Err(Done::bad("No mailbox selected"));
        };
        let view = selected.view.clone();
        let messages = &view.messages;
        let recent = selected.recent.clone();
        let key = SearchKey::And(criteria.clone());
        // RFC 7162 §3.1: SEARCH MODSEQ is a CONDSTORE-enabling command.
        let with_modseq = uses_modseq(&key);
        if with_modseq {
            self.enabled.condstore = true;
        }
        let (header_needed, body_needed) = (needs_header(&key), needs_body(&key));
        let largest_uid = messages.last().map(|m| m.uid as u32).unwrap_or(0);
        let mut hits = Vec::new();
        for (i, m) in messages.iter().enumerate() {
            if header_needed && i % super::fetch::HEADER_BATCH == 0 {
                let batch: Vec<usize> =
                    (i..messages.len().min(i + super::fetch::HEADER_BATCH)).collect();
                self.prefetch_headers(&batch).await;
            }
            let header = if header_needed || body_needed {
                match self.header_of(m).await {
                    Ok(h) => Some(h),
                    Err(e) => return Err(self.unavailable(e)),
                }
            } else {
                None
            };
            let blob = if body_needed {
                match self.blob_of(m).await {
                    Ok(b) => Some(b),
                    Err(e) => return Err(self.unavailable(e)),
                }
            } else {
                None
            };
            let candidate = Candidate {
                seq: i as u32 + 1,
                recent: recent.contains(&m.uid),
                largest_seq: messages.len() as u32,
                largest_uid,
                message: m,
                header,
                blob,
            };
            if candidate.matches(&key) {
                hits.push(i);
            }
        }
        self.headers = Default::default();
        let modseq = with_modseq
            .then(|| hits.iter().map(|&i| messages[i].modseq).max())
            .flatten();
        Ok(Matched {
            indexes: hits,
            modseq,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sent_dates_are_the_dates_as_written() {
        // (Date header value, date)
        let cases: &[(&str, Option<&str>)] = &[
            // RFC 3501 §6.4.4: 6 December in UTC, but written as 7 December.
            ("Mon, 7 Dec 2026 01:00:00 +0900", Some("2026-12-07")),
            ("Sun, 06 Dec 2026 23:30:00 -0500 (EST)", Some("2026-12-06")),
            ("7 Dec 2026 01:00 +0900", Some("2026-12-07")),
            ("Mon,7 dec 2026 01:00:00 GMT", Some("2026-12-07")),
            ("Mon, 7 December 2026", Some("2026-12-07")),
            ("Tue, 1 Jan 99 00:00:00 +0000", Some("1999-01-01")),
            ("Tue, 1 Jan 26 00:00:00 +0000", Some("2026-01-01")),
            ("Tue, 1 Jan 126 00:00:00 +0000", Some("2026-01-01")),
            ("Mon, 31 Feb 2026 00:00:00 +0000", None),
            ("garbage", None),
            ("", None),
        ];
        for (value, expected) in cases {
            let expected = expected.map(|d| d.parse::<NaiveDate>().unwrap());
            assert_eq!(written_date(value.as_bytes()), expected, "for {value:?}");
        }
        let header =
            b"Date: Sun, 6 Dec 2026 10:00:00 +0000\r\nDate: Mon, 7 Dec 2026 01:00:00 +0900\r\n\r\n";
        assert_eq!(sent_day(header), NaiveDate::from_ymd_opt(2026, 12, 7));
        assert_eq!(sent_day(b"Subject: no date\r\n\r\n"), None);
    }

    #[test]
    fn header_keys_match_any_occurrence_and_group_names() {
        let header = b"Received: from a.test by mx\r\nReceived: from b.test\r\n by mx\r\n\
X-Tag: first\r\nX-Tag: second\r\nSubject: =?UTF-8?Q?Caf=C3=A9?= menu\r\n\
From: \"Bob Lee\" <bob@remote.test>\r\nTo: undisclosed-recipients:;\r\n\
Cc: =?UTF-8?B?67CV7KeA7Jew?= <jiyeon@remote.test>, team: ann@t.test;\r\n\r\n";
        // (field, string, address field, matches)
        let cases: &[(&str, &str, bool, bool)] = &[
            ("Received", "a.test", false, true),
            ("received", "B.TEST BY", false, true),
            ("X-Tag", "first", false, true),
            ("X-Tag", "second", false, true),
            ("X-Tag", "third", false, false),
            // An empty string finds the messages that have the field.
            ("X-Tag", "", false, true),
            ("X-Other", "", false, false),
            ("Subject", "café", false, true),
            ("Subject", "Caf=C3=A9", false, true),
            ("From", "bob lee <bob@remote.test>", true, true),
            ("From", "\"Bob Lee\"", true, true),
            ("From", "remote.test", true, true),
            ("To", "undisclosed", true, true),
            ("To", "undisclosed-recipients:;", true, true),
            ("To", "alice", true, false),
            ("Cc", "박지연", true, true),
            ("Cc", "team", true, true),
            ("Cc", "ann@t.test", true, true),
            ("Bcc", "", true, false),
        ];
        for (field, needle, addresses, expected) in cases {
            assert_eq!(
                field_contains(header, field.as_bytes(), needle.as_bytes(), *addresses),
                *expected,
                "{field} {needle:?}"
            );
        }
    }

    #[test]
    fn body_and_text_see_attachments_and_decoded_headers() {
        let message = b"Subject: =?UTF-8?B?W+qzteyngF0g7ZqM7J2Y?=\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n\
See the attachment.\r\n--b\r\nContent-Type: text/plain; name=n.txt\r\n\
Content-Disposition: attachment; filename=n.txt\r\nContent-Transfer-Encoding: base64\r\n\r\n\
d29tYmF0IG5vdGVz\r\n--b--\r\n";
        let msg = MessageParser::default().parse(&message[..]).unwrap();
        let body = body_text(&msg);
        assert!(contains(&body, b"attachment."), "{body}");
        // "wombat notes", base64 in a text attachment.
        assert!(contains(&body, b"WOMBAT"), "{body}");
        let end = message.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let header = header_text(&message[..end]);
        assert!(contains(&header, "공지".as_bytes()), "{header}");
        assert!(contains(&header, b"multipart/mixed"), "{header}");
    }
}
