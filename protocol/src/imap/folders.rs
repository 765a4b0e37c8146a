//! CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE (RFC 3501 §6.3.3-6.3.7).

use baedal_storage::mailstore::MailStoreError;
use imap_codec::imap_types::mailbox::Mailbox as ImapMailbox;

use super::session::{Done, Session};

/// The tagged NO for a mail store refusal, with its RFC 5530 response code.
pub(super) fn refusal(session: &Session, e: MailStoreError) -> Done {
    match e {
        MailStoreError::NoSuchMailbox => Done::no("[NONEXISTENT] No such mailbox"),
        MailStoreError::MailboxExists => Done::no("[ALREADYEXISTS] Mailbox already exists"),
        MailStoreError::InvalidName(why) => {
            Done::no(format!("[CANNOT] Invalid mailbox name: {why}"))
        }
        MailStoreError::HasChildren => Done::no("[INUSE] Mailbox has children: delete them first"),
        MailStoreError::InboxPermanent => Done::no("[CANNOT] INBOX cannot be deleted"),
        other => session.unavailable(other),
    }
}

/// The special-use attributes a created mailbox may have (not the virtual \All, \Flagged).
const CREATABLE_USES: &[&str] = &["\\Archive", "\\Drafts", "\\Junk", "\\Sent", "\\Trash"];

impl Session {
    pub(super) async fn create(
        &mut self,
        mailbox: &ImapMailbox<'_>,
        special_use: Option<Vec<String>>,
    ) -> Done {
        let Some(user) = self.user_id() else {
            return Done::bad("Not authenticated");
        };
        // RFC 6154 §3: one of the attributes a mailbox can hold here, or NO [USEATTR].
        let attribute = match special_use.as_deref() {
            None | Some([]) => None,
            Some([one]) => match CREATABLE_USES.iter().find(|u| u.eq_ignore_ascii_case(one)) {
                Some(known) => Some(*known),
                None => return Done::no("[USEATTR] That special-use attribute is not supported"),
            },
            Some(_) => return Done::no("[USEATTR] One special-use attribute per mailbox"),
        };
        // RFC 3501 §6.3.3: a trailing delimiter only says the name will have children.
        let name = self.mailbox_name(mailbox).trim_end_matches('/').to_string();
        match self
            .service
            .store
            .create_mailbox_for(user, &name, attribute)
            .await
        {
            // RFC 8474 §4.1
            Ok(()) => match self.service.store.mailbox(user, &name).await {
                Ok(Some(made)) => Done::ok(format!(
                    "[MAILBOXID ({})] CREATE completed",
                    super::mailboxes::mailbox_id(&made)
                )),
                _ => Done::ok("CREATE completed"),
            },
            Err(e) => refusal(self, e),
        }
    }

    pub(super) async fn delete(&mut self, mailbox: &ImapMailbox<'_>) -> Done {
        let Some(user) = self.user_id() else {
            return Done::bad("Not authenticated");
        };
        match self
            .service
            .store
            .delete_mailbox(user, &self.mailbox_name(mailbox))
            .await
        {
            Ok(()) => Done::ok("DELETE completed"),
            Err(e) => refusal(self, e),
        }
    }

    pub(super) async fn rename(&mut self, from: &ImapMailbox<'_>, to: &ImapMailbox<'_>) -> Done {
        let Some(user) = self.user_id() else {
            return Done::bad("Not authenticated");
        };
        match self
            .service
            .store
            .rename_mailbox(user, &self.mailbox_name(from), &self.mailbox_name(to))
            .await
        {
            Ok(()) => Done::ok("RENAME completed"),
            Err(e) => refusal(self, e),
        }
    }

    pub(super) async fn subscribe(&mut self, mailbox: &ImapMailbox<'_>, on: bool) -> Done {
        let Some(user) = self.user_id() else {
            return Done::bad("Not authenticated");
        };
        match self
            .service
            .store
            .set_subscribed(user, &self.mailbox_name(mailbox), on)
            .await
        {
            Ok(()) => Done::ok(if on {
                "SUBSCRIBE completed"
            } else {
                "UNSUBSCRIBE completed"
            }),
            Err(e) => refusal(self, e),
        }
    }
}
