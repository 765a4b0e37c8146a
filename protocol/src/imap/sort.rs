//! SORT (RFC 5256 §3) with the DISPLAYFROM and DISPLAYTO keys (RFC 5957 §2): the keys of
//! each message are read once from its cached header section, then the messages are ordered
//! by them, ties in sequence order.
//!
//! A repeated header field is read as its last occurrence, as ENVELOPE (and mail-parser, and
//! so SEARCH) read it here, so that a client sorting by what it was shown agrees with SORT.

use std::cmp::Ordering;

use chrono::NaiveDate;
use imap_codec::imap_types::extensions::sort::{SortCriterion, SortKey};
use unicode_normalization::UnicodeNormalization;

pub(super) use super::base_subject::base_subject;
use super::base_subject::decoded;
use super::{address, wire};

/// What SORT and THREAD read of one message: all from the index (cached header section).
pub(super) struct SortInput<'a> {
    /// Sequence number or UID, whatever the response shows.
    pub id: u32,
    /// The message's raw header section (through the blank line).
    pub header: &'a [u8],
    /// Seconds since the epoch (INTERNALDATE).
    pub internal_date: i64,
    /// RFC822.SIZE.
    pub size: i64,
}

/// The header fields SORT and THREAD read: unfolded values, the last of each repeated field.
#[derive(Debug, Default)]
pub(super) struct Fields {
    pub date: Option<Vec<u8>>,
    pub subject: Option<Vec<u8>>,
    pub from: Option<Vec<u8>>,
    pub to: Option<Vec<u8>>,
    pub cc: Option<Vec<u8>>,
    pub message_id: Option<Vec<u8>>,
    pub references: Option<Vec<u8>>,
    pub in_reply_to: Option<Vec<u8>>,
}

impl Fields {
    pub(super) fn read(header: &[u8]) -> Self {
        let mut fields = Self::default();
        for (name, value) in wire::fields(header) {
            let slot = match name.to_ascii_lowercase().as_slice() {
                b"date" => &mut fields.date,
                b"subject" => &mut fields.subject,
                b"from" => &mut fields.from,
                b"to" => &mut fields.to,
                b"cc" => &mut fields.cc,
                b"message-id" => &mut fields.message_id,
                b"references" => &mut fields.references,
                b"in-reply-to" => &mut fields.in_reply_to,
                _ => continue,
            };
            *slot = Some(value);
        }
        fields
    }
}

/// RFC 5256 §2.2 sent date in seconds since the epoch: the Date field normalised to UTC, or
/// the internal date when there is none or it has no valid date.
pub(super) fn sent_date(date: Option<&[u8]>, internal_date: i64) -> i64 {
    date.and_then(parse_date).unwrap_or(internal_date)
}

/// RFC 5322 §3.3 date-time with the obsolete forms of §4.3 (no day name, two- and three-digit
/// years, alphabetic zones, comments, no seconds) and the asctime order `Nov 21 06:35:00 2026`,
/// in seconds since the epoch. RFC 5256 §2.2: a time zone that is missing or invalid is UTC,
/// a time that is missing or invalid is 00:00:00; None when there is no valid date.
fn parse_date(value: &[u8]) -> Option<i64> {
    // Comments (nested, with quoted pairs) become spaces.
    let mut text = String::with_capacity(value.len());
    let mut depth = 0usize;
    let mut escaped = false;
    for ch in String::from_utf8_lossy(value).chars() {
        if depth > 0 {
            match ch {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            if depth == 0 {
                text.push(' ');
            }
        } else if ch == '(' {
            depth = 1;
            text.push(' ');
        } else {
            text.push(ch);
        }
    }
    let mut words: Vec<&str> = text
        .split(|c: char| c.is_ascii_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .collect();
    // An optional day name (RFC 5322 §4.3 allows it without its comma).
    if words
        .first()
        .is_some_and(|w| w.starts_with(|c: char| c.is_ascii_alphabetic()) && month(w).is_none())
    {
        words.remove(0);
    }
    let (day, month, year, time, zone) = if let Some(m) = words.first().and_then(|w| month(w)) {
        // asctime: month day time year
        let (time, year) = match words.get(2) {
            Some(t) if t.contains(':') => (Some(*t), words.get(3)?),
            _ => (None, words.get(2)?),
        };
        let zone = words.get(if time.is_some() { 4 } else { 3 }).copied();
        (*words.get(1)?, m, *year, time, zone)
    } else {
        let time = words.get(3).copied().filter(|t| t.contains(':'));
        let zone = words.get(if time.is_some() { 4 } else { 3 }).copied();
        (
            *words.first()?,
            month(words.get(1)?)?,
            *words.get(2)?,
            time,
            zone,
        )
    };
    let day: u32 = digits(day, 1, 2)?.parse().ok()?;
    let year_number: i32 = digits(year, 2, 4)?.parse().ok()?;
    // RFC 5322 §4.3 obs-year: two digits are 20xx below 50 and 19xx from 50, three are 1900+.
    let year = match year.len() {
        2 if year_number < 50 => year_number + 2000,
        2 | 3 => year_number + 1900,
        _ => year_number,
    };
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    // A zone written against the time (`06:35:00+0900`) is split off it.
    let (time, zone) = match time.and_then(|t| t.find(['+', '-']).map(|i| t.split_at(i))) {
        Some((time, attached)) => (Some(time), Some(attached)),
        None => (time, zone),
    };
    let (hour, minute, second) = time.and_then(parse_time).unwrap_or((0, 0, 0));
    let local = date
        .and_hms_opt(hour, minute, second)?
        .and_utc()
        .timestamp();
    Some(local - zone.map_or(0, zone_offset))
}

/// `word` when it is `min` to `max` ASCII digits.
fn digits(word: &str, min: usize, max: usize) -> Option<&str> {
    ((min..=max).contains(&word.len()) && word.bytes().all(|b| b.is_ascii_digit())).then_some(word)
}

/// The month (1 to 12) a word names by its first three letters.
fn month(word: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let prefix = word.get(..3)?.to_ascii_lowercase();
    if !word.bytes().all(|b| b.is_ascii_alphabetic()) {
        return None;
    }
    MONTHS
        .iter()
        .position(|m| *m == prefix)
        .map(|i| i as u32 + 1)
}

/// `hh:mm[:ss]`; a leap second is read as :59.
fn parse_time(time: &str) -> Option<(u32, u32, u32)> {
    let mut parts = time.split(':');
    let mut number = |max: u32| -> Option<u32> {
        let n: u32 = digits(parts.next()?, 1, 2)?.parse().ok()?;
        (n <= max).then_some(n)
    };
    let hour = number(23)?;
    let minute = number(59)?;
    let second = match time.matches(':').count() {
        1 => 0,
        2 => number(60)?.min(59),
        _ => return None,
    };
    Some((hour, minute, second))
}

/// Seconds east of UTC of an RFC 5322 zone: `+hhmm`/`-hhmm` or an obsolete name; anything
/// else (military letters, unknown names, junk) is UTC, as RFC 5322 §4.3 and RFC 5256 §2.2 say.
fn zone_offset(zone: &str) -> i64 {
    let hours = |h: i64| h * 3600;
    if let Some((sign, number)) = zone
        .strip_prefix('+')
        .map(|n| (1, n))
        .or_else(|| zone.strip_prefix('-').map(|n| (-1, n)))
    {
        return match digits(number, 4, 4).and_then(|n| n.parse::<i64>().ok()) {
            Some(n) if n / 100 <= 23 && n % 100 <= 59 => sign * (hours(n / 100) + n % 100 * 60),
            _ => 0,
        };
    }
    match zone.to_ascii_uppercase().as_str() {
        "EDT" => hours(-4),
        "EST" | "CDT" => hours(-5),
        "CST" | "MDT" => hours(-6),
        "MST" | "PDT" => hours(-7),
        "PST" => hours(-8),
        _ => 0,
    }
}

/// RFC 5051 i;unicode-casemap, the collation of SORT (RFC 5256 §1: I18NLEVEL=1 of RFC 5255):
/// each character titlecased, the result decomposed (NFKD, which takes Hangul syllables apart
/// into their jamo as Dovecot does) and titlecased again (a compatibility decomposition such
/// as `ﬁ` gives lower-case letters); keys so prepared compare as UTF-8 octets, that is as
/// strings. Titlecase, not lowercase: `[` (0x5B) sorts after `Z`, and `É` beside `E`.
pub(super) fn unicode_casemap(text: &str) -> String {
    text.chars()
        .map(titlecase)
        .collect::<String>()
        .nfkd()
        .map(titlecase)
        .collect()
}

/// The simple titlecase mapping of UnicodeData.txt, as far as it matters after NFKD: the
/// uppercase letter, except for Georgian Mkhedruli (no titlecase, although it has an
/// uppercase since Unicode 11) and characters whose uppercase is not one character (`ß`,
/// `ŉ`: SpecialCasing, which RFC 5051 does not use), which stay as they are. (The titlecase
/// digraphs such as `ǅ` decompose to their letters, so their uppercase is as good.)
fn titlecase(c: char) -> char {
    if matches!(c, '\u{10D0}'..='\u{10FA}' | '\u{10FD}'..='\u{10FF}') {
        return c;
    }
    let mut upper = c.to_uppercase();
    match (upper.next(), upper.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

/// The first address of an address field as ENVELOPE lists it (RFC 3501 §7.4.2): for a field
/// that starts with a group, the group's start marker, whose addr-mailbox is the group name
/// (RFC 3501 §9 addr-mailbox), as RFC 5256 §3 and RFC 5957 read "the first address".
fn first_address(value: Option<&[u8]>) -> Option<address::Address> {
    address::parse(value?)
        .into_iter()
        // A stray end marker (all NIL) is no address.
        .find(|a| a.mailbox.is_some() || a.host.is_some())
}

/// RFC 5256 §3 FROM, TO, CC: the addr-mailbox of the first address (the group name for a
/// group), i;unicode-casemap; empty when there is none.
fn mailbox_key(value: Option<&[u8]>) -> String {
    let mailbox = first_address(value)
        .and_then(|a| a.mailbox)
        .unwrap_or_default();
    unicode_casemap(&String::from_utf8_lossy(&mailbox))
}

/// RFC 5957 §2 DISPLAYFROM, DISPLAYTO: the decoded display name of the first address, else
/// its addr-spec (`mailbox@host`, the mailbox alone without a host, as for a group, whose
/// name it then is), i;unicode-casemap; empty when there is no address.
fn display_key(value: Option<&[u8]>) -> String {
    let Some(address) = first_address(value) else {
        return String::new();
    };
    let name = address.name.as_deref().map(decoded);
    let text = match name.as_deref().map(str::trim) {
        Some(name) if !name.is_empty() => name.to_string(),
        _ => {
            let mut spec =
                String::from_utf8_lossy(&address.mailbox.unwrap_or_default()).into_owned();
            let host = address.host.unwrap_or_default();
            if !host.is_empty() {
                spec.push('@');
                spec.push_str(&String::from_utf8_lossy(&host));
            }
            spec
        }
    };
    unicode_casemap(&text)
}

/// One sort key of one message; the keys of one criterion are always of the same kind.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Number(i64),
    Text(String),
}

fn key(message: &SortInput<'_>, fields: &Fields, sort_key: &SortKey) -> Key {
    match sort_key {
        SortKey::Arrival => Key::Number(message.internal_date),
        SortKey::Date => Key::Number(sent_date(fields.date.as_deref(), message.internal_date)),
        SortKey::Size => Key::Number(message.size),
        SortKey::From => Key::Text(mailbox_key(fields.from.as_deref())),
        SortKey::To => Key::Text(mailbox_key(fields.to.as_deref())),
        SortKey::Cc => Key::Text(mailbox_key(fields.cc.as_deref())),
        SortKey::Subject => Key::Text(unicode_casemap(&base_subject(
            fields.subject.as_deref().unwrap_or_default(),
        ))),
        SortKey::DisplayFrom => Key::Text(display_key(fields.from.as_deref())),
        SortKey::DisplayTo => Key::Text(display_key(fields.to.as_deref())),
    }
}

/// Sorts by the criteria and returns the ids in order. Ties after all criteria are broken by
/// sequence order (= input order) (RFC 5256 §3); REVERSE does not reverse that.
pub(super) fn sort(messages: &[SortInput<'_>], criteria: &[SortCriterion]) -> Vec<u32> {
    let width = criteria.len();
    let needs_header = criteria
        .iter()
        .any(|c| !matches!(c.key, SortKey::Arrival | SortKey::Size));
    let mut keys = Vec::with_capacity(messages.len() * width);
    for message in messages {
        let fields = if needs_header {
            Fields::read(message.header)
        } else {
            Fields::default()
        };
        keys.extend(criteria.iter().map(|c| key(message, &fields, &c.key)));
    }
    let mut order: Vec<usize> = (0..messages.len()).collect();
    // A stable sort: equal messages stay in input order.
    order.sort_by(|&a, &b| {
        let (a, b) = (&keys[a * width..][..width], &keys[b * width..][..width]);
        for ((a, b), criterion) in a.iter().zip(b).zip(criteria) {
            let ordering = if criterion.reverse {
                b.cmp(a)
            } else {
                a.cmp(b)
            };
            if ordering != Ordering::Equal {
                return ordering;
            }
        }
        Ordering::Equal
    });
    order.into_iter().map(|i| messages[i].id).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn criteria(list: &[(bool, SortKey)]) -> Vec<SortCriterion> {
        list.iter()
            .map(|(reverse, key)| SortCriterion {
                reverse: *reverse,
                key: key.clone(),
            })
            .collect()
    }

    fn input(id: u32, header: &str, internal_date: i64, size: i64) -> SortInput<'_> {
        SortInput {
            id,
            header: header.as_bytes(),
            internal_date,
            size,
        }
    }

    #[test]
    fn dates() {
        let t = |s: &str| chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp();
        // (Date value, UTC time; None for no valid date)
        let cases: &[(&str, Option<&str>)] = &[
            (
                "Sat, 21 Nov 2026 06:35:00 +0000",
                Some("2026-11-21T06:35:00Z"),
            ),
            ("31 Dec 2000 16:01:33 -0800", Some("2001-01-01T00:01:33Z")),
            (
                "Mon, 7 Dec 2026 01:00:00 +0900",
                Some("2026-12-06T16:00:00Z"),
            ),
            // Obsolete forms: no day name, comments, odd spacing, no seconds, named zones.
            (
                "  21   Nov 2026 06:35 (UTC) GMT",
                Some("2026-11-21T06:35:00Z"),
            ),
            ("Fri , 21 Nov 97 09:55:06 EST", Some("1997-11-21T14:55:06Z")),
            ("21 nov 05 09:55:06 PDT", Some("2005-11-21T16:55:06Z")),
            ("21 Nov 104 09:55:06 +0000", Some("2004-11-21T09:55:06Z")),
            (
                "Thursday, 21 November 2026 06:35:00 +0100",
                Some("2026-11-21T05:35:00Z"),
            ),
            ("21 Nov 2026 23:59:60 +0000", Some("2026-11-21T23:59:59Z")),
            ("21 Nov 2026 06:35:00+0900", Some("2026-11-20T21:35:00Z")),
            // asctime order.
            ("Sat Nov 21 06:35:00 2026", Some("2026-11-21T06:35:00Z")),
            // RFC 5256 §2.2: an invalid zone is UTC, an invalid or missing time 00:00:00.
            ("21 Nov 2026 06:35:00 +9999", Some("2026-11-21T06:35:00Z")),
            ("21 Nov 2026 06:35:00 J", Some("2026-11-21T06:35:00Z")),
            ("21 Nov 2026 06:35:00", Some("2026-11-21T06:35:00Z")),
            ("21 Nov 2026 25:00:00 +0100", Some("2026-11-20T23:00:00Z")),
            ("21 Nov 2026", Some("2026-11-21T00:00:00Z")),
            ("21 Nov 2026 +0100", Some("2026-11-20T23:00:00Z")),
            // No valid date.
            ("31 Feb 2026 10:00:00 +0000", None),
            ("yesterday", None),
            ("", None),
            ("21 Foo 2026 10:00:00 +0000", None),
            ("(21 Nov 2026 10:00:00 +0000)", None),
            ("Nov 2026", None),
        ];
        for (value, expected) in cases {
            assert_eq!(
                parse_date(value.as_bytes()),
                expected.map(t),
                "for {value:?}"
            );
        }
        assert_eq!(sent_date(Some(b"junk"), 42), 42);
        assert_eq!(sent_date(None, 42), 42);
    }

    #[test]
    fn sorts_with_reverse_and_several_criteria() {
        let h1 = "From: Bob <bob@x>\r\nDate: Sat, 21 Nov 2026 06:00:00 +0000\r\nSubject: b\r\n\r\n";
        let h2 = "From: alice@x\r\nDate: Sat, 21 Nov 2026 07:00:00 +0000\r\nSubject: Re: a\r\n\r\n";
        let h3 = "From: ALICE@y\r\nDate: Sat, 21 Nov 2026 05:00:00 +0000\r\nSubject: [x] A\r\n\r\n";
        // No Date: sorts by its internal date, 06:30.
        let h4 = "From: carol@x\r\nSubject: c\r\n\r\n";
        let h5 = "Subject: b\r\n\r\n";
        let base = 1_795_219_200; // 2026-11-21T00:00:00Z
        let messages = [
            input(1, h1, base + 10 * 3600, 300),
            input(2, h2, base + 9 * 3600, 100),
            input(3, h3, base + 8 * 3600, 200),
            input(4, h4, base + 6 * 3600 + 1800, 100),
            input(5, h5, base, 50),
        ];
        use SortKey::*;
        // (criteria as (reverse, key), ids in order)
        type Case<'a> = (&'a [(bool, SortKey)], [u32; 5]);
        let cases: &[Case<'_>] = &[
            (&[(false, Arrival)], [5, 4, 3, 2, 1]),
            (&[(false, Date)], [5, 3, 1, 4, 2]),
            (&[(true, Date)], [2, 4, 1, 3, 5]),
            (&[(false, Size)], [5, 2, 4, 3, 1]),
            // Equal sizes keep sequence order, reversed or not.
            (&[(true, Size)], [1, 3, 2, 4, 5]),
            // The missing From is the empty string; the local part is compared caselessly.
            (&[(false, From)], [5, 2, 3, 1, 4]),
            (&[(false, From), (true, Date)], [5, 2, 3, 1, 4]),
            (&[(false, From), (false, Date)], [5, 3, 2, 1, 4]),
            (&[(false, Subject), (false, Date)], [3, 2, 5, 1, 4]),
            (&[(false, Subject), (true, Arrival)], [2, 3, 1, 5, 4]),
            (&[(true, Subject), (false, Size)], [4, 5, 1, 2, 3]),
        ];
        for (list, expected) in cases {
            assert_eq!(sort(&messages, &criteria(list)), expected, "for {list:?}");
        }
        assert_eq!(sort(&messages, &[]), [1, 2, 3, 4, 5]);
        assert_eq!(sort(&[], &criteria(&[(false, Date)])), Vec::<u32>::new());
    }

    #[test]
    fn address_keys() {
        let messages = [
            // The group's start marker is the first address: the group name is the key.
            input(1, "To: team: zed@x, amy@y;\r\nCc: b@x\r\n\r\n", 0, 0),
            input(
                2,
                "To: \"Mike\" <mike@x>\r\nCc: undisclosed-recipients:;\r\n\r\n",
                0,
                0,
            ),
            input(3, "To: Anna <anna@x>, aaron@x\r\nCc: a@x\r\n\r\n", 0, 0),
            input(4, "To: (nobody)\r\n\r\n", 0, 0),
        ];
        use SortKey::*;
        // "" anna mike team; Cc: a b undisclosed-recipients (no Cc: "")
        assert_eq!(sort(&messages, &criteria(&[(false, To)])), [4, 3, 2, 1]);
        assert_eq!(sort(&messages, &criteria(&[(false, Cc)])), [4, 3, 1, 2]);
        assert_eq!(
            sort(&messages, &criteria(&[(false, DisplayTo)])),
            [4, 3, 2, 1]
        );
        assert_eq!(display_key(Some(b"team: zed@x, amy@y;")), "TEAM");
        assert_eq!(display_key(Some(b"empty:;")), "EMPTY");
        assert_eq!(
            mailbox_key(Some(b"undisclosed-recipients:;")),
            "UNDISCLOSED-RECIPIENTS"
        );
        assert_eq!(
            display_key(Some(b"\"\" <Who@Example.ORG>")),
            "WHO@EXAMPLE.ORG"
        );
        assert_eq!(display_key(Some(b"local")), "LOCAL");
        assert_eq!(mailbox_key(Some(b"Bob <Bob.Lee@X>")), "BOB.LEE");
        // i;ascii-casemap and i;unicode-casemap map to upper case: "_" (0x5F) sorts after
        // the letters, "[" (0x5B) too.
        assert!(mailbox_key(Some(b"a_b@x")) > mailbox_key(Some(b"ab@x")));
    }

    #[test]
    fn display_from_decodes_names() {
        let messages = [
            // 박지연 (UTF-8) and 김철수 (EUC-KR) as encoded words; the Hangul sort after Latin.
            input(1, "From: =?UTF-8?B?67CV7KeA7Jew?= <jiyeon@x>\r\n\r\n", 0, 0),
            input(2, "From: =?EUC-KR?B?sejDtrz2?= <cs@x>\r\n\r\n", 0, 0),
            input(3, "From: zoe@a (Zoe)\r\n\r\n", 0, 0),
            // No display name: the addr-spec.
            input(4, "From: <Mallory@b>\r\n\r\n", 0, 0),
            input(5, "From: \"=?ISO-8859-1?Q?=C9mile?=\" <e@x>\r\n\r\n", 0, 0),
            input(6, "From: Adam <z@x>\r\n\r\n", 0, 0),
            input(7, "\r\n", 0, 0),
        ];
        use SortKey::*;
        assert_eq!(
            display_key(Some(b"=?EUC-KR?B?sejDtrz2?= <cs@x>")),
            unicode_casemap("김철수")
        );
        assert_eq!(
            display_key(Some(b"=?UTF-8?B?67CV7KeA7Jew?= <j@x>")),
            unicode_casemap("박지연")
        );
        // "" < "adam" < "émile" (E and a combining accent) < "mallory@b" < "zoe" < "김철수"
        // < "박지연"
        assert_eq!(
            sort(&messages, &criteria(&[(false, DisplayFrom)])),
            [7, 6, 5, 4, 3, 2, 1]
        );
        assert_eq!(
            sort(&messages, &criteria(&[(true, DisplayFrom)])),
            [1, 2, 3, 4, 5, 6, 7]
        );
        // FROM compares the local parts instead: "" cs e jiyeon mallory z zoe
        assert_eq!(
            sort(&messages, &criteria(&[(false, From)])),
            [7, 2, 5, 1, 4, 6, 3]
        );
    }

    #[test]
    fn unicode_casemap_titlecases_and_decomposes() {
        // (text, prepared key)
        let cases: &[(&str, &str)] = &[
            ("[only blob]", "[ONLY BLOB]"),
            ("Zebra", "ZEBRA"),
            ("éclair", "E\u{301}CLAIR"),
            ("Éclair", "E\u{301}CLAIR"),
            ("e\u{301}clair", "E\u{301}CLAIR"),
            ("straße", "STRAßE"),
            ("ǆemal", "DZ\u{30C}EMAL"),
            ("ǅemal", "DZ\u{30C}EMAL"),
            ("ﬁle", "FILE"),
            // Hangul syllables into conjoining jamo: 회 = ᄒ ᅬ.
            ("회", "\u{1112}\u{116C}"),
            ("会議", "会議"),
        ];
        for (text, key) in cases {
            assert_eq!(unicode_casemap(text), *key, "for {text:?}");
        }
        // The order the RFC 5051 keys give (and Dovecot): "[" after the letters, É with E,
        // Hangul (jamo, U+11xx) before CJK ideographs (U+4Exx).
        let mut words = ["会議", "회의", "[x]", "Zebra", "Éclair", "Empty", "apple"];
        words.sort_by_key(|w| unicode_casemap(w));
        assert_eq!(
            words,
            ["apple", "Empty", "Éclair", "Zebra", "[x]", "회의", "会議"]
        );
    }
}
