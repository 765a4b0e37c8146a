//! CONTEXT=SEARCH (RFC 5267): a `SEARCH RETURN (… UPDATE)` result kept current while the
//! mailbox stays selected. After every change the session announces (at the end of a
//! command, in IDLE), the search runs again over the client's new picture and the difference
//! goes out as `* ESEARCH (TAG "t") [UID] REMOVEFROM (0 set) ADDTO (0 set)` (position 0: a
//! search result has no order, §4.3). The REMOVEFROM of an expunged message goes out before
//! its EXPUNGE, with the sequence number the client still has; the rest after EXISTS. This is
//! what Dovecot 2.3 sends, and like it `RETURN (UPDATE)` alone returns no result now.
//! `CANCELUPDATE "t"` ends it (§4.2). Not kept current, with `* NO [NOUPDATE "t"]`: searches
//! of message text (each change would read every body again), sorted results (CONTEXT=SORT
//! is not offered), and more than [`MAX_UPDATES`] at once.

use std::sync::Arc;

use baedal_storage::mailstore::MailboxView;
use bounded_static::IntoBoundedStatic;
use imap_codec::imap_types::core::Vec1;
use imap_codec::imap_types::search::SearchKey;

use super::selected::Selected;
use super::session::{Done, Session, State};

/// Updating searches per session at most.
pub(super) const MAX_UPDATES: usize = 8;

/// One search kept current.
pub(super) struct SearchUpdate {
    pub tag: String,
    pub charset: Option<String>,
    pub criteria: Vec1<SearchKey<'static>>,
    pub uid: bool,
    /// The UIDs the client was told match, ascending.
    pub uids: Vec<u32>,
}

impl Session {
    /// Keeps the result of `tag` current from now on, or says why not.
    pub(super) fn start_update(
        &mut self,
        tag: &str,
        charset: Option<&str>,
        criteria: &Vec1<SearchKey<'_>>,
        uid: bool,
        mut uids: Vec<u32>,
    ) {
        let State::Selected(_, selected) = &mut self.state else {
            return;
        };
        let reason = if criteria
            .as_ref()
            .iter()
            .any(|k| super::search::needs_body(k))
        {
            Some("Searches of message text are not updated")
        } else if selected.updates.iter().any(|u| u.tag == tag) {
            Some("A search with this tag is updated already")
        } else if selected.updates.len() >= MAX_UPDATES {
            Some("Too many updated searches")
        } else {
            None
        };
        if let Some(reason) = reason {
            self.no_update(tag, reason);
            return;
        }
        uids.sort_unstable();
        selected.updates.push(SearchUpdate {
            tag: tag.to_string(),
            charset: charset.map(str::to_string),
            criteria: criteria.clone().into_static(),
            uid,
            uids,
        });
    }

    /// RFC 5267 §4.3: the search answered, but its result is not kept current.
    pub(super) fn no_update(&mut self, tag: &str, reason: &str) {
        self.conn
            .queue(format!("* NO [NOUPDATE {}] {reason}\r\n", quoted(tag)).as_bytes());
    }

    /// `CANCELUPDATE "t" …` (RFC 5267 §4.2): NO for a tag not kept current, as Dovecot.
    pub(super) fn cancel_update(&mut self, tags: &[String]) -> Done {
        let State::Selected(_, selected) = &mut self.state else {
            return Done::bad("No mailbox selected");
        };
        if tags.is_empty() {
            return Done::bad("CANCELUPDATE needs the tag of a search");
        }
        if let Some(unknown) = tags
            .iter()
            .find(|t| !selected.updates.iter().any(|u| &u.tag == *t))
        {
            return Done::no(format!("No updated search with tag {}", quoted(unknown)));
        }
        selected.updates.retain(|u| !tags.contains(&u.tag));
        Done::ok("CANCELUPDATE completed")
    }

    /// Runs every updated search again over the picture just announced and tells the client
    /// what joined and what left each result.
    pub(super) async fn refresh_updates(&mut self) {
        let State::Selected(_, selected) = &self.state else {
            return;
        };
        let searches: Vec<(usize, Option<String>, Vec1<SearchKey<'static>>)> = selected
            .updates
            .iter()
            .enumerate()
            .map(|(i, u)| (i, u.charset.clone(), u.criteria.clone()))
            .collect();
        for (i, charset, criteria) in searches {
            let matched = match self.matching(charset.as_deref(), &criteria).await {
                Ok(matched) => matched,
                Err(done) => {
                    tracing::warn!(reason = %done.text, "cannot update a search");
                    continue;
                }
            };
            let State::Selected(_, selected) = &mut self.state else {
                return;
            };
            let mut now: Vec<u32> = matched
                .indexes
                .iter()
                .map(|&i| selected.messages()[i].uid as u32)
                .collect();
            now.sort_unstable();
            let Some(update) = selected.updates.get(i) else {
                continue;
            };
            let left: Vec<u32> = difference(&update.uids, &now);
            let joined: Vec<u32> = difference(&now, &update.uids);
            let line = change_line(
                update,
                &[
                    ("REMOVEFROM", &selected.view, &left),
                    ("ADDTO", &selected.view, &joined),
                ],
            );
            self.conn.queue(line.as_bytes());
            if let State::Selected(_, selected) = &mut self.state
                && let Some(update) = selected.updates.get_mut(i)
            {
                update.uids = now;
            }
        }
    }
}

/// The REMOVEFROM lines for the messages whose expunge the client is being told of: those
/// in `before` (the picture the client had) that `selected` no longer has. Sequence numbers
/// are `before`'s, since these lines go out ahead of the EXPUNGEs.
pub(super) fn expunge_removals(selected: &mut Selected, before: &Arc<MailboxView>) -> String {
    let mut out = String::new();
    let present = |uid: u32| selected.index_of_uid(i64::from(uid)).is_some();
    let gone: Vec<Vec<u32>> = selected
        .updates
        .iter()
        .map(|u| {
            u.uids
                .iter()
                .copied()
                .filter(|&uid| !present(uid))
                .collect()
        })
        .collect();
    for (update, gone) in selected.updates.iter().zip(&gone) {
        out.push_str(&change_line(update, &[("REMOVEFROM", before, gone)]));
    }
    for (update, gone) in selected.updates.iter_mut().zip(gone) {
        update.uids.retain(|uid| !gone.contains(uid));
    }
    out
}

/// `* ESEARCH (TAG "t") [UID] REMOVEFROM (0 set) ADDTO (0 set)` (RFC 5267 §4.3) for each
/// non-empty `(what, picture, uids)`: UIDs, or sequence numbers in `picture`; nothing when
/// every set is empty.
fn change_line(update: &SearchUpdate, changes: &[(&str, &MailboxView, &[u32])]) -> String {
    let mut items = String::new();
    for (what, picture, uids) in changes {
        let ids: Vec<i64> = if update.uid {
            uids.iter().map(|&u| i64::from(u)).collect()
        } else {
            uids.iter()
                .filter_map(|&u| {
                    picture
                        .messages
                        .binary_search_by_key(&i64::from(u), |m| m.uid)
                        .ok()
                        .map(|i| i as i64 + 1)
                })
                .collect()
        };
        if !ids.is_empty() {
            items.push_str(&format!(" {what} (0 {})", super::condstore::uid_set(&ids)));
        }
    }
    if items.is_empty() {
        return items;
    }
    format!(
        "* ESEARCH (TAG {}){}{items}\r\n",
        quoted(&update.tag),
        if update.uid { " UID" } else { "" }
    )
}

/// Sorted `a` less sorted `b`.
fn difference(a: &[u32], b: &[u32]) -> Vec<u32> {
    a.iter()
        .copied()
        .filter(|x| b.binary_search(x).is_err())
        .collect()
}

/// A tag as an IMAP quoted string (tags are atoms, so nothing needs escaping but `"`, `\`).
fn quoted(tag: &str) -> String {
    format!("\"{}\"", tag.replace('\\', "\\\\").replace('"', "\\\""))
}

/// `tag CANCELUPDATE "t1" "t2"…` (RFC 5267 §4.2), which the parser does not read: the tag
/// and the search tags, or `None` when the line is something else.
pub(super) fn parse_cancel_update(message: &[u8]) -> Option<(String, Vec<String>)> {
    let line = message.strip_suffix(b"\r\n").unwrap_or(message);
    let text = std::str::from_utf8(line).ok()?;
    let (tag, rest) = text.split_once(' ')?;
    let (verb, mut args) = rest.split_once(' ').unwrap_or((rest, ""));
    if !verb.eq_ignore_ascii_case("CANCELUPDATE") {
        return None;
    }
    let mut tags = Vec::new();
    loop {
        args = args.trim_start_matches(' ');
        if args.is_empty() {
            break;
        }
        let inner = args.strip_prefix('"')?;
        let mut value = String::new();
        let mut chars = inner.char_indices();
        let end = loop {
            match chars.next()? {
                (_, '\\') => value.push(chars.next()?.1),
                (i, '"') => break i,
                (_, c) => value.push(c),
            }
        };
        tags.push(value);
        args = &inner[end + 1..];
        if !args.is_empty() && !args.starts_with(' ') {
            return None;
        }
    }
    Some((tag.to_string(), tags))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancel_update_lines_are_read() {
        assert_eq!(
            parse_cancel_update(b"c1 CANCELUPDATE \"a1\" \"b 2\"\r\n"),
            Some(("c1".into(), vec!["a1".into(), "b 2".into()]))
        );
        assert_eq!(
            parse_cancel_update(b"c1 cancelupdate \"x\\\"y\"\r\n"),
            Some(("c1".into(), vec!["x\"y".into()]))
        );
        assert_eq!(
            parse_cancel_update(b"c1 CANCELUPDATE\r\n"),
            Some(("c1".into(), vec![]))
        );
        assert_eq!(parse_cancel_update(b"c1 CANCELUPDATE a1\r\n"), None);
        assert_eq!(parse_cancel_update(b"c1 CANCELUPDATE \"a1\r\n"), None);
        assert_eq!(parse_cancel_update(b"c1 NOOP\r\n"), None);
    }

    #[test]
    fn differences_are_of_sorted_sets() {
        assert_eq!(difference(&[1, 3, 5, 7], &[3, 4, 7]), vec![1, 5]);
        assert_eq!(difference(&[], &[3]), Vec::<u32>::new());
    }
}
