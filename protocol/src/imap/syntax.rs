//! Command syntax the parser (imap-codec) does not read, taken off a complete command before
//! it is parsed, so that no command handler ever looks at raw bytes:
//! - `SEARCH RETURN (…)` and `UID SEARCH RETURN (…)` (RFC 4731 ESEARCH, RFC 5182 SAVE,
//!   RFC 5267 CONTEXT, UPDATE and PARTIAL) and `SORT RETURN (…)` (RFC 5267 ESORT): the
//!   options are lifted out, the rest is a plain SEARCH or SORT.
//! - `CREATE name (USE (…))` (RFC 6154 §3 CREATE-SPECIAL-USE): the attributes are lifted
//!   out.
//! - `CHANGEDSINCE 0` in FETCH (RFC 7162 says 1*DIGIT non-zero; iOS Mail sends 0 to mean
//!   "every message"), read as `CHANGEDSINCE 1`, which is the same here: a mailbox starts at
//!   modseq 1 and every change raises it before it is given to a message, so no message has
//!   a modseq below 2.

use std::borrow::Cow;

/// One RETURN option (RFC 4731 §3.1, RFC 5182 §2, RFC 5267 §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ReturnOption {
    Min,
    Max,
    All,
    Count,
    Save,
    /// RFC 5267 §4.1: a hint that more searches will follow; nothing to do.
    Context,
    /// RFC 5267 §4.3: keep the result current with ADDTO and REMOVEFROM.
    Update,
    /// RFC 5267 §4.4: the results at positions low..=high (1-based, ascending).
    Partial(u32, u32),
}

/// What was taken off a command before parsing.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Extras {
    /// `Some` when the command had `RETURN (…)`; an empty list means ALL (RFC 4731 §3.1).
    pub return_options: Option<Vec<ReturnOption>>,
    /// CREATE's `(USE (…))` attributes (RFC 6154 §3).
    pub create_use: Option<Vec<String>>,
    /// OBJECTID items (RFC 8474) taken off a FETCH or STATUS.
    pub extra_items: ExtraItems,
    /// The second and later messages of a MULTIAPPEND (RFC 3502), each as a single APPEND.
    pub more_appends: Vec<imap_codec::imap_types::command::Command<'static>>,
    /// The parts of a CATENATE APPEND (RFC 4469), whose message the session builds.
    pub catenate: Option<Vec<super::catenate::CatPart>>,
}

/// The items a FETCH or STATUS asked for which the parser does not know: OBJECTID (RFC
/// 8474), SAVEDATE (RFC 8514) and PREVIEW (RFC 8970).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct ExtraItems {
    /// FETCH SAVEDATE.
    pub save_date: bool,
    /// FETCH PREVIEW (with or without the LAZY modifier: the preview is always made).
    pub preview: bool,
    /// FETCH EMAILID.
    pub email_id: bool,
    /// FETCH THREADID.
    pub thread_id: bool,
    /// STATUS MAILBOXID.
    pub mailbox_id: bool,
    /// STATUS asked for MAILBOXID only: the stand-in item is not answered.
    pub mailbox_id_only: bool,
}

/// The command as the parser should see it and what was taken off; `Err` with a reason for a
/// BAD when the extension syntax is wrong.
pub(super) fn prepare(message: &[u8]) -> Result<(Cow<'_, [u8]>, Extras), &'static str> {
    let mut extras = Extras::default();
    let words = leading_words(message, 3);
    let verb_at = match words.get(1) {
        Some((_, w)) if w.eq_ignore_ascii_case(b"UID") => 2,
        _ => 1,
    };
    let Some(&(verb_start, verb)) = words.get(verb_at) else {
        return Ok((Cow::Borrowed(message), extras));
    };
    let after_verb = verb_start + verb.len();
    if verb.eq_ignore_ascii_case(b"SEARCH") || verb.eq_ignore_ascii_case(b"SORT") {
        let rest = &message[after_verb..];
        if let Some(options) = strip_prefix_ci(rest, b" RETURN (") {
            let close = options
                .iter()
                .position(|&b| b == b')')
                .ok_or("RETURN options are not closed")?;
            let mut parsed = Vec::new();
            let mut words = options[..close]
                .split(|&b| b == b' ')
                .filter(|w| !w.is_empty());
            while let Some(word) = words.next() {
                parsed.push(match word.to_ascii_uppercase().as_slice() {
                    b"MIN" => ReturnOption::Min,
                    b"MAX" => ReturnOption::Max,
                    b"ALL" => ReturnOption::All,
                    b"COUNT" => ReturnOption::Count,
                    b"SAVE" => ReturnOption::Save,
                    b"CONTEXT" => ReturnOption::Context,
                    b"UPDATE" => ReturnOption::Update,
                    b"PARTIAL" => {
                        let range = words.next().ok_or("PARTIAL needs a range")?;
                        partial_range(range).ok_or("Invalid PARTIAL range")?
                    }
                    _ => return Err("Unknown RETURN option"),
                });
            }
            extras.return_options = Some(parsed);
            let consumed = after_verb + (rest.len() - options.len()) + close + 1;
            let mut out = message[..after_verb].to_vec();
            out.extend_from_slice(&message[consumed..]);
            return Ok((Cow::Owned(out), extras));
        }
    }
    // RFC 6154 §5.2: `CREATE name (USE (\Sent …))`, at the end of the command (after a
    // literal name too).
    if verb.eq_ignore_ascii_case(b"CREATE") {
        let body = message.strip_suffix(b"\r\n").unwrap_or(message);
        if body.ends_with(b"))") {
            let upper = body.to_ascii_uppercase();
            if let Some(at) = find_last(&upper, b" (USE (") {
                let inner = &body[at + b" (USE (".len()..body.len() - 2];
                let attributes = inner
                    .split(|&b| b == b' ')
                    .filter(|w| !w.is_empty())
                    .map(|w| String::from_utf8_lossy(w).into_owned())
                    .collect();
                extras.create_use = Some(attributes);
                let mut out = body[..at].to_vec();
                out.extend_from_slice(b"\r\n");
                return Ok((Cow::Owned(out), extras));
            }
        }
    }
    if verb.eq_ignore_ascii_case(b"FETCH") {
        let line_end = message
            .iter()
            .position(|&b| b == b'\n')
            .unwrap_or(message.len());
        let line = &message[..line_end];
        const ZERO: &[u8] = b"CHANGEDSINCE 0";
        if let Some(at) = find_ci(line, ZERO) {
            let next = line.get(at + ZERO.len()).copied();
            if !next.is_some_and(|b| b.is_ascii_digit()) {
                let mut out = message.to_vec();
                out[at + ZERO.len() - 1] = b'1';
                return Ok((Cow::Owned(out), extras));
            }
        }
    }
    Ok((Cow::Borrowed(message), extras))
}

/// The saved search result (RFC 5182) as the two sequence sets `$` stands for.
pub(super) struct Saved {
    pub uids: String,
    pub seqs: String,
}

/// `message` with every `$` (RFC 5182 §2.1, a sequence set standing for the saved result)
/// on its first line replaced: by the saved UIDs where UIDs are meant (the first argument of
/// a UID command, after the UID search key), by their sequence numbers elsewhere. `None`
/// when there is no `$`. `saved` is asked only then.
pub(super) fn with_saved(message: &[u8], saved: impl FnOnce() -> Saved) -> Option<Vec<u8>> {
    let line_end = message
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(message.len());
    let line = &message[..line_end];
    let delimiter = |b: Option<&u8>| b.is_none_or(|b| matches!(b, b' ' | b'(' | b')'));
    let positions: Vec<usize> = (0..line.len())
        .filter(|&i| {
            line[i] == b'$'
                && delimiter(i.checked_sub(1).and_then(|p| line.get(p)))
                && delimiter(line.get(i + 1))
        })
        .collect();
    if positions.is_empty() {
        return None;
    }
    let words = leading_words(message, 4);
    let uid_command = words
        .get(1)
        .is_some_and(|(_, w)| w.eq_ignore_ascii_case(b"UID"));
    // Only where a sequence set may stand (RFC 5182 §2.1): a `$` elsewhere (a password, a
    // mailbox name) is itself.
    const TAKES_SETS: &[&[u8]] = &[
        b"FETCH", b"STORE", b"COPY", b"MOVE", b"SEARCH", b"SORT", b"THREAD", b"EXPUNGE",
    ];
    let verb = words
        .get(if uid_command { 2 } else { 1 })
        .map(|(_, w)| *w)?;
    if !TAKES_SETS.iter().any(|v| verb.eq_ignore_ascii_case(v)) {
        return None;
    }
    let saved = saved();
    let first_argument = words
        .get(if uid_command { 3 } else { 2 })
        .map(|(at, _)| *at);
    let mut out = Vec::with_capacity(message.len() + 64);
    let mut from = 0;
    for at in positions {
        out.extend_from_slice(&line[from..at]);
        let after_uid_key = line[..at].to_ascii_uppercase().ends_with(b"UID ");
        let as_uids = after_uid_key || (uid_command && Some(at) == first_argument);
        out.extend_from_slice(if as_uids { &saved.uids } else { &saved.seqs }.as_bytes());
        from = at + 1;
    }
    out.extend_from_slice(&message[from..]);
    Some(out)
}

/// `message` with the OBJECTID items (RFC 8474 §4, §5) taken off a FETCH (`EMAILID`,
/// `THREADID`) or STATUS (`MAILBOXID`) item list, and what they were; `None` when there were
/// none. A list left empty gets a stand-in the parser reads (FETCH: `UID`, which a client
/// may always be sent; STATUS: `UIDNEXT`, not answered).
pub(super) fn take_extra_items(message: &[u8]) -> Option<(Vec<u8>, ExtraItems)> {
    let words = leading_words(message, 3);
    let uid = words
        .get(1)
        .is_some_and(|(_, w)| w.eq_ignore_ascii_case(b"UID"));
    let verb = words.get(if uid { 2 } else { 1 }).map(|(_, w)| *w)?;
    let fetch = verb.eq_ignore_ascii_case(b"FETCH");
    let status = verb.eq_ignore_ascii_case(b"STATUS") && !uid;
    if !fetch && !status {
        return None;
    }
    let names: &[&[u8]] = if fetch {
        // `PREVIEW (LAZY)` before `PREVIEW`: the modifier goes with the item (RFC 8970 §3).
        &[
            b"EMAILID",
            b"THREADID",
            b"SAVEDATE",
            b"PREVIEW (LAZY)",
            b"PREVIEW",
        ]
    } else {
        &[b"MAILBOXID"]
    };
    // The item list is on the last line (after any literal mailbox name).
    let line_start = message[..message.len().saturating_sub(2)]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let line = &message[line_start..];
    let delimiter = |b: Option<&u8>| b.is_none_or(|b| matches!(b, b' ' | b'(' | b')' | b'\r'));
    let mut ids = ExtraItems::default();
    let mut kept = Vec::with_capacity(line.len());
    let mut i = 0;
    'scan: while i < line.len() {
        for name in names {
            let end = i + name.len();
            if end <= line.len()
                && line[i..end].eq_ignore_ascii_case(name)
                && delimiter(i.checked_sub(1).and_then(|p| line.get(p)))
                && delimiter(line.get(end))
            {
                match *name {
                    b"EMAILID" => ids.email_id = true,
                    b"THREADID" => ids.thread_id = true,
                    b"SAVEDATE" => ids.save_date = true,
                    b"PREVIEW" | b"PREVIEW (LAZY)" => ids.preview = true,
                    _ => ids.mailbox_id = true,
                }
                // The space before the item goes with it.
                if kept.last() == Some(&b' ') {
                    kept.pop();
                }
                i = end;
                continue 'scan;
            }
        }
        kept.push(line[i]);
        i += 1;
    }
    if ids == ExtraItems::default() {
        return None;
    }
    let mut text = String::from_utf8_lossy(&kept).replace("( ", "(");
    let stand_in = if fetch { "UID" } else { "UIDNEXT" };
    if text.contains("()") {
        text = text.replacen("()", &format!("({stand_in})"), 1);
        ids.mailbox_id_only = status;
    } else if fetch && text.trim_end().split(' ').count() == 3 + usize::from(uid) {
        // `FETCH 1 EMAILID`: the single item went.
        text = format!("{} {stand_in}\r\n", text.trim_end());
    }
    let mut out = message[..line_start].to_vec();
    out.extend_from_slice(text.as_bytes());
    Some((out, ids))
}

/// A search key the parser does not know, to be answered with the UIDs it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ExtraKey {
    /// THREADID (RFC 8474 §6).
    ThreadId(String),
    /// `EMAILID id` (RFC 8474 §6).
    EmailId(String),
    /// `SAVEDBEFORE date` (RFC 8514 §3): saved on an earlier day.
    SavedBefore(chrono::NaiveDate),
    /// `SAVEDON date`.
    SavedOn(chrono::NaiveDate),
    /// `SAVEDSINCE date`: saved on that day or later.
    SavedSince(chrono::NaiveDate),
}

/// `message` with the search keys of a SEARCH, SORT or THREAD the parser does not know, on
/// its first line, replaced by what it does know: `EMAILID id` and the SAVEDATE keys (RFC
/// 8514 §3) and `THREADID id` by `UID` and the messages they name (`lookup`),
/// `SAVEDATESUPPORTED` by `ALL` (every mailbox keeps save dates).
pub(super) fn with_extra_keys(
    message: &[u8],
    lookup: impl Fn(&ExtraKey) -> String,
) -> Option<Vec<u8>> {
    let words = leading_words(message, 3);
    let uid = words
        .get(1)
        .is_some_and(|(_, w)| w.eq_ignore_ascii_case(b"UID"));
    let verb = words.get(if uid { 2 } else { 1 }).map(|(_, w)| *w)?;
    if ![&b"SEARCH"[..], b"SORT", b"THREAD"]
        .iter()
        .any(|v| verb.eq_ignore_ascii_case(v))
    {
        return None;
    }
    let line_end = message
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(message.len());
    let line = String::from_utf8_lossy(&message[..line_end]).into_owned();
    let mut tokens: Vec<String> = line.split(' ').map(str::to_string).collect();
    let mut changed = false;
    let mut i = 0;
    while i < tokens.len() {
        let key = tokens[i].trim_start_matches('(').to_ascii_uppercase();
        let opening =
            tokens[i][..tokens[i].len() - tokens[i].trim_start_matches('(').len()].to_string();
        if key.trim_end_matches(')') == "SAVEDATESUPPORTED" {
            let closing = &key["SAVEDATESUPPORTED".len()..];
            tokens[i] = format!("{opening}ALL{closing}");
            changed = true;
            i += 1;
            continue;
        }
        if i + 1 >= tokens.len() {
            break;
        }
        let value = tokens[i + 1].trim_end_matches(')').to_string();
        let closing = tokens[i + 1][value.len()..].to_string();
        let date = || chrono::NaiveDate::parse_from_str(value.trim_matches('"'), "%d-%b-%Y").ok();
        let extra = match key.as_str() {
            "EMAILID" => Some(ExtraKey::EmailId(value.clone())),
            "THREADID" => Some(ExtraKey::ThreadId(value.clone())),
            "SAVEDBEFORE" => date().map(ExtraKey::SavedBefore),
            "SAVEDON" => date().map(ExtraKey::SavedOn),
            "SAVEDSINCE" => date().map(ExtraKey::SavedSince),
            _ => {
                i += 1;
                continue;
            }
        };
        if extra.is_none() {
            // A date that does not parse stays for the parser to refuse.
            i += 1;
            continue;
        }
        let uids = extra.map(|k| lookup(&k)).unwrap_or_default();
        let uids = if uids.is_empty() {
            "4294967295".to_string()
        } else {
            uids
        };
        tokens[i] = format!("{opening}UID");
        tokens[i + 1] = format!("{uids}{closing}");
        changed = true;
        i += 2;
    }
    if !changed {
        return None;
    }
    let mut out = tokens.join(" ").into_bytes();
    out.extend_from_slice(&message[line_end..]);
    Some(out)
}

/// The EMAILID of a message (RFC 8474 §5.1): from the object it shows, so a COPY keeps it
/// and a different message never has it. FNV-1a, stable across versions and nodes.
/// THREADID of a thread (RFC 8474 §5.2: objectid, `T` and the thread's number in hex).
pub(super) fn thread_id(thread: i64) -> String {
    format!("T{thread:x}")
}

pub(super) fn email_id(blob_key: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in blob_key.bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("E{hash:016x}")
}

/// `low:high` of PARTIAL (RFC 5267 §4.4: positive numbers, either order).
fn partial_range(range: &[u8]) -> Option<ReturnOption> {
    let text = std::str::from_utf8(range).ok()?;
    let (a, b) = text.split_once(':')?;
    let number = |s: &str| {
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse::<u32>().ok())
            .flatten()
            .filter(|&n| n > 0)
    };
    let (a, b) = (number(a)?, number(b)?);
    Some(ReturnOption::Partial(a.min(b), a.max(b)))
}

/// The first `n` space-separated words of the first line, with their offsets.
fn leading_words(message: &[u8], n: usize) -> Vec<(usize, &[u8])> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, &b) in message.iter().enumerate() {
        if b == b' ' || b == b'\r' || b == b'\n' {
            if i > start {
                out.push((start, &message[start..i]));
                if out.len() == n {
                    break;
                }
            }
            if b != b' ' {
                break;
            }
            start = i + 1;
        }
    }
    out
}

fn strip_prefix_ci<'a>(bytes: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    (bytes.len() >= prefix.len() && bytes[..prefix.len()].eq_ignore_ascii_case(prefix))
        .then(|| &bytes[prefix.len()..])
}

fn find_last(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).rposition(|w| w == needle)
}

fn find_ci(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prepared(line: &str) -> (String, Option<Vec<ReturnOption>>) {
        let (bytes, extras) = prepare(line.as_bytes()).unwrap();
        (
            String::from_utf8(bytes.into_owned()).unwrap(),
            extras.return_options,
        )
    }

    #[test]
    fn return_options_are_lifted_off() {
        use ReturnOption::*;
        assert_eq!(
            prepared("a SEARCH RETURN (MIN max COUNT) UNSEEN\r\n"),
            ("a SEARCH UNSEEN\r\n".into(), Some(vec![Min, Max, Count]))
        );
        assert_eq!(
            prepared("a uid search return () CHARSET UTF-8 SUBJECT {4}\r\n"),
            (
                "a uid search CHARSET UTF-8 SUBJECT {4}\r\n".into(),
                Some(vec![])
            )
        );
        assert_eq!(
            prepared("b UID SORT RETURN (ALL SAVE) (DATE) UTF-8 ALL\r\n"),
            (
                "b UID SORT (DATE) UTF-8 ALL\r\n".into(),
                Some(vec![All, Save])
            )
        );
        assert_eq!(
            prepared("a SEARCH UNSEEN\r\n"),
            ("a SEARCH UNSEEN\r\n".into(), None)
        );
        assert!(prepare(b"a SEARCH RETURN (BOGUS) ALL\r\n").is_err());
        assert!(prepare(b"a SEARCH RETURN (MIN ALL\r\n").is_err());
    }

    #[test]
    fn context_update_and_partial_are_read() {
        use ReturnOption::*;
        assert_eq!(
            prepared("a UID SEARCH RETURN (UPDATE CONTEXT PARTIAL 200:101) UNSEEN\r\n"),
            (
                "a UID SEARCH UNSEEN\r\n".into(),
                Some(vec![Update, Context, Partial(101, 200)])
            )
        );
        for bad in [
            "PARTIAL",
            "PARTIAL 0:5",
            "PARTIAL -1:-5",
            "PARTIAL 1",
            "PARTIAL a:b",
        ] {
            let line = format!("a SEARCH RETURN ({bad}) ALL\r\n");
            assert!(prepare(line.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn create_use_is_lifted_off() {
        let (bytes, extras) = prepare(b"a CREATE \"My Sent\" (USE (\\Sent))\r\n").unwrap();
        assert_eq!(&bytes[..], b"a CREATE \"My Sent\"\r\n");
        assert_eq!(extras.create_use, Some(vec!["\\Sent".to_string()]));
        let (bytes, extras) =
            prepare(b"a CREATE {4}\r\nBoth (use (\\Drafts \\Trash))\r\n").unwrap();
        assert_eq!(&bytes[..], b"a CREATE {4}\r\nBoth\r\n");
        assert_eq!(extras.create_use.unwrap().len(), 2);
        assert_eq!(prepare(b"a CREATE x\r\n").unwrap().1.create_use, None);
    }

    #[test]
    fn changedsince_zero_reads_as_one() {
        assert_eq!(
            prepared("a UID FETCH 1:* (FLAGS) (CHANGEDSINCE 0)\r\n").0,
            "a UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1)\r\n"
        );
        assert_eq!(
            prepared("a FETCH 1:* (FLAGS) (changedsince 05)\r\n").0,
            "a FETCH 1:* (FLAGS) (changedsince 05)\r\n"
        );
        assert_eq!(
            prepared("a UID FETCH 1:* (FLAGS) (CHANGEDSINCE 10)\r\n").0,
            "a UID FETCH 1:* (FLAGS) (CHANGEDSINCE 10)\r\n"
        );
    }

    #[test]
    fn dollar_is_the_saved_result() {
        let saved = || Saved {
            uids: "10,12".into(),
            seqs: "3:4".into(),
        };
        let with = |l: &str| with_saved(l.as_bytes(), saved).map(|b| String::from_utf8(b).unwrap());
        assert_eq!(
            with("a FETCH $ (FLAGS)\r\n").unwrap(),
            "a FETCH 3:4 (FLAGS)\r\n"
        );
        assert_eq!(
            with("a UID FETCH $ (FLAGS)\r\n").unwrap(),
            "a UID FETCH 10,12 (FLAGS)\r\n"
        );
        assert_eq!(
            with("a UID SEARCH UID $ SEEN $\r\n").unwrap(),
            "a UID SEARCH UID 10,12 SEEN 3:4\r\n"
        );
        assert_eq!(with("a STORE 1 +FLAGS ($Label1)\r\n"), None);
        assert_eq!(with("a LOGIN alice $\r\n"), None);
        assert_eq!(with("a SELECT $\r\n"), None);
        assert_eq!(
            with("a SEARCH OR ($) 1\r\n").unwrap(),
            "a SEARCH OR (3:4) 1\r\n"
        );
    }

    #[test]
    fn object_id_items_are_taken_off() {
        let take = |l: &str| {
            take_extra_items(l.as_bytes()).map(|(b, ids)| (String::from_utf8(b).unwrap(), ids))
        };
        let (line, ids) = take("a FETCH 1:* (FLAGS EMAILID THREADID)\r\n").unwrap();
        assert_eq!(line, "a FETCH 1:* (FLAGS)\r\n");
        assert!(ids.email_id && ids.thread_id);
        assert_eq!(
            take("a UID FETCH 1 (EMAILID)\r\n").unwrap().0,
            "a UID FETCH 1 (UID)\r\n"
        );
        assert_eq!(
            take("a FETCH 1 EMAILID\r\n").unwrap().0,
            "a FETCH 1 UID\r\n"
        );
        let (line, ids) = take("a STATUS INBOX (MAILBOXID)\r\n").unwrap();
        assert_eq!(line, "a STATUS INBOX (UIDNEXT)\r\n");
        assert!(ids.mailbox_id && ids.mailbox_id_only);
        let (line, ids) = take("a STATUS {5}\r\nINBOX (MESSAGES MAILBOXID)\r\n").unwrap();
        assert_eq!(line, "a STATUS {5}\r\nINBOX (MESSAGES)\r\n");
        assert!(ids.mailbox_id && !ids.mailbox_id_only);
        let (line, ids) = take("a UID FETCH 1:* (SAVEDATE PREVIEW (LAZY) FLAGS)\r\n").unwrap();
        assert_eq!(line, "a UID FETCH 1:* (FLAGS)\r\n");
        assert!(ids.save_date && ids.preview && !ids.email_id);
        let (line, ids) = take("a FETCH 2 PREVIEW\r\n").unwrap();
        assert_eq!(line, "a FETCH 2 UID\r\n");
        assert!(ids.preview);
        assert_eq!(take("a FETCH 1 (FLAGS)\r\n"), None);
        assert_eq!(take("a STORE 1 +FLAGS (EMAILID)\r\n"), None);
    }

    #[test]
    fn object_id_search_keys_become_uid_sets() {
        let lookup = |key: &ExtraKey| match key {
            ExtraKey::EmailId(id) if id == "Eabc" => "3,7".to_string(),
            ExtraKey::SavedSince(d) if d.to_string() == "2026-12-07" => "5:6".to_string(),
            _ => String::new(),
        };
        let with =
            |l: &str| with_extra_keys(l.as_bytes(), lookup).map(|b| String::from_utf8(b).unwrap());
        assert_eq!(
            with("a SEARCH EMAILID Eabc\r\n").unwrap(),
            "a SEARCH UID 3,7\r\n"
        );
        assert_eq!(
            with("a UID SEARCH OR (EMAILID Exyz) THREADID T1\r\n").unwrap(),
            "a UID SEARCH OR (UID 4294967295) UID 4294967295\r\n"
        );
        assert_eq!(with("a SEARCH UNSEEN\r\n"), None);
        // RFC 8514 §3.
        assert_eq!(
            with("a UID SEARCH (SAVEDSINCE 7-Dec-2026 SAVEDATESUPPORTED)\r\n").unwrap(),
            "a UID SEARCH (UID 5:6 ALL)\r\n"
        );
        assert_eq!(
            with("a SEARCH SAVEDBEFORE \"1-Jan-2000\"\r\n").unwrap(),
            "a SEARCH UID 4294967295\r\n"
        );
        assert_eq!(with("a SEARCH SAVEDON 99-Foo-1\r\n"), None);
        assert_eq!(email_id("k1"), email_id("k1"));
        assert_ne!(email_id("k1"), email_id("k2"));
    }
}
