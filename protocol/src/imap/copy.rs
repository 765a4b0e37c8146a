//! COPY, MOVE (RFC 6851) and APPEND, answering with UIDPLUS codes (RFC 4315).

use baedal_storage::DeliveryTarget;
use imap_codec::imap_types::datetime::DateTime;
use imap_codec::imap_types::extensions::binary::LiteralOrLiteral8;
use imap_codec::imap_types::flag::Flag;
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

    pub(super) async fn append(
        &mut self,
        mailbox: &ImapMailbox<'_>,
        flags: &[Flag<'_>],
        date: Option<&DateTime>,
        message: &LiteralOrLiteral8<'_>,
    ) -> Done {
        let Some(user) = self.user_id() else {
            return Done::bad("Not authenticated");
        };
        let name = self.mailbox_name(mailbox);
        let target = match self.service.store.mailbox(user, &name).await {
            Ok(Some(m)) => m,
            Ok(None) => return Done::no("[TRYCREATE] No such mailbox"),
            Err(e) => return self.unavailable(e),
        };
        let data: &[u8] = match message {
            LiteralOrLiteral8::Literal(l) => l.data(),
            LiteralOrLiteral8::Literal8(l) => &l.data,
        };
        let Some(address) = self
            .user_email()
            .and_then(|e| baedal_storage::EmailAddress::parse(&e).ok())
        else {
            return Done::bad("Not authenticated");
        };
        let owner = match self.service.directory.require_user(&address).await {
            Ok(owner) => owner,
            Err(e) => return self.unavailable(e),
        };
        if owner.quota > 0 && owner.used_quota + data.len() as i64 > owner.quota {
            return Done::no("[OVERQUOTA] Mailbox is full");
        }
        let mut spool = match self.service.spool.create().await {
            Ok(s) => s,
            Err(e) => return self.unavailable(e),
        };
        if let Err(e) = spool.write(data).await {
            return self.unavailable(e);
        }
        let message = match spool.finish().await {
            Ok(m) => m,
            Err(e) => return self.unavailable(e),
        };
        let internal_date = date
            .map(|d| d.as_ref().timestamp())
            .unwrap_or_else(baedal_storage::clock::now_secs);
        let flags: Vec<String> = flags.iter().map(|f| f.to_string()).collect();
        let target_of = DeliveryTarget {
            user_id: user,
            maildir: owner.maildir_path.clone(),
            mailbox: name,
        };
        match self
            .service
            .store
            .append(
                message,
                &target_of,
                target.id,
                &flags.join(" "),
                internal_date,
            )
            .await
        {
            Ok(uid) => Done::ok(format!(
                "[APPENDUID {} {uid}] APPEND completed",
                target.uidvalidity
            )),
            Err(e) => refusal(self, e),
        }
    }
}
