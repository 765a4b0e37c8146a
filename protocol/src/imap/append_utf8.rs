//! `APPEND … UTF8 (~{n}…)` (RFC 6855 §4), which the parser (imap-codec) does not read: a
//! message with UTF-8 header fields, wrapped so that a server that cannot store such mail
//! would refuse it. The wrapper is taken off here (every message of a MULTIAPPEND); the
//! literal8 inside is what the parser then reads as the message.
//!
//! ```text
//! append-data =/ "UTF8" SP "(" literal8 ")"             ; RFC 6855 §4
//! ```

use super::multiappend::{append_mailbox_end, literal_len, skip_append_opts};

/// The APPEND without its `UTF8 (` … `)` wrappers; `None` when `message` is not an APPEND
/// with one (then it is parsed as it is), `Err` when a wrapper is malformed.
pub(super) fn unwrap(message: &[u8]) -> Option<Result<Vec<u8>, &'static str>> {
    let mut at = append_mailbox_end(message)?;
    let mut out = message[..at].to_vec();
    let mut wrapped = false;
    loop {
        if message.get(at) != Some(&b' ') {
            return None;
        }
        let piece_start = at;
        at = skip_append_opts(message, at + 1)?;
        out.extend_from_slice(&message[piece_start..at]);
        let keyword = b"UTF8 (";
        if message.len() >= at + keyword.len()
            && message[at..at + keyword.len()].eq_ignore_ascii_case(keyword)
        {
            wrapped = true;
            at += keyword.len();
            if message.get(at) != Some(&b'~') {
                return Some(Err("BAD APPEND UTF8 takes a literal8 (~{n})"));
            }
            let Some(len) = literal_len(&message[at + 1..]) else {
                return Some(Err("BAD Invalid literal8 in APPEND UTF8"));
            };
            out.extend_from_slice(&message[at..at + 1 + len]);
            at += 1 + len;
            if message.get(at) != Some(&b')') {
                return Some(Err("BAD APPEND UTF8 (…) is not closed"));
            }
            at += 1;
        } else {
            if message.get(at) == Some(&b'~') {
                out.push(b'~');
                at += 1;
            }
            let len = literal_len(&message[at..])?;
            out.extend_from_slice(&message[at..at + len]);
            at += len;
        }
        match &message[at..] {
            b"\r\n" => break,
            [b' ', ..] => continue,
            _ => return None,
        }
    }
    out.extend_from_slice(b"\r\n");
    wrapped.then_some(Ok(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unwrapped(s: &str) -> Option<Result<String, &'static str>> {
        unwrap(s.as_bytes()).map(|r| r.map(|v| String::from_utf8(v).unwrap()))
    }

    #[test]
    fn the_wrapper_comes_off_each_message() {
        assert_eq!(
            unwrapped("a APPEND INBOX UTF8 (~{5}\r\nhello)\r\n"),
            Some(Ok("a APPEND INBOX ~{5}\r\nhello\r\n".into()))
        );
        assert_eq!(
            unwrapped(
                "a append \"Sent\" (\\Seen) \"07-Dec-2026 10:00:00 +0900\" utf8 (~{3+}\r\nabc) {2}\r\nxy\r\n"
            ),
            Some(Ok(
                "a append \"Sent\" (\\Seen) \"07-Dec-2026 10:00:00 +0900\" ~{3+}\r\nabc {2}\r\nxy\r\n"
                    .into()
            ))
        );
        // A literal that holds the words "UTF8 (" is data, not a wrapper.
        assert_eq!(unwrapped("a APPEND INBOX {6}\r\nUTF8 (\r\n"), None);
        assert_eq!(unwrapped("a APPEND INBOX {5}\r\nhello\r\n"), None);
        assert_eq!(unwrapped("a NOOP\r\n"), None);
    }

    #[test]
    fn malformed_wrappers_are_refused() {
        assert!(matches!(
            unwrapped("a APPEND INBOX UTF8 ({5}\r\nhello)\r\n"),
            Some(Err(_))
        ));
        assert!(matches!(
            unwrapped("a APPEND INBOX UTF8 (~{5}\r\nhello\r\n"),
            Some(Err(_))
        ));
    }
}
