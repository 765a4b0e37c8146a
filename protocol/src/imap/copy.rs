//! COPY and MOVE (RFC 6851), answering with UIDPLUS codes (RFC 4315).

use imap_codec::imap_types::mailbox::Mailbox as ImapMailbox;
use imap_codec::imap_types::sequence::SequenceSet;

use super::folders::refusal;
use super::session::{Done, Session, State};

/// `1,3:5`-style list of UIDs for COPYUID/APPENDUID.
fn uid_list(uids: impl Iterator<Item = i64>) -> String {
    uids.map(|u| u.to_string()).collect::<Vec<_>>().join(",")
}

impl Session {
    pub(super) async fn copy_or_move(
        &mut self,
        set: &SequenceSet,
        mailbox: &ImapMailbox<'_>,
        uid: bool,
        moving: bool,
    ) -> Done {
        let State::Selected(user, selected) = &self.state else {
            return Done::bad("No mailbox selected");
        };
        if moving && selected.read_only {
            return Done::no("[READ-ONLY] Mailbox is read-only");
        }
        let target = match self
            .service
            .store
            .mailbox(user.id, &self.mailbox_name(mailbox))
            .await
        {
            Ok(Some(m)) => m,
            Ok(None) => return Done::no("[TRYCREATE] No such mailbox"),
            Err(e) => return self.unavailable(e),
        };
        let indexes = selected.resolve(set, uid);
        let uids: Vec<i64> = indexes
            .iter()
            .map(|&i| selected.messages()[i].uid)
            .collect();
        let from = selected.mailbox.id;
        let verb = if moving { "MOVE" } else { "COPY" };
        if uids.is_empty() {
            return Done::ok(format!("{verb} completed (nothing to do)"));
        }
        let map = if moving {
            self.service
                .store
                .move_messages(from, &uids, target.id)
                .await
        } else {
            self.service
                .store
                .copy_messages(from, &uids, target.id)
                .await
        };
        let map = match map {
            Ok(map) => map,
            Err(e) => return refusal(self, e),
        };
        if map.is_empty() {
            // Every message named was expunged meanwhile (RFC 2180 §4.4): nothing to
            // report, and a COPYUID with empty sets would not parse.
            return Done::ok(format!("{verb} completed (the messages no longer exist)"));
        }
        let code = format!(
            "[COPYUID {} {} {}]",
            target.uidvalidity,
            uid_list(map.iter().map(|(s, _)| *s)),
            uid_list(map.iter().map(|(_, d)| *d))
        );
        if moving {
            // RFC 6851 §4.3: COPYUID goes untagged before the EXPUNGEs, which the
            // announcement at the end of the command sends.
            self.conn.queue(format!("* OK {code} Moved\r\n").as_bytes());
            return Done::ok("MOVE completed");
        }
        Done::ok(format!("{code} COPY completed"))
    }
}
