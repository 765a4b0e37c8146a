//! STORE and EXPUNGE, with their UID forms (RFC 3501 §6.4.3, §6.4.6; RFC 4315 UID EXPUNGE).
//! Both act on the flags as stored, never on this session's copy of them; what others
//! changed reaches the client through the announcement at the end of the command.

use baedal_storage::mailstore::{FlagChange, apply_flags};
use imap_codec::imap_types::flag::{Flag, StoreResponse, StoreType};
use imap_codec::imap_types::sequence::SequenceSet;

use super::session::{Done, Session, State};

impl Session {
    pub(super) async fn store(
        &mut self,
        set: &SequenceSet,
        kind: &StoreType,
        response: &StoreResponse,
        flags: &[Flag<'_>],
        uid: bool,
        unchanged_since: Option<u64>,
    ) -> Done {
        // RFC 7162 §3.1: UNCHANGEDSINCE is a CONDSTORE-enabling modifier.
        if unchanged_since.is_some() {
            self.enabled.condstore = true;
        }
        let condstore = self.enabled.condstore;
        let State::Selected(_, selected) = &self.state else {
            return Done::bad("No mailbox selected");
        };
        if selected.read_only {
            return Done::no("[READ-ONLY] Mailbox is read-only");
        }
        // \Recent cannot be stored (RFC 3501 §2.3.2); canonical_flags drops it.
        let given: Vec<String> = flags.iter().map(|f| f.to_string()).collect();
        let change = match kind {
            StoreType::Replace => FlagChange::Replace,
            StoreType::Add => FlagChange::Add,
            StoreType::Remove => FlagChange::Remove,
        };
        let uids: Vec<i64> = selected
            .resolve(set, uid)
            .into_iter()
            .map(|i| selected.messages()[i].uid)
            .collect();
        let mailbox_id = selected.mailbox.id;
        let updates = match self
            .service
            .store
            .store_flags(
                mailbox_id,
                &uids,
                change,
                &given,
                unchanged_since.map(|n| n.min(i64::MAX as u64) as i64),
            )
            .await
        {
            Ok(updates) => updates,
            Err(e) => return self.unavailable(e),
        };
        let State::Selected(_, selected) = &mut self.state else {
            return Done::bad("No mailbox selected");
        };
        let silent = *response == StoreResponse::Silent;
        // A keyword new to the client is announced before a FETCH shows it (RFC 3501 §7.2.6),
        // also after a .SILENT store: later FETCHes show it.
        if selected.learn_keywords(updates.iter().map(|u| u.flags.as_str())) {
            self.conn.queue(selected.flags_announcement().as_bytes());
        }
        let mut modified = Vec::new();
        for update in &updates {
            let Some(i) = selected.index_of_uid(update.uid) else {
                continue;
            };
            if update.modified {
                // The client learns the flags it did not change from the announcement.
                modified.push(if uid { update.uid } else { i as i64 + 1 });
                continue;
            }
            let message = &mut selected.messages_mut()[i];
            // What the client expects from its own change; anything else (another
            // session's change) is news it must be told.
            let expected = apply_flags(&message.flags, change, &given);
            if silent && !condstore {
                // The announcement at the end of the command tells the rest.
                message.flags = expected;
                continue;
            }
            message.flags = update.flags.clone();
            message.modseq = update.modseq;
            let mut items = Vec::new();
            // RFC 7162 §3.1.3: with CONDSTORE every stored message's FETCH carries its
            // MODSEQ, also after .SILENT (then FLAGS only when others changed them too).
            if !silent || expected != update.flags {
                items.push(format!(
                    "FLAGS ({})",
                    selected.flags(&selected.messages()[i])
                ));
            }
            // RFC 7162 §3.2.4 (RFC 5162 erratum 1807): with CONDSTORE every FETCH of a flag
            // change carries UID and MODSEQ.
            // UIDONLY: the UID leads the line (RFC 9586 §3.3).
            if (uid || condstore) && !self.enabled.uidonly {
                items.push(format!("UID {}", update.uid));
            }
            if condstore {
                items.push(format!("MODSEQ ({})", update.modseq));
            }
            let line = if self.enabled.uidonly {
                super::uidonly::fetch_line(true, i + 1, update.uid, &items.join(" "))
            } else {
                format!("* {} FETCH ({})\r\n", i + 1, items.join(" "))
            };
            self.conn.queue(line.as_bytes());
        }
        let verb = if uid { "UID STORE" } else { "STORE" };
        if modified.is_empty() {
            Done::ok(format!("{verb} completed"))
        } else {
            Done::ok(format!(
                "[MODIFIED {}] Conditional {verb} failed",
                super::condstore::uid_set(&modified)
            ))
        }
    }

    /// EXPUNGE: every message \Deleted in the store, or (UID EXPUNGE) those of them in
    /// `uids`. The `* n EXPUNGE` responses come from the announcement after the command, so
    /// messages another session expunged first are reported too.
    pub(super) async fn expunge(&mut self, uids: Option<&SequenceSet>) -> Done {
        let State::Selected(_, selected) = &self.state else {
            return Done::bad("No mailbox selected");
        };
        if selected.read_only {
            return Done::no("[READ-ONLY] Mailbox is read-only");
        }
        let within: Option<Vec<i64>> = uids.map(|set| {
            selected
                .resolve(set, true)
                .into_iter()
                .map(|i| selected.messages()[i].uid)
                .collect()
        });
        let mailbox_id = selected.mailbox.id;
        if let Err(e) = self
            .service
            .store
            .expunge_deleted(mailbox_id, within.as_deref())
            .await
        {
            return self.unavailable(e);
        }
        Done::ok(if uids.is_some() {
            "UID EXPUNGE completed"
        } else {
            "EXPUNGE completed"
        })
    }
}
