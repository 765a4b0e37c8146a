//! LIST and LSUB (RFC 3501 §6.3.8, §6.3.9), with the RFC 5258 selection and return options,
//! RFC 6154 SPECIAL-USE attributes, RFC 3348 CHILDREN and RFC 5819 LIST-STATUS.
//!
//! Subscriptions are names (RFC 3501 §6.3.6): LSUB and `LIST (SUBSCRIBED)` list the
//! subscribed names, existing or not; LIST lists the existing mailboxes.

use std::collections::BTreeMap;

use baedal_storage::mailstore::Mailbox;
use imap_codec::imap_types::mailbox::{ListMailbox, Mailbox as ImapMailbox};

use super::mailboxes::{DELIMITER, ListOptions};
use super::session::{Done, Session};
use super::wire;

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

/// The canonical patterns (reference + pattern) of one LIST.
struct Patterns(Vec<Vec<char>>);

impl Patterns {
    fn new(reference: &str, patterns: &[String]) -> Self {
        Self(
            patterns
                .iter()
                .map(|p| format!("{reference}{p}").chars().collect())
                .collect(),
        )
    }

    /// INBOX matches case-insensitively (RFC 3501 §5.1).
    fn hit(&self, name: &str) -> bool {
        let chars: Vec<char> = name.chars().collect();
        self.0.iter().any(|p| {
            matches(p, &chars)
                || (name == "INBOX"
                    && matches(
                        &p.iter()
                            .collect::<String>()
                            .to_uppercase()
                            .chars()
                            .collect::<Vec<_>>(),
                        &chars,
                    ))
        })
    }
}

/// The superiors of a name, nearest last: `a/b/c` → `a`, `a/b`.
fn parents(name: &str) -> impl Iterator<Item = &str> {
    name.match_indices(DELIMITER).map(move |(i, _)| &name[..i])
}

/// One line to send.
#[derive(Default)]
struct Entry {
    attributes: Vec<String>,
    /// RFC 5258 §3.5: `("CHILDINFO" ("SUBSCRIBED"))`.
    childinfo: bool,
    /// Existing and selectable: LIST-STATUS reports on it.
    exists: bool,
}

impl Session {
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
        let utf8 = self.enabled.utf8;
        let reference = super::mailboxes::stored_name(reference, utf8);
        let patterns: Vec<String> = patterns
            .iter()
            .map(|p| super::mailboxes::stored_name(p, utf8))
            .collect();
        let Some(user) = self.user().cloned() else {
            return Done::bad("Not authenticated");
        };
        // RFC 5258 §3: RECURSIVEMATCH alone is a syntax error.
        if options.recursive_match && !options.select_subscribed {
            return Done::bad("RECURSIVEMATCH needs another selection option (SUBSCRIBED)");
        }
        if patterns.len() == 1 && patterns[0].is_empty() && !options.select_subscribed {
            // RFC 3501 §6.3.8: the delimiter and the root of the reference.
            self.conn
                .queue(format!("* {verb} (\\Noselect) \"{DELIMITER}\" \"\"\r\n").as_bytes());
            return Done::ok(format!("{verb} completed"));
        }
        let store = &self.service.store;
        let (mailboxes, subscribed) =
            match tokio::try_join!(store.mailboxes(user.id), store.subscriptions(user.id)) {
                Ok(both) => both,
                Err(e) => return self.unavailable(e),
            };
        let patterns = Patterns::new(&reference, &patterns);
        let entries = if options.lsub || options.select_subscribed {
            subscribed_entries(&mailboxes, &subscribed, &patterns, options)
        } else {
            mailbox_entries(&mailboxes, &patterns, options)
        };
        for (name, entry) in entries {
            let mut line =
                format!("* {verb} ({}) \"{DELIMITER}\" ", entry.attributes.join(" ")).into_bytes();
            wire::string(&mut line, self.client_name(&name).as_bytes());
            if entry.childinfo {
                line.extend_from_slice(b" (\"CHILDINFO\" (\"SUBSCRIBED\"))");
            }
            line.extend_from_slice(b"\r\n");
            self.conn.queue(&line);
            if !options.status.is_empty() && entry.exists {
                let items: Vec<&str> = options.status.iter().map(String::as_str).collect();
                if let Err(done) = self.status_line(&name, &items).await {
                    return done;
                }
            }
        }
        Done::ok(format!("{verb} completed"))
    }
}

/// The attributes of an existing mailbox: children (RFC 3348), special use (RFC 6154).
fn mailbox_attributes(m: &Mailbox, all: &[Mailbox]) -> Vec<String> {
    let prefix = format!("{}{DELIMITER}", m.name);
    let children = all.iter().any(|n| n.name.starts_with(&prefix));
    let mut attributes = vec![
        if children {
            "\\HasChildren"
        } else {
            "\\HasNoChildren"
        }
        .to_string(),
    ];
    if let Some(special) = &m.special_use {
        attributes.push(special.clone());
    }
    attributes
}

/// LIST: the existing mailboxes that match.
fn mailbox_entries(
    mailboxes: &[Mailbox],
    patterns: &Patterns,
    options: &ListOptions,
) -> BTreeMap<String, Entry> {
    let mut entries = BTreeMap::new();
    for m in mailboxes {
        if !patterns.hit(&m.name) || (options.select_special_use && m.special_use.is_none()) {
            continue;
        }
        let mut attributes = mailbox_attributes(m, mailboxes);
        if options.return_subscribed && m.subscribed {
            attributes.push("\\Subscribed".into());
        }
        entries.insert(
            m.name.clone(),
            Entry {
                attributes,
                childinfo: false,
                exists: true,
            },
        );
    }
    entries
}

/// LSUB and `LIST (SUBSCRIBED)`: the subscribed names that match, and their parents where
/// only a descendant is subscribed (LSUB with `%`: `\Noselect`, RFC 3501 §6.3.9; LIST with
/// RECURSIVEMATCH: CHILDINFO, RFC 5258 §3.5).
fn subscribed_entries(
    mailboxes: &[Mailbox],
    subscribed: &[String],
    patterns: &Patterns,
    options: &ListOptions,
) -> BTreeMap<String, Entry> {
    let find = |name: &str| mailboxes.iter().find(|m| m.name == name);
    let attributes_of = |name: &str, is_subscribed: bool| -> (Vec<String>, bool) {
        let mut attributes = match find(name) {
            Some(m) => mailbox_attributes(m, mailboxes),
            // RFC 5258 §3.4: a subscribed name without a mailbox.
            None if options.lsub => vec!["\\Noselect".into()],
            None => vec!["\\NonExistent".into()],
        };
        if !options.lsub && is_subscribed {
            attributes.push("\\Subscribed".into());
        }
        (attributes, find(name).is_some())
    };
    let mut entries: BTreeMap<String, Entry> = BTreeMap::new();
    for name in subscribed {
        if options.select_special_use && find(name).is_none_or(|m| m.special_use.is_none()) {
            continue;
        }
        if patterns.hit(name) {
            let (attributes, exists) = attributes_of(name, true);
            entries.entry(name.clone()).or_default().attributes = attributes;
            if let Some(entry) = entries.get_mut(name) {
                entry.exists = exists;
            }
        }
    }
    for name in subscribed {
        if patterns.hit(name) {
            continue;
        }
        // The nearest superior that matches stands for the subscribed descendant.
        let Some(parent) = parents(name).filter(|p| patterns.hit(p)).last() else {
            continue;
        };
        if options.lsub {
            entries.entry(parent.to_string()).or_insert_with(|| Entry {
                attributes: vec!["\\Noselect".into()],
                childinfo: false,
                exists: false,
            });
        } else if options.recursive_match {
            let entry = entries.entry(parent.to_string()).or_insert_with(|| {
                let (attributes, exists) = attributes_of(parent, false);
                Entry {
                    attributes,
                    childinfo: false,
                    exists,
                }
            });
            entry.childinfo = true;
        }
    }
    entries
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

    fn mailbox(name: &str) -> Mailbox {
        Mailbox {
            id: 1,
            name: name.into(),
            special_use: None,
            uidvalidity: 1,
            uidnext: 1,
            highest_modseq: 1,
            subscribed: false,
            first_recent_uid: 1,
            messages: 0,
        }
    }

    fn lines(entries: BTreeMap<String, Entry>) -> Vec<String> {
        entries
            .into_iter()
            .map(|(name, e)| {
                format!(
                    "({}) {name}{}",
                    e.attributes.join(" "),
                    if e.childinfo { " CHILDINFO" } else { "" }
                )
            })
            .collect()
    }

    #[test]
    fn lsub_names_an_unsubscribed_parent_noselect() {
        let boxes = [mailbox("Foo"), mailbox("Foo/Bar")];
        let subs = ["Foo/Bar".to_string()];
        let options = ListOptions {
            lsub: true,
            ..ListOptions::default()
        };
        let got = subscribed_entries(&boxes, &subs, &Patterns::new("", &["%".into()]), &options);
        assert_eq!(lines(got), ["(\\Noselect) Foo"]);
        let got = subscribed_entries(&boxes, &subs, &Patterns::new("", &["*".into()]), &options);
        assert_eq!(lines(got), ["(\\HasNoChildren) Foo/Bar"]);
    }

    #[test]
    fn list_subscribed_shows_deleted_names_and_childinfo() {
        let boxes = [mailbox("Foo"), mailbox("Foo/Bar")];
        let subs = ["Foo/Bar".to_string(), "Gone".to_string()];
        let mut options = ListOptions {
            select_subscribed: true,
            ..ListOptions::default()
        };
        let got = subscribed_entries(&boxes, &subs, &Patterns::new("", &["*".into()]), &options);
        assert_eq!(
            lines(got),
            [
                "(\\HasNoChildren \\Subscribed) Foo/Bar",
                "(\\NonExistent \\Subscribed) Gone"
            ]
        );
        options.recursive_match = true;
        let got = subscribed_entries(&boxes, &subs, &Patterns::new("", &["%".into()]), &options);
        assert_eq!(
            lines(got),
            [
                "(\\HasChildren) Foo CHILDINFO",
                "(\\NonExistent \\Subscribed) Gone"
            ]
        );
    }
}
