//! STORE and EXPUNGE, with their UID forms (RFC 3501 §6.4.3, §6.4.6; RFC 4315 UID EXPUNGE).

use imap_codec::imap_types::flag::{Flag, StoreResponse, StoreType};
use imap_codec::imap_types::sequence::SequenceSet;

use super::mailboxes::has_flag;
use super::session::{Done, Session, State};

/// System flags first in their usual order, then keywords, each once.
fn canonical(flags: Vec<String>) -> String {
    let mut out: Vec<String> = Vec::new();
    for f in flags {
        if !out.iter().any(|o| o.eq_ignore_ascii_case(&f)) {
            out.push(f);
        }
    }
    out.join(" ")
}

impl Session {
    pub(super) async fn store(
        &mut self,
        set: &SequenceSet,
        kind: &StoreType,
        response: &StoreResponse,
        flags: &[Flag<'_>],
        uid: bool,
    ) -> Done {
        let State::Selected(_, selected) = &self.state else {
            return Done::bad("No mailbox selected");
        };
        if selected.read_only {
            return Done::no("[READ-ONLY] Mailbox is read-only");
        }
        let given: Vec<String> = flags.iter().map(|f| f.to_string()).collect();
        let mut changes = Vec::new();
        for i in selected.resolve(set, uid) {
            let m = &selected.messages()[i];
            let current: Vec<String> = m.flags.split_whitespace().map(str::to_string).collect();
            let new = match kind {
                StoreType::Replace => given.clone(),
                StoreType::Add => current.iter().chain(given.iter()).cloned().collect(),
                StoreType::Remove => current
                    .into_iter()
                    .filter(|f| !given.iter().any(|g| g.eq_ignore_ascii_case(f)))
                    .collect(),
            };
            let new = canonical(new);
            if new != m.flags || *response == StoreResponse::Answer {
                changes.push((i, m.uid, new));
            }
        }
        let mailbox_id = selected.mailbox.id;
        let writes: Vec<(i64, String)> = changes
            .iter()
            .filter(|(i, _, f)| {
                let State::Selected(_, s) = &self.state else {
                    return false;
                };
                s.messages()[*i].flags != *f
            })
            .map(|(_, uid, f)| (*uid, f.clone()))
            .collect();
        let modseqs = match self.service.store.set_flags(mailbox_id, &writes).await {
            Ok(m) => m,
            Err(e) => return self.unavailable(e),
        };
        let State::Selected(_, selected) = &mut self.state else {
            return Done::bad("No mailbox selected");
        };
        for (i, muid, flags) in changes {
            if let Some((_, modseq)) = modseqs.iter().find(|(u, _)| *u == muid) {
                selected.messages_mut()[i].flags = flags.clone();
                selected.messages_mut()[i].modseq = *modseq;
            }
            if *response == StoreResponse::Answer {
                let uid_item = if uid {
                    format!(" UID {muid}")
                } else {
                    String::new()
                };
                let shown = selected.flags(&selected.messages()[i]);
                self.conn
                    .queue(format!("* {} FETCH (FLAGS ({shown}){uid_item})\r\n", i + 1).as_bytes());
            }
        }
        Done::ok(if uid {
            "UID STORE completed"
        } else {
            "STORE completed"
        })
    }

    /// EXPUNGE: every \Deleted message, or (UID EXPUNGE) those of them in `uids`.
    pub(super) async fn expunge(&mut self, uids: Option<&SequenceSet>) -> Done {
        let State::Selected(_, selected) = &self.state else {
            return Done::bad("No mailbox selected");
        };
        if selected.read_only {
            return Done::no("[READ-ONLY] Mailbox is read-only");
        }
        let within: Option<Vec<usize>> = uids.map(|set| selected.resolve(set, true));
        let targets: Vec<i64> = selected
            .messages()
            .iter()
            .enumerate()
            .filter(|(i, m)| {
                has_flag(&m.flags, "\\Deleted") && within.as_ref().is_none_or(|w| w.contains(i))
            })
            .map(|(_, m)| m.uid)
            .collect();
        let mailbox_id = selected.mailbox.id;
        let removed = match self.service.store.expunge(mailbox_id, &targets).await {
            Ok(r) => r,
            Err(e) => return self.unavailable(e),
        };
        let State::Selected(_, selected) = &mut self.state else {
            return Done::bad("No mailbox selected");
        };
        // Highest sequence number first, so each number is right when it is applied.
        for uid in removed.iter().rev() {
            if let Some(i) = selected.index_of_uid(*uid) {
                selected.messages_mut().remove(i);
                self.conn
                    .queue(format!("* {} EXPUNGE\r\n", i + 1).as_bytes());
            }
        }
        Done::ok("EXPUNGE completed")
    }
}
