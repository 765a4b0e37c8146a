//! LIST, LSUB, STATUS, SELECT, EXAMINE, CLOSE, UNSELECT (RFC 3501 §6.3, RFC 6154 SPECIAL-USE
//! attributes, RFC 3348 CHILDREN), and the refresh that tells a session what changed.

use std::sync::Arc;

use imap_codec::imap_types::mailbox::{ListMailbox, Mailbox as ImapMailbox};
use imap_codec::imap_types::status::StatusDataItemName;

use super::selected::{Selected, changes};
use super::session::{Done, Session, State, User};
use super::wire;

/// LIST's options (RFC 5258 selection and return options, RFC 5819 STATUS).
#[derive(Debug, Default, Clone)]
pub(super) struct ListOptions {
    pub lsub: bool,
    pub select_subscribed: bool,
    pub select_special_use: bool,
    pub return_subscribed: bool,
    /// STATUS items to return after each mailbox.
    pub status: Vec<String>,
}

/// The hierarchy delimiter (RFC 3501 §6.3.8).
pub(super) const DELIMITER: char = '/';

/// A mailbox name as the store keeps it: INBOX in capitals, others as given.
pub(super) fn mailbox_name(mailbox: &ImapMailbox<'_>) -> String {
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

fn list_pattern(pattern: &ListMailbox<'_>) -> String {
    match pattern {
        ListMailbox::Token(t) => String::from_utf8_lossy(t.as_ref()).into_owned(),
        ListMailbox::String(s) => String::from_utf8_lossy(s.as_ref()).into_owned(),
    }
}

/// RFC 3501 §6.3.8 wildcards: `*` matches anything, `%` anything but the delimiter.
fn matches(pattern: &[char], name: &[char]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some(('*', rest)) => (0..=name.len()).any(|i| matches(rest, &name[i..])),
        Some(('%', rest)) => (0..=name.len())
            .take_while(|&i| i == 0 || name[i - 1] != DELIMITER)
            .any(|i| matches(rest, &name[i..])),
        Some((c, rest)) => name.first() == Some(c) && matches(rest, &name[1..]),
    }
}

impl Session {
    fn user(&self) -> Option<&User> {
        match &self.state {
            State::NotAuthenticated => None,
            State::Authenticated(user) | State::Selected(user, _) => Some(user),
        }
    }

    pub(super) async fn list(
        &mut self,
        reference: &ImapMailbox<'_>,
        pattern: &ListMailbox<'_>,
        lsub: bool,
    ) -> Done {
        let reference = match reference {
            ImapMailbox::Inbox => "INBOX".to_string(),
            ImapMailbox::Other(o) => String::from_utf8_lossy(o.as_ref()).into_owned(),
        };
        let options = ListOptions {
            lsub,
            ..ListOptions::default()
        };
        self.list_mailboxes(&reference, &[list_pattern(pattern)], &options)
            .await
    }

    /// LIST and LSUB, with the RFC 5258 selection and return options and RFC 5819 STATUS.
    pub(super) async fn list_mailboxes(
        &mut self,
        reference: &str,
        patterns: &[String],
        options: &ListOptions,
    ) -> Done {
        let verb = if options.lsub { "LSUB" } else { "LIST" };
        let Some(user) = self.user().cloned() else {
            return Done::bad("Not authenticated");
        };
        if patterns.len() == 1 && patterns[0].is_empty() && reference.is_empty() {
            self.conn
                .queue(format!("* {verb} (\\Noselect) \"{DELIMITER}\" \"\"\r\n").as_bytes());
            return Done::ok(format!("{verb} completed"));
        }
        let mailboxes = match self.service.store.mailboxes(user.id).await {
            Ok(m) => m,
            Err(e) => return self.unavailable(e),
        };
        let names: Vec<String> = mailboxes.iter().map(|m| m.name.clone()).collect();
        let patterns: Vec<Vec<char>> = patterns
            .iter()
            .map(|p| format!("{reference}{p}").chars().collect())
            .collect();
        for m in &mailboxes {
            let name: Vec<char> = m.name.chars().collect();
            // INBOX matches case-insensitively (RFC 3501 §5.1).
            let hit = patterns.iter().any(|p| {
                matches(p, &name)
                    || (m.name == "INBOX"
                        && matches(
                            &p.iter()
                                .collect::<String>()
                                .to_uppercase()
                                .chars()
                                .collect::<Vec<_>>(),
                            &name,
                        ))
            });
            let subscribed_only = options.lsub || options.select_subscribed;
            if !hit
                || (subscribed_only && !m.subscribed)
                || (options.select_special_use && m.special_use.is_none())
            {
                continue;
            }
            let children = names
                .iter()
                .any(|n| n.starts_with(&format!("{}{DELIMITER}", m.name)));
            let mut attributes = vec![if children {
                "\\HasChildren"
            } else {
                "\\HasNoChildren"
            }];
            if (options.select_subscribed || options.return_subscribed) && m.subscribed {
                attributes.push("\\Subscribed");
            }
            if let Some(special) = &m.special_use {
                attributes.push(special);
            }
            let mut line =
                format!("* {verb} ({}) \"{DELIMITER}\" ", attributes.join(" ")).into_bytes();
            wire::string(&mut line, m.name.as_bytes());
            line.extend_from_slice(b"\r\n");
            self.conn.queue(&line);
            if !options.status.is_empty() {
                let items: Vec<&str> = options.status.iter().map(String::as_str).collect();
                if let Err(done) = self.status_line(&m.name, &items).await {
                    return done;
                }
            }
        }
        Done::ok(format!("{verb} completed"))
    }

    pub(super) async fn status(
        &mut self,
        mailbox: &ImapMailbox<'_>,
        items: &[StatusDataItemName],
    ) -> Done {
        let names: Vec<&str> = items
            .iter()
            .filter_map(|item| match item {
                StatusDataItemName::Messages => Some("MESSAGES"),
                StatusDataItemName::Recent => Some("RECENT"),
                StatusDataItemName::UidNext => Some("UIDNEXT"),
                StatusDataItemName::UidValidity => Some("UIDVALIDITY"),
                StatusDataItemName::Unseen => Some("UNSEEN"),
                _ => None,
            })
            .collect();
        match self.status_line(&mailbox_name(mailbox), &names).await {
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
                _ => None,
            })
            .collect();
        let mut line = b"* STATUS ".to_vec();
        wire::string(&mut line, name.as_bytes());
        line.extend_from_slice(format!(" ({})\r\n", values.join(" ")).as_bytes());
        self.conn.queue(&line);
        Ok(())
    }

    pub(super) async fn select(&mut self, mailbox: &ImapMailbox<'_>, read_only: bool) -> Done {
        let Some(user) = self.user().cloned() else {
            return Done::bad("Not authenticated");
        };
        // RFC 3501 §6.3.1: a failed SELECT leaves no mailbox selected.
        self.state = State::Authenticated(user.clone());
        let name = mailbox_name(mailbox);
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
        let mut out = String::new();
        out.push_str("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n");
        if read_only {
            out.push_str("* OK [PERMANENTFLAGS ()] Read-only mailbox\r\n");
        } else {
            out.push_str("* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted\r\n");
        }
        out.push_str(&format!(
            "* {} EXISTS\r\n* {} RECENT\r\n",
            messages.len(),
            recent.len()
        ));
        if let Some(i) = first_unseen {
            out.push_str(&format!("* OK [UNSEEN {}] First unseen\r\n", i + 1));
        }
        out.push_str(&format!(
            "* OK [UIDVALIDITY {}] UIDs valid\r\n* OK [UIDNEXT {}] Predicted next UID\r\n",
            found.uidvalidity, found.uidnext
        ));
        self.conn.queue(out.as_bytes());
        tracing::debug!(user = %user.email, mailbox = %name, read_only, "selected");
        self.state = State::Selected(
            user,
            Selected {
                mailbox: found,
                read_only,
                view,
                recent,
            },
        );
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
        if expunge && !selected.read_only {
            let deleted: Vec<i64> = selected
                .messages()
                .iter()
                .filter(|m| has_flag(&m.flags, "\\Deleted"))
                .map(|m| m.uid)
                .collect();
            if let Err(e) = self
                .service
                .store
                .expunge(selected.mailbox.id, &deleted)
                .await
            {
                return self.unavailable(e);
            }
        }
        Done::ok(if expunge {
            "CLOSE completed"
        } else {
            "UNSELECT completed"
        })
    }

    /// Tells the client what others changed in the selected mailbox since it last looked.
    pub(super) async fn refresh(&mut self) {
        let State::Selected(_, selected) = &mut self.state else {
            return;
        };
        let view = match self.service.store.view(selected.mailbox.id).await {
            Ok(view) => view,
            Err(e) => {
                tracing::error!(error = %e, "cannot refresh the selected mailbox");
                return;
            }
        };
        if Arc::ptr_eq(&view, &selected.view) {
            return;
        }
        let now = &view.messages;
        if !selected.read_only
            && now.last().map(|m| m.uid) > selected.messages().last().map(|m| m.uid)
        {
            match self.service.store.claim_recent(selected.mailbox.id).await {
                Ok((from, to)) => selected.recent.extend(
                    now.iter()
                        .filter(|m| (from..to).contains(&m.uid))
                        .map(|m| m.uid),
                ),
                Err(e) => tracing::error!(error = %e, "cannot claim recent messages"),
            }
        }
        selected
            .recent
            .retain(|uid| now.binary_search_by_key(uid, |m| m.uid).is_ok());
        let recent = selected.recent.len();
        changes(selected.messages(), now, recent, self.conn.output());
        selected.view = view;
    }

    pub(super) fn unavailable(&self, e: impl std::fmt::Display) -> Done {
        tracing::error!(error = %e, "mail store failed");
        Done::no("[UNAVAILABLE] Temporary server problem, try again later")
    }
}

/// True when the space-separated `flags` hold `flag` (case-insensitively, RFC 3501 §2.3.2).
pub(super) fn has_flag(flags: &str, flag: &str) -> bool {
    flags
        .split_whitespace()
        .any(|f| f.eq_ignore_ascii_case(flag))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, n: &str) -> bool {
        matches(
            &p.chars().collect::<Vec<_>>(),
            &n.chars().collect::<Vec<_>>(),
        )
    }

    #[test]
    fn list_wildcards() {
        assert!(m("*", "Archive/2026"));
        assert!(m("%", "Archive"));
        assert!(!m("%", "Archive/2026"));
        assert!(m("Archive/%", "Archive/2026"));
        assert!(m("S*", "Sent"));
        assert!(!m("S%x", "Sent"));
    }
}
