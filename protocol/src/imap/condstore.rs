//! CONDSTORE and QRESYNC (RFC 7162): what a session enabled (also IMAP4rev2), ENABLE, the QRESYNC part of
//! SELECT/EXAMINE (`VANISHED (EARLIER)` and the changed flags), and UID sets in the
//! compact form VANISHED and MODIFIED use.
//!
//! Modseqs come from the store: every append, delivery, flag change and expunge raises the
//! mailbox's HIGHESTMODSEQ, changed messages carry the modseq of their change, and expunged
//! UIDs are kept with theirs (`mailstore::vanished`).

use imap_codec::imap_types::extensions::enable::CapabilityEnable;
use imap_codec::imap_types::sequence::SequenceSet;

use super::selected::{Selected, contains};
use super::session::{Done, Session};

/// The extensions a client turned on in this session (RFC 5161 ENABLE, or implicitly by a
/// CONDSTORE-enabling command, RFC 7162 §3.1).
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Enabled {
    /// MODSEQ in every FETCH of a flag change (RFC 7162 §3.1.2.2).
    pub condstore: bool,
    /// VANISHED instead of EXPUNGE (RFC 7162 §3.2.10), QRESYNC SELECT parameters.
    pub qresync: bool,
    /// IMAP4rev2 (RFC 9051): no \Recent, SEARCH answers with ESEARCH, SELECT sends LIST.
    pub rev2: bool,
    /// UTF8=ACCEPT (RFC 6855): mailbox names in UTF-8, not modified UTF-7.
    pub utf8: bool,
    /// UIDONLY (RFC 9586): no sequence numbers, UIDFETCH and VANISHED responses.
    pub uidonly: bool,
}

/// What a QRESYNC SELECT parameter asks (RFC 7162 §3.2.5).
pub(super) struct Resync {
    pub uidvalidity: u32,
    pub modseq: u64,
    pub known_uids: Option<SequenceSet>,
}

impl Session {
    /// ENABLE (RFC 5161): answers with the extensions newly enabled; unknown ones are ignored.
    pub(super) fn enable(&mut self, capabilities: &[CapabilityEnable<'_>]) -> Done {
        let mut enabled = Vec::new();
        for capability in capabilities {
            let name = capability.to_string().to_ascii_uppercase();
            match name.as_str() {
                "CONDSTORE" if !self.enabled.condstore => {
                    self.enabled.condstore = true;
                    enabled.push("CONDSTORE");
                }
                // RFC 7162 §3.2.3: QRESYNC implies CONDSTORE.
                "QRESYNC" if !self.enabled.qresync => {
                    self.enabled.qresync = true;
                    self.enabled.condstore = true;
                    enabled.push("QRESYNC");
                }
                // RFC 6855 §3
                "UTF8=ACCEPT" if !self.enabled.utf8 => {
                    self.enabled.utf8 = true;
                    enabled.push("UTF8=ACCEPT");
                }
                // RFC 9586 §3
                "UIDONLY" if !self.enabled.uidonly => {
                    self.enabled.uidonly = true;
                    enabled.push("UIDONLY");
                }
                // RFC 9051 §6.3.1
                "IMAP4REV2" if !self.enabled.rev2 => {
                    self.enabled.rev2 = true;
                    enabled.push("IMAP4rev2");
                }
                _ => {}
            }
        }
        if let super::session::State::Selected(_, selected) = &mut self.state {
            selected.rev2 = self.enabled.rev2;
        }
        let mut line = String::from("* ENABLED");
        for name in enabled {
            line.push(' ');
            line.push_str(name);
        }
        line.push_str("\r\n");
        self.conn.queue(line.as_bytes());
        Done::ok("ENABLE completed")
    }
}

/// The QRESYNC responses of a SELECT whose UIDVALIDITY matched (RFC 7162 §3.2.5.1): the
/// UIDs expunged since the client's modseq (`vanished`, or `None` when that history was
/// pruned: then every UID the client may know that is gone), then a FETCH of every message
/// changed since, each within the client's known UIDs when it gave them.
pub(super) fn resync_responses(
    selected: &Selected,
    resync: &Resync,
    vanished: Option<Vec<i64>>,
    uidonly: bool,
    out: &mut Vec<u8>,
) {
    let messages = selected.messages();
    let largest = (selected.mailbox.uidnext - 1).max(0) as u32;
    let known = |uid: i64| {
        resync
            .known_uids
            .as_ref()
            .is_none_or(|set| contains(set, uid as u32, largest))
    };
    let gone: Vec<i64> = match vanished {
        // A UID still in the picture was expunged after the view was read: it is reported
        // as VANISHED with the next announcement, not as gone before its own FETCH.
        Some(uids) => uids
            .into_iter()
            .filter(|&u| known(u) && selected.index_of_uid(u).is_none())
            .collect(),
        None => {
            let present: Vec<i64> = messages.iter().map(|m| m.uid).collect();
            missing_uids(resync.known_uids.as_ref(), largest, &present)
        }
    };
    if !gone.is_empty() {
        out.extend_from_slice(format!("* VANISHED (EARLIER) {}\r\n", uid_set(&gone)).as_bytes());
    }
    for (i, m) in messages.iter().enumerate() {
        if m.modseq as u64 > resync.modseq && known(m.uid) {
            out.extend_from_slice(
                super::uidonly::fetch_line(
                    uidonly,
                    i + 1,
                    m.uid,
                    &format!("FLAGS ({}) MODSEQ ({})", selected.flags(m), m.modseq),
                )
                .as_bytes(),
            );
        }
    }
}

/// The UIDs in `known` (all of `1:largest` when absent) that are not in `present` (sorted):
/// the fallback when tombstones were pruned. Walks ranges, never single UIDs of a range.
pub(super) fn missing_uids(known: Option<&SequenceSet>, largest: u32, present: &[i64]) -> Vec<i64> {
    let ranges: Vec<(u32, u32)> = match known {
        Some(set) => super::selected::ranges(set, largest),
        None if largest > 0 => vec![(1, largest)],
        None => Vec::new(),
    };
    let mut out = Vec::new();
    for (from, to) in ranges {
        let start = present.partition_point(|&u| u < i64::from(from));
        let mut next = i64::from(from);
        for &uid in present[start..].iter().take_while(|&&u| u <= i64::from(to)) {
            out.extend(next..uid);
            next = uid + 1;
        }
        out.extend(next..=i64::from(to));
        // A pathological set (1:4294967295 over an empty mailbox) stays bounded by `largest`.
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// UIDs (ascending or not) as a compact sequence set: `1:3,7,9:10`.
pub(super) fn uid_set(uids: &[i64]) -> String {
    let mut sorted = uids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}:{end}")
        });
        i += 1;
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(s: &str) -> SequenceSet {
        SequenceSet::try_from(s).unwrap()
    }

    #[test]
    fn uid_sets_are_compact() {
        assert_eq!(uid_set(&[5, 1, 2, 3, 9, 10, 7]), "1:3,5,7,9:10");
        assert_eq!(uid_set(&[4]), "4");
        assert_eq!(uid_set(&[]), "");
    }

    #[test]
    fn missing_uids_walk_ranges() {
        assert_eq!(missing_uids(None, 6, &[2, 3, 6]), [1, 4, 5]);
        assert_eq!(missing_uids(Some(&set("3:5,9")), 10, &[4]), [3, 5, 9]);
        assert_eq!(
            missing_uids(Some(&set("5:*")), 7, &[5, 6, 7]),
            Vec::<i64>::new()
        );
        assert_eq!(missing_uids(None, 0, &[]), Vec::<i64>::new());
    }
}
