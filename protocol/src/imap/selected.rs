//! The selected mailbox as this session has told its client: messages in UID order
//! (sequence number = index + 1, UID lookups by binary search), their flags as last sent,
//! the keywords announced, and the messages expunged by others that the client was not yet
//! told of.

use std::collections::HashSet;
use std::num::NonZeroU32;
use std::sync::Arc;

use baedal_storage::mailstore::{Mailbox, MailboxView, SYSTEM_FLAGS, StoredMessage};
use imap_codec::imap_types::sequence::{SeqOrUid, Sequence, SequenceSet};

use super::condstore::Enabled;

pub(super) struct Selected {
    pub mailbox: Mailbox,
    pub read_only: bool,
    /// The messages as this session last told the client, usually the very view every other
    /// session on the mailbox shares; copied only when this session's picture differs.
    pub view: Arc<MailboxView>,
    /// UIDs in `view` that the store no longer has but the client was not told of yet
    /// (RFC 3501 §7.4.1: no EXPUNGE while answering FETCH, STORE or SEARCH). They keep their
    /// sequence numbers and stay fetchable until the next EXPUNGE report.
    pub unannounced_expunges: HashSet<i64>,
    /// UIDs that are \Recent for this session (RFC 3501 §2.3.2).
    pub recent: HashSet<i64>,
    /// The keywords of the last `* FLAGS` (RFC 3501 §7.2.6), in the order announced.
    pub keywords: Vec<String>,
    /// The saved search result `$` (RFC 5182), as UIDs.
    pub saved: Vec<i64>,
    /// IMAP4rev2 is enabled: no \Recent flag, no RECENT responses (RFC 9051 §E.1).
    pub rev2: bool,
    /// Searches kept current with ADDTO/REMOVEFROM (RFC 5267 CONTEXT=SEARCH).
    pub updates: Vec<super::search_context::SearchUpdate>,
}

impl Selected {
    pub fn new(
        mailbox: Mailbox,
        read_only: bool,
        view: Arc<MailboxView>,
        recent: HashSet<i64>,
    ) -> Self {
        let mut selected = Self {
            mailbox,
            read_only,
            view,
            unannounced_expunges: HashSet::new(),
            recent,
            keywords: Vec::new(),
            saved: Vec::new(),
            rev2: false,
            updates: Vec::new(),
        };
        let flags: Vec<String> = selected
            .messages()
            .iter()
            .map(|m| m.flags.clone())
            .collect();
        selected.learn_keywords(flags.iter().map(String::as_str));
        selected
    }

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
        if !self.rev2 && self.recent.contains(&m.uid) {
            format!("{} \\Recent", m.flags).trim().to_string()
        } else {
            m.flags.clone()
        }
    }

    /// The index of a UID (O(log n)).
    pub fn index_of_uid(&self, uid: i64) -> Option<usize> {
        self.messages().binary_search_by_key(&uid, |m| m.uid).ok()
    }

    /// Adds the keywords among `flag_sets` that were not announced yet; true when there were
    /// any (the client must then get a new `* FLAGS` before it sees them).
    pub fn learn_keywords<'a>(&mut self, flag_sets: impl IntoIterator<Item = &'a str>) -> bool {
        let mut learned = false;
        for flag in flag_sets.into_iter().flat_map(str::split_whitespace) {
            if !flag.starts_with('\\')
                && !self.keywords.iter().any(|k| k.eq_ignore_ascii_case(flag))
            {
                self.keywords.push(flag.to_string());
                learned = true;
            }
        }
        learned
    }

    /// `* FLAGS` and `* OK [PERMANENTFLAGS]` with the keywords known (RFC 3501 §7.2.6,
    /// §7.1): sent at SELECT and again whenever a new keyword comes into use.
    pub fn flags_announcement(&self) -> String {
        let mut all: Vec<&str> = SYSTEM_FLAGS.to_vec();
        all.extend(self.keywords.iter().map(String::as_str));
        let list = all.join(" ");
        if self.read_only {
            format!("* FLAGS ({list})\r\n* OK [PERMANENTFLAGS ()] Read-only mailbox\r\n")
        } else {
            format!("* FLAGS ({list})\r\n* OK [PERMANENTFLAGS ({list} \\*)] Flags permitted\r\n")
        }
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

/// The ranges of a sequence set, each low to high with `*` as `largest` and clamped to it.
pub(super) fn ranges(set: &SequenceSet, largest: u32) -> Vec<(u32, u32)> {
    let resolve = |s: &SeqOrUid| match s {
        SeqOrUid::Value(v) => NonZeroU32::get(*v),
        SeqOrUid::Asterisk => largest,
    };
    set.0
        .as_ref()
        .iter()
        .filter_map(|seq| {
            let (a, b) = match seq {
                Sequence::Single(s) => (resolve(s), resolve(s)),
                Sequence::Range(a, b) => (resolve(a), resolve(b)),
            };
            let (low, high) = (a.min(b), a.max(b).min(largest));
            (low <= high).then_some((low, high))
        })
        .collect()
}

/// Brings the client's picture in `selected` up to the store's view `now`, queueing in `out`
/// the untagged responses that tell it (RFC 3501 §7.4.1 EXPUNGE, §7.2.6 FLAGS, §7.4.2 FETCH,
/// §7.3.1 EXISTS, §7.3.2 RECENT). With `expunges_allowed` false (during FETCH, STORE and
/// SEARCH), expunged messages keep their sequence numbers and are reported later.
/// `recent_claimed` are the UIDs this session just claimed as \Recent; no FETCH is sent
/// for a changed message (by index in the new picture) for which `quiet` holds, because
/// the command under way reports it.
///
/// With CONDSTORE enabled, a message is news when its modseq moved and its FETCH carries
/// MODSEQ; while expunges wait, nothing is announced at all, so that no MODSEQ above a
/// pending expunge's reaches the client first (RFC 5162 erratum 1810). With QRESYNC,
/// expunges are reported as `VANISHED` UID sets (RFC 7162 §3.2.10).
pub(super) fn announce(
    selected: &mut Selected,
    now: Arc<MailboxView>,
    expunges_allowed: bool,
    recent_claimed: impl IntoIterator<Item = i64>,
    enabled: Enabled,
    quiet: &dyn Fn(&Selected, usize) -> bool,
    out: &mut Vec<u8>,
) {
    if Arc::ptr_eq(&now, &selected.view) {
        return;
    }
    let present = |uid: i64| now.messages.binary_search_by_key(&uid, |m| m.uid).is_ok();
    if enabled.condstore
        && !expunges_allowed
        && selected.view.messages.iter().any(|m| !present(m.uid))
    {
        selected.unannounced_expunges = selected
            .view
            .messages
            .iter()
            .filter(|m| !present(m.uid))
            .map(|m| m.uid)
            .collect();
        // Claimed now, announced with the rest.
        selected.recent.extend(recent_claimed);
        return;
    }
    let told = selected.view.messages.clone();
    // 1. Expunges, highest sequence number first so each number is right when it applies.
    let mut kept: Vec<StoredMessage> = Vec::with_capacity(told.len());
    let (mut gone, mut gone_uids): (Vec<usize>, Vec<i64>) = (Vec::new(), Vec::new());
    for (i, m) in told.into_iter().enumerate() {
        if present(m.uid) || !expunges_allowed {
            kept.push(m);
        } else {
            gone.push(i + 1);
            gone_uids.push(m.uid);
        }
    }
    // RFC 9586 §3.4: with UIDONLY too, expunges are VANISHED UID sets.
    if enabled.qresync || enabled.uidonly {
        if !gone_uids.is_empty() {
            let line = format!("* VANISHED {}\r\n", super::condstore::uid_set(&gone_uids));
            out.extend_from_slice(line.as_bytes());
        }
    } else {
        for seq in gone.iter().rev() {
            out.extend_from_slice(format!("* {seq} EXPUNGE\r\n").as_bytes());
        }
    }
    selected.unannounced_expunges = kept
        .iter()
        .filter(|m| !present(m.uid))
        .map(|m| m.uid)
        .collect();
    // 2. Flag changes of the messages the client knows, and the new messages: every new
    // UID is above every UID told (UIDs are assigned in commit order, and a view is one
    // snapshot), so they append to the sequence.
    let mut changed: Vec<usize> = Vec::new();
    for (i, m) in kept.iter_mut().enumerate() {
        if let Ok(j) = now.messages.binary_search_by_key(&m.uid, |n| n.uid) {
            let news = if enabled.condstore {
                now.messages[j].modseq != m.modseq
            } else {
                now.messages[j].flags != m.flags
            };
            if news {
                changed.push(i);
            }
            *m = now.messages[j].clone();
        }
    }
    let last_told = kept.last().map_or(0, |m| m.uid);
    let known = kept.len();
    kept.extend(now.messages.iter().filter(|m| m.uid > last_told).cloned());
    let added = kept.len() > known;
    selected.recent.extend(recent_claimed);
    selected
        .recent
        .retain(|uid| kept.binary_search_by_key(uid, |m| m.uid).is_ok());
    // 3. A keyword new to the client is announced before any message shows it.
    let new_flags = changed
        .iter()
        .map(|&i| kept[i].flags.clone())
        .chain(kept[known..].iter().map(|m| m.flags.clone()))
        .collect::<Vec<_>>();
    if selected.learn_keywords(new_flags.iter().map(String::as_str)) {
        out.extend_from_slice(selected.flags_announcement().as_bytes());
    }
    selected.view = if kept == now.messages {
        now
    } else {
        Arc::new(MailboxView {
            highest_modseq: now.highest_modseq,
            messages: kept,
        })
    };
    for i in changed {
        // The command under way reports this message itself.
        if quiet(selected, i) {
            continue;
        }
        let m = &selected.messages()[i];
        let modseq = if enabled.condstore {
            format!(" MODSEQ ({})", m.modseq)
        } else {
            String::new()
        };
        let items = format!("FLAGS ({}){modseq}", selected.flags(m));
        out.extend_from_slice(
            super::uidonly::fetch_line(enabled.uidonly, i + 1, m.uid, &items).as_bytes(),
        );
    }
    if added {
        out.extend_from_slice(format!("* {} EXISTS\r\n", selected.messages().len()).as_bytes());
        if !selected.rev2 {
            out.extend_from_slice(format!("* {} RECENT\r\n", selected.recent.len()).as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(uid: i64, flags: &str) -> StoredMessage {
        StoredMessage {
            thread_id: uid,
            uid,
            size: 10,
            flags: flags.to_string(),
            internal_date: 0,
            modseq: uid,
            blob_key: format!("k{uid}"),
            saved_at: 0,
        }
    }

    fn view(modseq: i64, messages: &[(i64, &str)]) -> Arc<MailboxView> {
        Arc::new(MailboxView {
            highest_modseq: modseq,
            messages: messages.iter().map(|(u, f)| message(*u, f)).collect(),
        })
    }

    fn selected(v: Arc<MailboxView>) -> Selected {
        let mailbox = Mailbox {
            id: 1,
            name: "INBOX".into(),
            special_use: None,
            uidvalidity: 1,
            uidnext: 10,
            highest_modseq: 1,
            subscribed: true,
            first_recent_uid: 1,
            messages: 0,
        };
        Selected::new(mailbox, false, v, HashSet::new())
    }

    fn told(s: &Selected) -> Vec<i64> {
        s.messages().iter().map(|m| m.uid).collect()
    }

    #[test]
    fn expunges_wait_while_they_are_not_allowed_then_come_first() {
        let mut s = selected(view(1, &[(1, ""), (2, ""), (3, "")]));
        let mut out = Vec::new();
        announce(
            &mut s,
            view(2, &[(1, ""), (3, "\\Seen"), (4, "")]),
            false,
            [],
            Enabled::default(),
            &|_, _| false,
            &mut out,
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "* 3 FETCH (UID 3 FLAGS (\\Seen))\r\n* 4 EXISTS\r\n* 0 RECENT\r\n"
        );
        assert_eq!(told(&s), [1, 2, 3, 4]);
        assert!(s.unannounced_expunges.contains(&2));
        let mut out = Vec::new();
        announce(
            &mut s,
            view(2, &[(1, ""), (3, "\\Seen"), (4, "")]),
            true,
            [],
            Enabled::default(),
            &|_, _| false,
            &mut out,
        );
        assert_eq!(String::from_utf8(out).unwrap(), "* 2 EXPUNGE\r\n");
        assert_eq!(told(&s), [1, 3, 4]);
        assert!(s.unannounced_expunges.is_empty());
    }

    #[test]
    fn a_new_keyword_is_announced_before_it_is_shown() {
        let mut s = selected(view(1, &[(1, "$Old")]));
        assert_eq!(s.keywords, ["$Old"]);
        let mut out = Vec::new();
        announce(
            &mut s,
            view(2, &[(1, "$Old $Label1")]),
            true,
            [],
            Enabled::default(),
            &|_, _| false,
            &mut out,
        );
        let out = String::from_utf8(out).unwrap();
        assert!(
            out.starts_with("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Old $Label1)\r\n* OK [PERMANENTFLAGS ("),
            "{out}"
        );
        assert!(
            out.ends_with("* 1 FETCH (UID 1 FLAGS ($Old $Label1))\r\n"),
            "{out}"
        );
    }

    #[test]
    fn an_up_to_date_picture_shares_the_view() {
        let mut s = selected(view(1, &[(1, "")]));
        let now = view(2, &[(1, ""), (2, "")]);
        let mut out = Vec::new();
        announce(
            &mut s,
            now.clone(),
            true,
            [2],
            Enabled::default(),
            &|_, _| false,
            &mut out,
        );
        assert!(Arc::ptr_eq(&s.view, &now));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "* 2 EXISTS\r\n* 1 RECENT\r\n"
        );
    }
}
