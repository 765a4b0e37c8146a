//! APPEND (RFC 3501 §6.3.11) and MULTIAPPEND (RFC 3502), answering with APPENDUID (RFC 4315).

use baedal_storage::DeliveryTarget;
use baedal_storage::mailstore::AppendedMessage;
use imap_codec::imap_types::datetime::DateTime;
use imap_codec::imap_types::extensions::binary::LiteralOrLiteral8;
use imap_codec::imap_types::flag::Flag;
use imap_codec::imap_types::mailbox::Mailbox as ImapMailbox;

use super::folders::refusal;
use super::session::{Done, Session};

/// One message of an APPEND, as the client sent it.
pub(super) struct Appended {
    flags: Vec<String>,
    /// INTERNALDATE, seconds since the epoch; `None`: now.
    date: Option<i64>,
    data: Vec<u8>,
}

impl Appended {
    pub(super) fn of(
        flags: Vec<Flag<'_>>,
        date: Option<DateTime>,
        message: LiteralOrLiteral8<'_>,
    ) -> Self {
        let data = match message {
            LiteralOrLiteral8::Literal(l) => l.data().to_vec(),
            LiteralOrLiteral8::Literal8(l) => l.data.into_owned(),
        };
        Self {
            flags: flags.iter().map(|f| f.to_string()).collect(),
            date: date.map(|d| d.as_ref().timestamp()),
            data,
        }
    }
}

impl Appended {
    /// The message is `data` (CATENATE builds it after parsing).
    pub(super) fn set_data(&mut self, data: Vec<u8>) {
        self.data = data;
    }
}

impl Session {
    /// Stores every message into `mailbox`, all or none (RFC 3502 §6.3.11).
    pub(super) async fn append(
        &mut self,
        mailbox: &ImapMailbox<'_>,
        messages: Vec<Appended>,
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
        let total: i64 = messages.iter().map(|m| m.data.len() as i64).sum();
        if owner.quota > 0 && owner.used_quota + total > owner.quota {
            return Done::no("[OVERQUOTA] Mailbox is full");
        }
        let mut spooled = Vec::with_capacity(messages.len());
        for message in messages {
            let mut spool = match self.service.spool.create().await {
                Ok(s) => s,
                Err(e) => return self.unavailable(e),
            };
            if let Err(e) = spool.write(&message.data).await {
                return self.unavailable(e);
            }
            let file = match spool.finish().await {
                Ok(m) => m,
                Err(e) => return self.unavailable(e),
            };
            spooled.push(AppendedMessage {
                message: file,
                flags: message.flags.join(" "),
                internal_date: message.date.unwrap_or_else(baedal_storage::clock::now_secs),
            });
        }
        let target_of = DeliveryTarget {
            user_id: user,
            maildir: owner.maildir_path.clone(),
            mailbox: name,
        };
        match self
            .service
            .store
            .append_all(spooled, &target_of, target.id)
            .await
        {
            Ok(uids) => Done::ok(format!(
                "[APPENDUID {} {}] APPEND completed",
                target.uidvalidity,
                super::condstore::uid_set(&uids)
            )),
            Err(e) => refusal(self, e),
        }
    }
}
