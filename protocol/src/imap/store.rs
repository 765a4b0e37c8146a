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
    ) -> Done {
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
            .store_flags(mailbox_id, &uids, change, &given)
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
        for update in &updates {
            let Some(i) = selected.index_of_uid(update.uid) else {
                continue;
            };
            let message = &mut selected.messages_mut()[i];
            if silent {
                // The client knows its own change; changes by others are still news, and the
                // announcement at the end of the command tells them.
                message.flags = apply_flags(&message.flags, change, &given);
                continue;
            }
            message.flags = update.flags.clone();
            message.modseq = update.modseq;
            let uid_item = if uid {
                format!(" UID {}", update.uid)
            } else {
                String::new()
            };
            let shown = selected.flags(&selected.messages()[i]);
            self.conn
                .queue(format!("* {} FETCH (FLAGS ({shown}){uid_item})\r\n", i + 1).as_bytes());
        }
        Done::ok(if uid {
            "UID STORE completed"
        } else {
            "STORE completed"
        })
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
