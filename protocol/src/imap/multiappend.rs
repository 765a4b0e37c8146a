//! MULTIAPPEND (RFC 3502) syntax, which the parser (imap-codec) does not read: an APPEND with
//! several messages is cut into one single-message APPEND per message, each of which the
//! parser reads; the session then stores them all or none (RFC 3502 §6.3.11).
//!
//! ```text
//! append = "APPEND" SP mailbox 1*append-message           ; RFC 3502 §6
//! append-message = append-opts SP append-data
//! append-opts = [SP flag-list] [SP date-time]
//! append-data = literal / literal8                         ; RFC 3516 §4.4
//! ```

/// The single-message APPEND commands of a MULTIAPPEND, in order; `None` when `message` is
/// not an APPEND of two or more messages (the parser then reads it as it is, and refuses it
/// if it is wrong).
pub(super) fn split(message: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mailbox_end = append_mailbox_end(message)?;
    let head = &message[..mailbox_end];
    let mut pieces = Vec::new();
    let mut at = mailbox_end;
    loop {
        if message.get(at) != Some(&b' ') {
            return None;
        }
        let start = at;
        at = skip_append_opts(message, at + 1)?;
        if message.get(at) == Some(&b'~') {
            at += 1;
        }
        at += literal_len(&message[at..])?;
        pieces.push(&message[start..at]);
        match &message[at..] {
            b"\r\n" => break,
            [b' ', ..] => continue,
            _ => return None,
        }
    }
    if pieces.len() < 2 {
        return None;
    }
    Some(
        pieces
            .into_iter()
            .map(|piece| {
                let mut command = Vec::with_capacity(head.len() + piece.len() + 2);
                command.extend_from_slice(head);
                command.extend_from_slice(piece);
                command.extend_from_slice(b"\r\n");
                command
            })
            .collect(),
    )
}

/// Where the mailbox name of `tag APPEND mailbox …` ends; `None` when `message` is not an
/// APPEND.
pub(super) fn append_mailbox_end(message: &[u8]) -> Option<usize> {
    let tag_end = message.iter().position(|&b| b == b' ')?;
    let rest = &message[tag_end + 1..];
    if rest.len() < 7 || !rest[..7].eq_ignore_ascii_case(b"APPEND ") {
        return None;
    }
    let mailbox_start = tag_end + 8;
    Some(mailbox_start + astring_len(&message[mailbox_start..])?)
}

/// From `at` (just after a space): past one message's optional flag list and date-time and
/// the space after each, to where its data (or CATENATE, or UTF8) starts.
pub(super) fn skip_append_opts(message: &[u8], mut at: usize) -> Option<usize> {
    if message.get(at) == Some(&b'(') {
        // flag-list: flags are atoms, no literal or nested list inside.
        let close = message[at..].iter().position(|&b| b == b')')?;
        if message[at..at + close]
            .iter()
            .any(|&b| b == b'\r' || b == b'{')
        {
            return None;
        }
        at += close + 1;
        if message.get(at) != Some(&b' ') {
            return None;
        }
        at += 1;
    }
    if message.get(at) == Some(&b'"') {
        // date-time: a fixed-form quoted string.
        let close = message[at + 1..].iter().position(|&b| b == b'"')?;
        at += close + 2;
        if message.get(at) != Some(&b' ') {
            return None;
        }
        at += 1;
    }
    Some(at)
}

/// The length of the astring at the start of `bytes`: a literal, a quoted string or an atom.
pub(super) fn astring_len(bytes: &[u8]) -> Option<usize> {
    match bytes.first()? {
        b'{' => literal_len(bytes),
        b'"' => {
            let mut i = 1;
            while i < bytes.len() {
                match bytes[i] {
                    b'\\' => i += 2,
                    b'"' => return Some(i + 1),
                    b'\r' | b'\n' => return None,
                    _ => i += 1,
                }
            }
            None
        }
        _ => {
            let n = bytes
                .iter()
                .position(|&b| matches!(b, b' ' | b'\r' | b'\n' | b'(' | b')' | b'{' | b'"'))
                .unwrap_or(bytes.len());
            (n > 0).then_some(n)
        }
    }
}

/// The length of `{n}\r\n` or `{n+}\r\n` (RFC 7888) and the `n` bytes after it.
pub(super) fn literal_len(bytes: &[u8]) -> Option<usize> {
    if bytes.first() != Some(&b'{') {
        return None;
    }
    let close = bytes.iter().position(|&b| b == b'}')?;
    let digits = bytes[1..close]
        .strip_suffix(b"+")
        .unwrap_or(&bytes[1..close]);
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n: usize = std::str::from_utf8(digits).ok()?.parse().ok()?;
    if bytes.get(close + 1..close + 3) != Some(b"\r\n") {
        return None;
    }
    let end = close.checked_add(3)?.checked_add(n)?;
    (end <= bytes.len()).then_some(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split_str(s: &str) -> Option<Vec<String>> {
        split(s.as_bytes()).map(|v| {
            v.into_iter()
                .map(|c| String::from_utf8(c).unwrap())
                .collect()
        })
    }

    #[test]
    fn several_messages_become_single_appends() {
        let got = split_str(
            "a APPEND saved (\\Seen) \"7-Dec-2026 10:00:00 +0900\" {3}\r\nabc {2+}\r\nde ~{1}\r\nf\r\n",
        )
        .unwrap();
        assert_eq!(
            got,
            [
                "a APPEND saved (\\Seen) \"7-Dec-2026 10:00:00 +0900\" {3}\r\nabc\r\n",
                "a APPEND saved {2+}\r\nde\r\n",
                "a APPEND saved ~{1}\r\nf\r\n",
            ]
        );
        // A literal mailbox name and a literal that holds what looks like syntax.
        let got = split_str("b append {5}\r\nSaved {4}\r\n {1} (\\Flagged) {1}\r\nx\r\n").unwrap();
        assert_eq!(
            got,
            [
                "b append {5}\r\nSaved {4}\r\n {1}\r\n",
                "b append {5}\r\nSaved (\\Flagged) {1}\r\nx\r\n",
            ]
        );
    }

    #[test]
    fn single_or_broken_appends_are_left_to_the_parser() {
        assert_eq!(split_str("a APPEND INBOX {3}\r\nabc\r\n"), None);
        assert_eq!(split_str("a APPEND INBOX {3}\r\nabc {9}\r\nxy\r\n"), None);
        assert_eq!(split_str("a APPEND INBOX {3}\r\nabc junk\r\n"), None);
        assert_eq!(split_str("a SELECT INBOX\r\n"), None);
        assert_eq!(split_str("a APPEND\r\n"), None);
    }
}
