//! CONTEXT=SEARCH and CONTEXT=SORT (RFC 5267): a `SEARCH` or `SORT … RETURN (… UPDATE)`
//! result kept current while the mailbox stays selected. After every change the session
//! announces (at the end of a command, in IDLE), the search (and sort) runs again over the
//! client's new picture and the difference goes out as
//! `* ESEARCH (TAG "t") [UID] REMOVEFROM (pos set …) ADDTO (pos set …)` (§4.3.2–4.3.4):
//! position 0 for a search (a result in mailbox order), the 1-based place in the sorted
//! result for a sort, pairs meant to be applied in order. The REMOVEFROM of an expunged
//! message goes out before its EXPUNGE, with the sequence number the client still has; the
//! rest after EXISTS. For searches this is what Dovecot 2.3 sends, and like it
//! `RETURN (UPDATE)` alone returns no result now. `CANCELUPDATE "t"` ends it (§4.3.5).
//! Not kept current, with `* NO [NOUPDATE "t"]` (§4.3.1): searches of message text (each
//! change would read every body again) and more than [`MAX_UPDATES`] at once.

use std::collections::HashSet;
use std::sync::Arc;

use baedal_storage::mailstore::MailboxView;
use bounded_static::IntoBoundedStatic;
use imap_codec::imap_types::core::Vec1;
use imap_codec::imap_types::extensions::sort::SortCriterion;
use imap_codec::imap_types::search::SearchKey;

use super::selected::Selected;
use super::session::{Done, Session, State};
use super::syntax::ReturnOption;

/// Updating searches per session at most.
pub(super) const MAX_UPDATES: usize = 8;

/// One search kept current.
pub(super) struct SearchUpdate {
    pub tag: String,
    pub charset: Option<String>,
    pub criteria: Vec1<SearchKey<'static>>,
    /// `Some` for a SORT: its order is kept too.
    pub sort: Option<Vec<SortCriterion>>,
    pub uid: bool,
    /// The UIDs the client was told match: ascending for a search, in sort order for a sort.
    pub uids: Vec<u32>,
}

/// `(context position, UIDs)` pairs of one ADDTO or REMOVEFROM, to be applied in order.
type Pairs = Vec<(usize, Vec<u32>)>;

impl Session {
    /// BAD for RETURN options a command may not combine (RFC 5267 §4.4: one PARTIAL or one
    /// ALL at most; §4.3: UPDATE under the tag of a search that is kept current).
    pub(super) fn refused_options(&self, tag: &str, options: &[ReturnOption]) -> Option<Done> {
        let windows = options
            .iter()
            .filter(|o| matches!(o, ReturnOption::All | ReturnOption::Partial(..)))
            .count();
        if windows > 1 {
            return Some(Done::bad("RETURN takes one ALL or one PARTIAL"));
        }
        let State::Selected(_, selected) = &self.state else {
            return None;
        };
        (options.contains(&ReturnOption::Update) && selected.updates.iter().any(|u| u.tag == tag))
            .then(|| Done::bad("Tag reuse: a search with this tag is kept current"))
    }

    /// Keeps the result of `tag` current from now on, or says why not.
    pub(super) fn start_update(
        &mut self,
        tag: &str,
        charset: Option<&str>,
        criteria: &Vec1<SearchKey<'_>>,
        uid: bool,
        sort: Option<&[SortCriterion]>,
        uids: Vec<u32>,
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
        } else if selected.updates.len() >= MAX_UPDATES {
            Some("Too many contexts")
        } else {
            None
        };
        if let Some(reason) = reason {
            self.no_update(tag, reason);
            return;
        }
        selected.updates.push(SearchUpdate {
            tag: tag.to_string(),
            charset: charset.map(str::to_string),
            criteria: criteria.clone().into_static(),
            sort: sort.map(<[SortCriterion]>::to_vec),
            uid,
            uids,
        });
    }

    /// RFC 5267 §4.3.1: the search answered, but its result is not kept current.
    pub(super) fn no_update(&mut self, tag: &str, reason: &str) {
        self.conn
            .queue(format!("* NO [NOUPDATE {}] {reason}\r\n", quoted(tag)).as_bytes());
    }

    /// `CANCELUPDATE "t" …` (RFC 5267 §4.3.5): NO for a tag not kept current, as Dovecot.
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

    /// Runs every kept search (and sort) again over the picture just announced and tells
    /// the client what left and what joined each result.
    pub(super) async fn refresh_updates(&mut self) {
        let State::Selected(_, selected) = &self.state else {
            return;
        };
        type Kept = (
            Option<String>,
            Vec1<SearchKey<'static>>,
            Option<Vec<SortCriterion>>,
        );
        let searches: Vec<Kept> = selected
            .updates
            .iter()
            .map(|u| (u.charset.clone(), u.criteria.clone(), u.sort.clone()))
            .collect();
        for (i, (charset, criteria, order)) in searches.into_iter().enumerate() {
            let Some(now) = self.result_now(charset.as_deref(), &criteria, order).await else {
                continue;
            };
            let State::Selected(_, selected) = &mut self.state else {
                return;
            };
            let Some(update) = selected.updates.get(i) else {
                continue;
            };
            let (left, joined) = if update.sort.is_some() {
                sorted_changes(&update.uids, &now)
            } else {
                let left = difference(&update.uids, &now);
                let joined = difference(&now, &update.uids);
                (zero_pair(left), zero_pair(joined))
            };
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

    /// The UIDs that match now: ascending, or in `order`.
    async fn result_now(
        &mut self,
        charset: Option<&str>,
        criteria: &Vec1<SearchKey<'static>>,
        order: Option<Vec<SortCriterion>>,
    ) -> Option<Vec<u32>> {
        let matched = match self.matching(charset, criteria).await {
            Ok(matched) => matched,
            Err(done) => {
                tracing::warn!(reason = %done.text, "cannot update a search");
                return None;
            }
        };
        let Some(order) = order else {
            let mut uids = self.uids_at(&matched.indexes);
            uids.sort_unstable();
            return Some(uids);
        };
        let headers = match self.headers_of(&matched.indexes).await {
            Ok(headers) => headers,
            Err(done) => {
                tracing::warn!(reason = %done.text, "cannot update a sort");
                return None;
            }
        };
        let inputs = self.sort_inputs(&matched.indexes, &headers, true);
        Some(super::sort::sort(&inputs, &order))
    }

    fn uids_at(&self, indexes: &[usize]) -> Vec<u32> {
        let State::Selected(_, selected) = &self.state else {
            return Vec::new();
        };
        indexes
            .iter()
            .map(|&i| selected.messages()[i].uid as u32)
            .collect()
    }
}

/// The REMOVEFROM lines for the messages whose expunge the client is being told of: those
/// in `before` (the picture the client had) that `selected` no longer has. Sequence numbers
/// are `before`'s, since these lines go out ahead of the EXPUNGEs.
pub(super) fn expunge_removals(selected: &mut Selected, before: &Arc<MailboxView>) -> String {
    let mut out = String::new();
    let present = |uid: u32| selected.index_of_uid(i64::from(uid)).is_some();
    let gone: Vec<HashSet<u32>> = selected
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
        let pairs = if update.sort.is_some() {
            removal_pairs(&update.uids, gone)
        } else {
            let mut gone: Vec<u32> = gone.iter().copied().collect();
            gone.sort_unstable();
            zero_pair(gone)
        };
        out.push_str(&change_line(update, &[("REMOVEFROM", before, &pairs)]));
    }
    for (update, gone) in selected.updates.iter_mut().zip(gone) {
        update.uids.retain(|uid| !gone.contains(uid));
    }
    out
}

/// A search's change: one pair at position 0 (nothing when empty).
fn zero_pair(uids: Vec<u32>) -> Pairs {
    if uids.is_empty() {
        Vec::new()
    } else {
        vec![(0, uids)]
    }
}

/// The REMOVEFROM and ADDTO pairs that turn the sorted result `old` into `new`. A message's
/// sort keys never change, so the messages in both keep their order; should they not, the
/// whole result is replaced.
fn sorted_changes(old: &[u32], new: &[u32]) -> (Pairs, Pairs) {
    let (in_old, in_new): (HashSet<u32>, HashSet<u32>) =
        (old.iter().copied().collect(), new.iter().copied().collect());
    let gone: HashSet<u32> = in_old.difference(&in_new).copied().collect();
    let added: HashSet<u32> = in_new.difference(&in_old).copied().collect();
    let kept = |list: &[u32], other: &HashSet<u32>| -> Vec<u32> {
        list.iter().copied().filter(|u| other.contains(u)).collect()
    };
    if kept(old, &in_new) != kept(new, &in_old) {
        return (removal_pairs(old, &in_old), addition_pairs(new, &in_new));
    }
    (removal_pairs(old, &gone), addition_pairs(new, &added))
}

/// REMOVEFROM pairs for `gone` out of `list`, applied in order (§4.3.4: the first of a set
/// is at the position before its removal, so each run counts those removed before it).
fn removal_pairs(list: &[u32], gone: &HashSet<u32>) -> Pairs {
    let mut pairs = runs(list, gone);
    let mut removed = 0;
    for (position, run) in &mut pairs {
        *position -= removed;
        removed += run.len();
    }
    pairs
}

/// ADDTO pairs that put `added` where `list` has them, applied in order left to right
/// (§4.3.3: the first of a set occupies the position after insertion).
fn addition_pairs(list: &[u32], added: &HashSet<u32>) -> Pairs {
    runs(list, added)
}

/// The runs of consecutive members of `set` in `list`, each with its 1-based position.
fn runs(list: &[u32], set: &HashSet<u32>) -> Pairs {
    let mut pairs: Pairs = Vec::new();
    let mut run_open = false;
    for (i, uid) in list.iter().enumerate() {
        if set.contains(uid) {
            match pairs.last_mut() {
                Some((_, run)) if run_open => run.push(*uid),
                _ => pairs.push((i + 1, vec![*uid])),
            }
        }
        run_open = set.contains(uid);
    }
    pairs
}

/// `* ESEARCH (TAG "t") [UID] REMOVEFROM (…) ADDTO (…)` for each non-empty
/// `(what, picture, pairs)`: UIDs, or sequence numbers in `picture`; nothing when every item
/// is empty. A search's set is compacted (mailbox order); a sort's keeps its order.
fn change_line(update: &SearchUpdate, changes: &[(&str, &MailboxView, &Pairs)]) -> String {
    let mut items = String::new();
    for (what, picture, pairs) in changes {
        let mut payload = Vec::new();
        for (position, uids) in pairs.iter() {
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
            if ids.is_empty() {
                continue;
            }
            let set = if update.sort.is_some() {
                ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
            } else {
                super::condstore::uid_set(&ids)
            };
            payload.push(format!("{position} {set}"));
        }
        if !payload.is_empty() {
            items.push_str(&format!(" {what} ({})", payload.join(" ")));
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

    /// Applies pairs as a client must (§4.3.3, §4.3.4): in order, positions 1-based.
    fn apply(mut list: Vec<u32>, removals: &Pairs, additions: &Pairs) -> Vec<u32> {
        for (pos, run) in removals {
            let at = pos - 1;
            assert_eq!(&list[at..at + run.len()], &run[..], "removal at {pos}");
            list.drain(at..at + run.len());
        }
        for (pos, run) in additions {
            let at = pos - 1;
            for (k, uid) in run.iter().enumerate() {
                list.insert(at + k, *uid);
            }
        }
        list
    }

    #[test]
    fn sorted_changes_rebuild_the_new_order() {
        let cases: &[(&[u32], &[u32])] = &[
            (&[5, 3, 1, 4], &[6, 5, 1, 7, 8, 4]),
            (&[1, 2, 3, 4, 5], &[2, 4]),
            (&[], &[3, 1, 2]),
            (&[3, 1, 2], &[]),
            (&[1, 2, 3], &[3, 2, 1]),
            (&[2734, 2735], &[2731, 2732, 2733, 2734, 2735]),
        ];
        for (old, new) in cases {
            let (removals, additions) = sorted_changes(old, new);
            assert_eq!(
                apply(old.to_vec(), &removals, &additions),
                new.to_vec(),
                "{old:?} → {new:?}"
            );
        }
        // The RFC's example: 2731:2733 go in front of 2734:2735 as one pair.
        assert_eq!(
            sorted_changes(&[2734, 2735], &[2731, 2732, 2733, 2734, 2735]).1,
            vec![(1, vec![2731, 2732, 2733])]
        );
    }

    #[test]
    fn differences_are_of_sorted_sets() {
        assert_eq!(difference(&[1, 3, 5, 7], &[3, 4, 7]), vec![1, 5]);
        assert_eq!(difference(&[], &[3]), Vec::<u32>::new());
    }
}
