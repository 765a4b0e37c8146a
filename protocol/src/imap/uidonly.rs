//! UIDONLY (RFC 9586): once a client enables it, message sequence numbers are gone from the
//! session. Commands that take them (FETCH, STORE, SEARCH, COPY, MOVE, SORT, THREAD without
//! UID, and sequence-set search keys) get `BAD [UIDREQUIRED]`; FETCH responses become
//! `* uid UIDFETCH (...)` (no UID item: the UID leads the line); expunges are reported as
//! VANISHED.

use imap_codec::imap_types::command::CommandBody;
use imap_codec::imap_types::search::SearchKey;

/// The untagged FETCH of the message at `seq` (1-based) with `uid`, carrying `items`
/// (without a UID item): `* seq FETCH (UID uid items)`, or with UIDONLY
/// `* uid UIDFETCH (items)` (RFC 9586 §3.3).
pub(super) fn fetch_line(uidonly: bool, seq: usize, uid: i64, items: &str) -> String {
    if uidonly {
        format!("* {uid} UIDFETCH ({items})\r\n")
    } else if items.is_empty() {
        format!("* {seq} FETCH (UID {uid})\r\n")
    } else {
        format!("* {seq} FETCH (UID {uid} {items})\r\n")
    }
}

/// Whether `command` uses message sequence numbers (RFC 9586 §3.1).
pub(super) fn uses_sequence_numbers(command: &CommandBody<'_>) -> bool {
    match command {
        CommandBody::Fetch { uid, .. }
        | CommandBody::Store { uid, .. }
        | CommandBody::Copy { uid, .. }
        | CommandBody::Move { uid, .. } => !uid,
        CommandBody::Search { uid, criteria, .. } => {
            !uid || criteria.as_ref().iter().any(key_uses_sequence_numbers)
        }
        CommandBody::Sort {
            uid,
            search_criteria,
            ..
        }
        | CommandBody::Thread {
            uid,
            search_criteria,
            ..
        } => {
            !uid || search_criteria
                .as_ref()
                .iter()
                .any(key_uses_sequence_numbers)
        }
        _ => false,
    }
}

fn key_uses_sequence_numbers(key: &SearchKey<'_>) -> bool {
    match key {
        SearchKey::SequenceSet(_) => true,
        SearchKey::And(keys) => keys.as_ref().iter().any(key_uses_sequence_numbers),
        SearchKey::Or(a, b) => key_uses_sequence_numbers(a) || key_uses_sequence_numbers(b),
        SearchKey::Not(k) => key_uses_sequence_numbers(k),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        assert_eq!(
            fetch_line(false, 2, 7, "FLAGS ()"),
            "* 2 FETCH (UID 7 FLAGS ())\r\n"
        );
        assert_eq!(
            fetch_line(true, 2, 7, "FLAGS ()"),
            "* 7 UIDFETCH (FLAGS ())\r\n"
        );
    }
}
