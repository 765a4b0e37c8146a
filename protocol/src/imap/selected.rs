//! The selected mailbox: a snapshot of its messages in UID order (sequence number = index
//! + 1, UID lookups by binary search), refreshed to tell the client what others changed.

use std::collections::HashSet;
use std::num::NonZeroU32;
use std::sync::Arc;

use baedal_storage::mailstore::{Mailbox, MailboxView, StoredMessage};
use imap_codec::imap_types::sequence::{SeqOrUid, Sequence, SequenceSet};

pub(super) struct Selected {
    pub mailbox: Mailbox,
    pub read_only: bool,
    /// The messages as this session last told the client, usually shared with every other
    /// session on the mailbox; copied only when this session changes them itself.
    pub view: Arc<MailboxView>,
    /// UIDs that are \Recent for this session (RFC 3501 §2.3.2).
    pub recent: HashSet<i64>,
}

impl Selected {
    pub fn messages(&self) -> &[StoredMessage] {
        &self.view.messages
    }

    /// The messages, for this session's own changes (copied first if shared).
    pub fn messages_mut(&mut self) -> &mut Vec<StoredMessage> {
        &mut Arc::make_mut(&mut self.view).messages
    }

    /// Indexes (0-based) of the messages a sequence set names, by sequence number or UID.
    pub fn resolve(&self, set: &SequenceSet, uid: bool) -> Vec<usize> {
        let Some(last) = self.messages().last() else {
            return Vec::new();
        };
        let largest = if uid {
            last.uid as u32
        } else {
            self.messages().len() as u32
        };
        self.messages()
            .iter()
            .enumerate()
            .filter(|(i, m)| {
                let value = if uid { m.uid as u32 } else { *i as u32 + 1 };
                contains(set, value, largest)
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// A message's flags as the client sees them: stored flags plus \Recent.
    pub fn flags(&self, m: &StoredMessage) -> String {
        if self.recent.contains(&m.uid) {
            format!("{} \\Recent", m.flags).trim().to_string()
        } else {
            m.flags.clone()
        }
    }

    /// The index of a UID (O(log n)).
    pub fn index_of_uid(&self, uid: i64) -> Option<usize> {
        self.messages().binary_search_by_key(&uid, |m| m.uid).ok()
    }
}

/// RFC 3501 §9 seq-set membership; `*` is the largest value in use. A range may be given
/// high to low (RFC 3501 §6.4.8 allows `4:2`).
pub(super) fn contains(set: &SequenceSet, value: u32, largest: u32) -> bool {
    let resolve = |s: &SeqOrUid| match s {
        SeqOrUid::Value(v) => NonZeroU32::get(*v),
        SeqOrUid::Asterisk => largest,
    };
    set.0.as_ref().iter().any(|seq| match seq {
        Sequence::Single(s) => resolve(s) == value,
        Sequence::Range(a, b) => {
            let (a, b) = (resolve(a), resolve(b));
            (a.min(b)..=a.max(b)).contains(&value)
        }
    })
}

/// What changed in a mailbox since the client's snapshot: the untagged responses that tell
/// it (RFC 3501 §7.4.1, §7.3.1), and the new snapshot.
pub(super) fn changes(
    old: &[StoredMessage],
    new: &[StoredMessage],
    recent: usize,
    out: &mut Vec<u8>,
) {
    // Expunges, highest sequence number first so the numbers stay right as they apply.
    let mut seqs = Vec::new();
    for (i, m) in old.iter().enumerate() {
        if new.binary_search_by_key(&m.uid, |n| n.uid).is_err() {
            seqs.push(i + 1);
        }
    }
    for seq in seqs.iter().rev() {
        out.extend_from_slice(format!("* {seq} EXPUNGE\r\n").as_bytes());
    }
    let remaining: Vec<&StoredMessage> = old
        .iter()
        .filter(|m| new.binary_search_by_key(&m.uid, |n| n.uid).is_ok())
        .collect();
    for (i, m) in remaining.iter().enumerate() {
        if let Ok(j) = new.binary_search_by_key(&m.uid, |n| n.uid)
            && new[j].flags != m.flags
        {
            out.extend_from_slice(
                format!(
                    "* {} FETCH (UID {} FLAGS ({}))\r\n",
                    i + 1,
                    m.uid,
                    new[j].flags
                )
                .as_bytes(),
            );
        }
    }
    if new.len() > remaining.len() {
        out.extend_from_slice(
            format!("* {} EXISTS\r\n* {recent} RECENT\r\n", new.len()).as_bytes(),
        );
    }
}
