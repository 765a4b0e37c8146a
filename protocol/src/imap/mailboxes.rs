//! LIST, LSUB, STATUS, SELECT, EXAMINE, CLOSE, UNSELECT (RFC 3501 §6.3, RFC 6154 SPECIAL-USE
//! attributes, RFC 3348 CHILDREN), and the refresh that tells a session what changed.

use std::sync::Arc;

use imap_codec::imap_types::command::SelectParameter;
use imap_codec::imap_types::mailbox::Mailbox as ImapMailbox;
use imap_codec::imap_types::status::StatusDataItemName;

use baedal_storage::mailstore::{MailStoreError, MailboxView, utf7};

use super::condstore::Resync;
use super::selected::{Selected, announce};
use super::session::{Done, Session, State, User};
use super::wire;

/// LIST's options (RFC 5258 selection and return options, RFC 5819 STATUS).
#[derive(Debug, Default, Clone)]
pub(super) struct ListOptions {
    pub lsub: bool,
    pub select_subscribed: bool,
    pub select_special_use: bool,
    pub return_subscribed: bool,
    /// RFC 5258 §3: parents of matching subscribed names are listed with CHILDINFO.
    pub recursive_match: bool,
    /// STATUS items to return after each mailbox.
    pub status: Vec<String>,
}

/// A mailbox's MAILBOXID (RFC 8474 §4): from its UIDVALIDITY, which no other mailbox ever
/// had and which a RENAME keeps.
pub(super) fn mailbox_id(mailbox: &baedal_storage::mailstore::Mailbox) -> String {
    format!("M{}", mailbox.uidvalidity)
}

/// The hierarchy delimiter (RFC 3501 §6.3.8).
pub(super) const DELIMITER: char = '/';

/// A mailbox name as the client wrote it, INBOX in capitals.
fn written_name(mailbox: &ImapMailbox<'_>) -> String {
    match mailbox {
        ImapMailbox::Inbox => "INBOX".to_string(),
        ImapMailbox::Other(other) => {
            let name = String::from_utf8_lossy(other.as_ref()).into_owned();
            if name.eq_ignore_ascii_case("INBOX") {
                "INBOX".to_string()
            } else {
                name
            }
        }
    }
}

/// A name from a client as the store keeps it (UTF-8): a rev1 client's modified UTF-7
/// decoded (RFC 3501 §5.1.3), a UTF8=ACCEPT client's taken as it is (RFC 6855 §3). A name
/// that is not valid modified UTF-7 is taken as written.
pub(super) fn stored_name(written: &str, utf8: bool) -> String {
    if utf8 {
        return written.to_string();
    }
    utf7::decode(written).unwrap_or_else(|| written.to_string())
}

impl Session {
    /// A mailbox argument as the store names it.
    pub(super) fn mailbox_name(&self, mailbox: &ImapMailbox<'_>) -> String {
        stored_name(&written_name(mailbox), self.enabled.utf8)
    }

    /// A stored name as this client reads it: modified UTF-7 unless UTF8=ACCEPT is on.
    pub(super) fn client_name(&self, stored: &str) -> String {
        if self.enabled.utf8 {
            stored.to_string()
        } else {
            utf7::encode(stored)
        }
    }

    pub(super) fn user(&self) -> Option<&User> {
        match &self.state {
            State::NotAuthenticated => None,
            State::Authenticated(user) | State::Selected(user, _) => Some(user),
        }
    }

    pub(super) async fn status(
        &mut self,
        mailbox: &ImapMailbox<'_>,
        items: &[StatusDataItemName],
        extra_items: &super::syntax::ExtraItems,
    ) -> Done {
        let mut names: Vec<&str> = items
            .iter()
            .filter_map(|item| match item {
                StatusDataItemName::Messages => Some("MESSAGES"),
                StatusDataItemName::Recent => Some("RECENT"),
                StatusDataItemName::UidNext => Some("UIDNEXT"),
                StatusDataItemName::UidValidity => Some("UIDVALIDITY"),
                StatusDataItemName::Unseen => Some("UNSEEN"),
                StatusDataItemName::Deleted => Some("DELETED"),
                StatusDataItemName::Size => Some("SIZE"),
                StatusDataItemName::HighestModSeq => Some("HIGHESTMODSEQ"),
                _ => None,
            })
            .collect();
        // RFC 8474 §4.2 (the stand-in the parser needed is not answered).
        if extra_items.mailbox_id_only {
            names.clear();
        }
        if extra_items.mailbox_id {
            names.push("MAILBOXID");
        }
        // RFC 7162 §3.1: STATUS HIGHESTMODSEQ is a CONDSTORE-enabling command.
        if names.contains(&"HIGHESTMODSEQ") {
            self.enabled.condstore = true;
        }
        match self.status_line(&self.mailbox_name(mailbox), &names).await {
            Ok(()) => Done::ok("STATUS completed"),
            Err(done) => done,
        }
    }

    /// Queues `* STATUS name (items)` for a mailbox (STATUS, and LIST-STATUS, RFC 5819).
    pub(super) async fn status_line(&mut self, name: &str, items: &[&str]) -> Result<(), Done> {
        let user = self
            .user()
            .cloned()
            .ok_or_else(|| Done::bad("Not authenticated"))?;
        let found = match self.service.store.mailbox(user.id, name).await {
            Ok(Some(m)) => m,
            Ok(None) => return Err(Done::no("[NONEXISTENT] No such mailbox")),
            Err(e) => return Err(self.unavailable(e)),
        };
        let view = self
            .service
            .store
            .view(found.id)
            .await
            .map_err(|e| self.unavailable(e))?;
        let messages = &view.messages;
        let values: Vec<String> = items
            .iter()
            .filter_map(|item| match item.to_ascii_uppercase().as_str() {
                "MESSAGES" => Some(format!("MESSAGES {}", messages.len())),
                "RECENT" => Some(format!(
                    "RECENT {}",
                    messages
                        .iter()
                        .filter(|m| m.uid >= found.first_recent_uid)
                        .count()
                )),
                "UIDNEXT" => Some(format!("UIDNEXT {}", found.uidnext)),
                "UIDVALIDITY" => Some(format!("UIDVALIDITY {}", found.uidvalidity)),
                "UNSEEN" => Some(format!(
                    "UNSEEN {}",
                    messages
                        .iter()
                        .filter(|m| !has_flag(&m.flags, "\\Seen"))
                        .count()
                )),
                // RFC 9051 §6.3.11
                "DELETED" => Some(format!(
                    "DELETED {}",
                    messages
                        .iter()
                        .filter(|m| has_flag(&m.flags, "\\Deleted"))
                        .count()
                )),
                // RFC 8438
                "SIZE" => Some(format!(
                    "SIZE {}",
                    messages.iter().map(|m| m.size.max(0)).sum::<i64>()
                )),
                // RFC 7162 §3.1.2.3
                "HIGHESTMODSEQ" => Some(format!("HIGHESTMODSEQ {}", view.highest_modseq)),
                "MAILBOXID" => Some(format!("MAILBOXID ({})", mailbox_id(&found))),
                _ => None,
            })
            .collect();
        let mut line = b"* STATUS ".to_vec();
        wire::string(&mut line, self.client_name(name).as_bytes());
        line.extend_from_slice(format!(" ({})\r\n", values.join(" ")).as_bytes());
        self.conn.queue(&line);
        Ok(())
    }

    pub(super) async fn select(
        &mut self,
        mailbox: &ImapMailbox<'_>,
        read_only: bool,
        parameters: &[SelectParameter],
    ) -> Done {
        let Some(user) = self.user().cloned() else {
            return Done::bad("Not authenticated");
        };
        let mut resync = None;
        for parameter in parameters {
            match parameter {
                SelectParameter::CondStore => self.enabled.condstore = true,
                // RFC 7162 §3.2.5: QRESYNC parameters need ENABLE QRESYNC first.
                SelectParameter::QResync { .. } if !self.enabled.qresync => {
                    return Done::bad("QRESYNC is not enabled");
                }
                SelectParameter::QResync {
                    uid_validity,
                    mod_sequence_value,
                    known_uids,
                    ..
                } => {
                    resync = Some(Resync {
                        uidvalidity: uid_validity.get(),
                        modseq: mod_sequence_value.get(),
                        known_uids: known_uids.clone(),
                    })
                }
            }
        }
        // RFC 7162 §3.2.11, RFC 9051 §7.1: the previous mailbox is closed first.
        if matches!(self.state, State::Selected(..))
            && (self.enabled.condstore || self.enabled.rev2)
        {
            self.conn
                .queue(b"* OK [CLOSED] Previous mailbox closed\r\n");
        }
        // RFC 3501 §6.3.1: a failed SELECT leaves no mailbox selected.
        self.state = State::Authenticated(user.clone());
        let name = self.mailbox_name(mailbox);
        let found = match self.service.store.mailbox(user.id, &name).await {
            Ok(Some(m)) => m,
            Ok(None) => return Done::no("[NONEXISTENT] No such mailbox"),
            Err(e) => return self.unavailable(e),
        };
        let view = match self.service.store.view(found.id).await {
            Ok(view) => view,
            Err(e) => return self.unavailable(e),
        };
        let messages = &view.messages;
        let first_unseen = messages.iter().position(|m| !has_flag(&m.flags, "\\Seen"));
        // RFC 3501 §2.3.2: SELECT claims the recent messages; EXAMINE only looks.
        let recent: std::collections::HashSet<i64> = if read_only {
            messages
                .iter()
                .filter(|m| m.uid >= found.first_recent_uid)
                .map(|m| m.uid)
                .collect()
        } else {
            match self.service.store.claim_recent(found.id).await {
                Ok((from, to)) => messages
                    .iter()
                    .filter(|m| (from..to).contains(&m.uid))
                    .map(|m| m.uid)
                    .collect(),
                Err(e) => return self.unavailable(e),
            }
        };
        let exists = messages.len();
        let recent_count = recent.len();
        let uidvalidity = found.uidvalidity;
        let uidnext = found.uidnext;
        let mut selected = Selected::new(found, read_only, view, recent);
        selected.rev2 = self.enabled.rev2;
        let mut out = selected.flags_announcement();
        out.push_str(&format!("* {exists} EXISTS\r\n"));
        if self.enabled.rev2 {
            // RFC 9051 §6.3.2: the mailbox's name as the server knows it; no RECENT, UNSEEN.
            let mut list = b"* LIST () \"/\" ".to_vec();
            wire::string(&mut list, self.client_name(&name).as_bytes());
            out.push_str(&String::from_utf8_lossy(&list));
            out.push_str("\r\n");
        } else {
            out.push_str(&format!("* {recent_count} RECENT\r\n"));
            if let Some(i) = first_unseen {
                out.push_str(&format!("* OK [UNSEEN {}] First unseen\r\n", i + 1));
            }
        }
        out.push_str(&format!(
            "* OK [UIDVALIDITY {uidvalidity}] UIDs valid\r\n* OK [UIDNEXT {uidnext}] Predicted next UID\r\n"
        ));
        // RFC 8474 §4.1
        out.push_str(&format!(
            "* OK [MAILBOXID ({})] Ok\r\n",
            mailbox_id(&selected.mailbox)
        ));
        // RFC 7162 §3.1.2.1: every mailbox keeps modseqs, so every SELECT reports it.
        out.push_str(&format!(
            "* OK [HIGHESTMODSEQ {}] Highest\r\n",
            selected.view.highest_modseq
        ));
        let mut out = out.into_bytes();
        if let Some(resync) = resync
            && i64::from(resync.uidvalidity) == uidvalidity
        {
            let vanished = match self
                .service
                .store
                .vanished_since(selected.mailbox.id, resync.modseq as i64)
                .await
            {
                Ok(vanished) => vanished,
                Err(e) => return self.unavailable(e),
            };
            super::condstore::resync_responses(
                &selected,
                &resync,
                vanished,
                self.enabled.uidonly,
                &mut out,
            );
        }
        self.conn.queue(&out);
        tracing::debug!(user = %user.email, mailbox = %name, read_only, "selected");
        self.state = State::Selected(user, Box::new(selected));
        let (mode, verb) = if read_only {
            ("READ-ONLY", "EXAMINE")
        } else {
            ("READ-WRITE", "SELECT")
        };
        Done::ok(format!("[{mode}] {verb} completed"))
    }

    /// CLOSE (expunging silently, RFC 3501 §6.4.2) or UNSELECT (RFC 3691).
    pub(super) async fn close(&mut self, expunge: bool) -> Done {
        let State::Selected(user, selected) =
            std::mem::replace(&mut self.state, State::NotAuthenticated)
        else {
            return Done::bad("No mailbox selected");
        };
        self.state = State::Authenticated(user);
        // RFC 3501 §6.4.2: what is \Deleted in the store goes, without EXPUNGE responses.
        if expunge
            && !selected.read_only
            && let Err(e) = self
                .service
                .store
                .expunge_deleted(selected.mailbox.id, None)
                .await
        {
            return self.unavailable(e);
        }
        Done::ok(if expunge {
            "CLOSE completed"
        } else {
            "UNSELECT completed"
        })
    }

    /// Tells the client what changed in the selected mailbox since it last looked: its own
    /// APPEND, COPY, MOVE and EXPUNGE as well as other sessions' changes. Runs at the end of
    /// every command in the selected state, before the tagged reply, and in IDLE;
    /// `expunges_allowed` is false for FETCH, STORE and SEARCH (RFC 3501 §7.4.1).
    pub(super) async fn announce_changes(&mut self, expunges_allowed: bool) {
        self.announce_changes_but(expunges_allowed, &|_, _| false)
            .await;
    }

    /// As [`Session::announce_changes`], without a FETCH for the changed messages `quiet`
    /// picks (by index in the new picture): the command under way reports them itself.
    pub(super) async fn announce_changes_but(
        &mut self,
        expunges_allowed: bool,
        quiet: &(dyn Fn(&Selected, usize) -> bool + Sync),
    ) {
        let State::Selected(_, selected) = &mut self.state else {
            return;
        };
        let now = match self.service.store.view(selected.mailbox.id).await {
            Ok(view) => view,
            // Deleted by another session: to this one, every message went.
            Err(MailStoreError::NoSuchMailbox) => Arc::new(MailboxView {
                highest_modseq: selected.view.highest_modseq,
                messages: Vec::new(),
            }),
            Err(e) => {
                tracing::error!(error = %e, "cannot refresh the selected mailbox");
                return;
            }
        };
        if Arc::ptr_eq(&now, &selected.view) {
            return;
        }
        let mut claimed = Vec::new();
        if !selected.read_only
            && now.messages.last().map(|m| m.uid) > selected.messages().last().map(|m| m.uid)
        {
            match self.service.store.claim_recent(selected.mailbox.id).await {
                Ok((from, to)) => claimed.extend(
                    now.messages
                        .iter()
                        .filter(|m| (from..to).contains(&m.uid))
                        .map(|m| m.uid),
                ),
                Err(e) => tracing::error!(error = %e, "cannot claim recent messages"),
            }
        }
        let before = selected.view.clone();
        let mark = self.conn.output().len();
        announce(
            selected,
            now,
            expunges_allowed,
            claimed,
            self.enabled,
            quiet,
            self.conn.output(),
        );
        if !selected.updates.is_empty() {
            // RFC 5267 §4.3: the REMOVEFROM of an expunged message comes before its EXPUNGE.
            let removals = super::search_context::expunge_removals(selected, &before);
            self.conn.output().splice(mark..mark, removals.into_bytes());
            self.refresh_updates().await;
        }
    }

    pub(super) fn unavailable(&self, e: impl std::fmt::Display) -> Done {
        tracing::error!(error = %e, "mail store failed");
        Done::no("[UNAVAILABLE] Temporary server problem, try again later")
    }
}

pub(super) use baedal_storage::mailstore::has_flag;
