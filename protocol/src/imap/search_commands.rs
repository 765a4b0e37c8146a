//! The commands that answer with search results: SEARCH (RFC 3501 §6.4.4), its extended
//! forms ESEARCH (RFC 4731) and SEARCHRES (RFC 5182, `RETURN (SAVE)` and `$`), SORT and
//! THREAD (RFC 5256, SORT=DISPLAY of RFC 5957) and ESORT (RFC 5267). Matching is
//! `search::matching`; sort keys and threads come from the cached header sections in the
//! index (`sort`, `thread`), never from message bodies.

use imap_codec::imap_types::core::Vec1;
use imap_codec::imap_types::extensions::sort::SortCriterion;
use imap_codec::imap_types::extensions::thread::ThreadingAlgorithm;
use imap_codec::imap_types::search::SearchKey;

use super::search::Matched;
use super::session::{Done, Session, State};
use super::sort::{SortInput, sort};
use super::syntax::{ReturnOption, Saved};
use super::thread::{ThreadKind, thread, thread_response};

/// `ids` as a sequence set: in their order when sorted (ESORT), compacted otherwise.
fn id_set(ids: &[u32], sorted: bool) -> String {
    if sorted {
        ids.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
    } else {
        let wide: Vec<i64> = ids.iter().map(|&i| i64::from(i)).collect();
        super::condstore::uid_set(&wide)
    }
}

/// What `$` stands for while nothing matches: a number no message has.
const NOTHING: &str = "4294967295";

impl Session {
    pub(super) async fn search(
        &mut self,
        tag: &str,
        charset: Option<&str>,
        criteria: &Vec1<SearchKey<'_>>,
        uid: bool,
        returning: Option<Vec<ReturnOption>>,
    ) -> Done {
        if let Some(refused) = returning
            .as_deref()
            .and_then(|r| self.refused_options(tag, r))
        {
            return refused;
        }
        let matched = match self.matching(charset, criteria).await {
            Ok(matched) => matched,
            Err(done) => {
                // RFC 5182 §2.1: a failed SEARCH ... RETURN (SAVE) empties the saved result.
                if returning.is_some_and(|r| r.contains(&ReturnOption::Save)) {
                    self.save_result(&[]);
                }
                return done;
            }
        };
        let ids = self.ids(&matched.indexes, uid);
        // RFC 9051 §6.4.4: an IMAP4rev2 SEARCH answers with ESEARCH, ALL by default.
        let returning = returning.or_else(|| self.enabled.rev2.then(Vec::new));
        match returning {
            None => self.queue_ids("SEARCH", &ids, matched.modseq),
            Some(options) => {
                let mut sorted = ids.clone();
                sorted.sort_unstable();
                self.esearch(tag, uid, &options, &sorted, &matched, false);
                if options.contains(&ReturnOption::Update) {
                    let mut uids = self.ids(&matched.indexes, true);
                    uids.sort_unstable();
                    self.start_update(tag, charset, criteria, uid, None, uids);
                }
            }
        }
        Done::ok(if uid {
            "UID SEARCH completed"
        } else {
            "SEARCH completed"
        })
    }

    pub(super) async fn sort(
        &mut self,
        tag: &str,
        criteria: &[SortCriterion],
        charset: &str,
        search: &Vec1<SearchKey<'_>>,
        uid: bool,
        returning: Option<Vec<ReturnOption>>,
    ) -> Done {
        if let Some(refused) = returning
            .as_deref()
            .and_then(|r| self.refused_options(tag, r))
        {
            return refused;
        }
        let matched = match self.matching(Some(charset), search).await {
            Ok(matched) => matched,
            Err(done) => return done,
        };
        let headers = match self.headers_of(&matched.indexes).await {
            Ok(headers) => headers,
            Err(done) => return done,
        };
        let ordered = {
            let inputs = self.sort_inputs(&matched.indexes, &headers, uid);
            sort(&inputs, criteria)
        };
        match returning {
            None => self.queue_ids("SORT", &ordered, matched.modseq),
            Some(options) => {
                self.esearch(tag, uid, &options, &ordered, &matched, true);
                if options.contains(&ReturnOption::Update) {
                    let uids = if uid {
                        ordered.clone()
                    } else {
                        let indexes: Vec<usize> = ordered.iter().map(|&s| s as usize - 1).collect();
                        self.ids(&indexes, true)
                    };
                    self.start_update(tag, Some(charset), search, uid, Some(criteria), uids);
                }
            }
        }
        Done::ok(if uid {
            "UID SORT completed"
        } else {
            "SORT completed"
        })
    }

    pub(super) async fn thread(
        &mut self,
        algorithm: &ThreadingAlgorithm<'_>,
        charset: &str,
        search: &Vec1<SearchKey<'_>>,
        uid: bool,
    ) -> Done {
        let kind = match algorithm {
            ThreadingAlgorithm::OrderedSubject => ThreadKind::OrderedSubject,
            ThreadingAlgorithm::References => ThreadKind::References,
            ThreadingAlgorithm::Other(_) => return Done::bad("Unknown threading algorithm"),
        };
        let matched = match self.matching(Some(charset), search).await {
            Ok(matched) => matched,
            Err(done) => return done,
        };
        let headers = match self.headers_of(&matched.indexes).await {
            Ok(headers) => headers,
            Err(done) => return done,
        };
        let response = {
            let inputs = self.sort_inputs(&matched.indexes, &headers, uid);
            thread_response(&thread(&inputs, kind))
        };
        let line = if response.is_empty() {
            "* THREAD\r\n".to_string()
        } else {
            format!("* THREAD {response}\r\n")
        };
        self.conn.queue(line.as_bytes());
        Done::ok(if uid {
            "UID THREAD completed"
        } else {
            "THREAD completed"
        })
    }

    /// `* ESEARCH (TAG "t") [UID] MIN … MAX … COUNT … ALL … [MODSEQ …]` (RFC 4731 §3.1):
    /// `ids` ascending for ESEARCH, in sort order for ESORT (RFC 5267 §4.2: MIN and MAX
    /// then are the first and last, ALL is in that order). SAVE keeps them for `$`.
    fn esearch(
        &mut self,
        tag: &str,
        uid: bool,
        options: &[ReturnOption],
        ids: &[u32],
        matched: &Matched,
        sorted: bool,
    ) {
        let has = |o: ReturnOption| options.contains(&o);
        // RFC 5267 §4.4: PARTIAL low:high, positions in the result's order.
        let partial = options.iter().find_map(|o| match *o {
            ReturnOption::Partial(low, high) => {
                let from = (low as usize - 1).min(ids.len());
                let to = (high as usize).min(ids.len());
                Some((low, high, &ids[from..to]))
            }
            _ => None,
        });
        let (first, last) = if sorted {
            (ids.first(), ids.last())
        } else {
            (ids.iter().min(), ids.iter().max())
        };
        if has(ReturnOption::Save) {
            // RFC 5182 §2.1: SAVE with MIN and/or MAX, and neither ALL nor COUNT, saves only
            // the message(s) returned as MIN and MAX; otherwise every message found.
            let partial_only = partial.is_some()
                && !has(ReturnOption::All)
                && !has(ReturnOption::Count)
                && !has(ReturnOption::Min)
                && !has(ReturnOption::Max);
            let uids: Vec<i64> = if partial_only {
                // RFC 9394 §3.2: SAVE with PARTIAL alone saves the messages PARTIAL returns.
                let slice = partial.map_or(&[][..], |(_, _, slice)| slice);
                let indexes: Vec<usize> = if uid {
                    slice
                        .iter()
                        .filter_map(|&u| self.selected_index_of_uid(u))
                        .collect()
                } else {
                    slice.iter().map(|&seq| seq as usize - 1).collect()
                };
                let mut kept: Vec<i64> = self
                    .ids(&indexes, true)
                    .into_iter()
                    .map(i64::from)
                    .collect();
                kept.sort_unstable();
                kept
            } else if (has(ReturnOption::Min) || has(ReturnOption::Max))
                && !has(ReturnOption::All)
                && !has(ReturnOption::Count)
            {
                let mut kept: Vec<u32> = [(ReturnOption::Min, first), (ReturnOption::Max, last)]
                    .into_iter()
                    .filter(|(option, _)| has(*option))
                    .filter_map(|(_, id)| id.copied())
                    .collect();
                if !uid {
                    let indexes: Vec<usize> = kept.iter().map(|&seq| seq as usize - 1).collect();
                    kept = self.ids(&indexes, true);
                }
                kept.sort_unstable();
                kept.dedup();
                kept.into_iter().map(i64::from).collect()
            } else {
                self.ids(&matched.indexes, true)
                    .into_iter()
                    .map(i64::from)
                    .collect()
            };
            self.save_result(&uids);
            // RFC 5182 §2.1: SAVE alone returns nothing.
            if options.iter().all(|o| *o == ReturnOption::Save) {
                return;
            }
        }
        // RFC 4731 §3.1: RETURN () means ALL. RETURN (UPDATE) returns no result now, only
        // the changes to come (as Dovecot reads RFC 5267: a client wanting both asks for
        // ALL UPDATE).
        let all = options.is_empty() || has(ReturnOption::All);
        let mut line = format!("* ESEARCH (TAG \"{tag}\")");
        if uid {
            line.push_str(" UID");
        }
        if has(ReturnOption::Min)
            && let Some(min) = first
        {
            line.push_str(&format!(" MIN {min}"));
        }
        if has(ReturnOption::Max)
            && let Some(max) = last
        {
            line.push_str(&format!(" MAX {max}"));
        }
        if has(ReturnOption::Count) {
            line.push_str(&format!(" COUNT {}", ids.len()));
        }
        if all && !ids.is_empty() {
            line.push_str(&format!(" ALL {}", id_set(ids, sorted)));
        }
        if let Some((low, high, slice)) = partial {
            let set = if slice.is_empty() {
                "NIL".to_string()
            } else {
                id_set(slice, sorted)
            };
            line.push_str(&format!(" PARTIAL ({low}:{high} {set})"));
        }
        if let Some(modseq) = matched.modseq
            && !ids.is_empty()
        {
            line.push_str(&format!(" MODSEQ {modseq}"));
        }
        line.push_str("\r\n");
        self.conn.queue(line.as_bytes());
    }

    /// `* SEARCH 1 2 3` or `* SORT 3 1 2`, with `(MODSEQ n)` when the criteria used MODSEQ
    /// (RFC 7162 §3.1.5).
    fn queue_ids(&mut self, verb: &str, ids: &[u32], modseq: Option<i64>) {
        let mut line = format!("* {verb}");
        for id in ids {
            line.push_str(&format!(" {id}"));
        }
        if let Some(modseq) = modseq {
            line.push_str(&format!(" (MODSEQ {modseq})"));
        }
        line.push_str("\r\n");
        self.conn.queue(line.as_bytes());
    }

    fn selected_index_of_uid(&self, uid: u32) -> Option<usize> {
        let State::Selected(_, selected) = &self.state else {
            return None;
        };
        selected.index_of_uid(i64::from(uid))
    }

    /// Sequence numbers or UIDs of the messages at `indexes`.
    fn ids(&self, indexes: &[usize], uid: bool) -> Vec<u32> {
        let State::Selected(_, selected) = &self.state else {
            return Vec::new();
        };
        indexes
            .iter()
            .map(|&i| {
                if uid {
                    selected.messages()[i].uid as u32
                } else {
                    i as u32 + 1
                }
            })
            .collect()
    }

    /// RFC 5182: the result `$` stands for from now on (UIDs, so expunges drop out of it).
    fn save_result(&mut self, uids: &[i64]) {
        if let State::Selected(_, selected) = &mut self.state {
            selected.saved = uids.to_vec();
        }
    }

    /// `$` as UIDs and as sequence numbers of the messages still in the picture.
    pub(super) fn saved_result(&self) -> Saved {
        let State::Selected(_, selected) = &self.state else {
            return Saved {
                uids: NOTHING.into(),
                seqs: NOTHING.into(),
            };
        };
        let present: Vec<(i64, i64)> = selected
            .saved
            .iter()
            .filter_map(|&uid| selected.index_of_uid(uid).map(|i| (uid, i as i64 + 1)))
            .collect();
        if present.is_empty() {
            return Saved {
                uids: NOTHING.into(),
                seqs: NOTHING.into(),
            };
        }
        let uids: Vec<i64> = present.iter().map(|(u, _)| *u).collect();
        let seqs: Vec<i64> = present.iter().map(|(_, s)| *s).collect();
        Saved {
            uids: super::condstore::uid_set(&uids),
            seqs: super::condstore::uid_set(&seqs),
        }
    }

    /// The header sections of the messages at `indexes`, read from the index in batches.
    pub(super) async fn headers_of(&mut self, indexes: &[usize]) -> Result<Vec<Vec<u8>>, Done> {
        let mut headers = Vec::with_capacity(indexes.len());
        for (n, &i) in indexes.iter().enumerate() {
            if n % super::fetch::HEADER_BATCH == 0 {
                let end = indexes.len().min(n + super::fetch::HEADER_BATCH);
                self.prefetch_headers(&indexes[n..end]).await;
            }
            let State::Selected(_, selected) = &self.state else {
                return Err(Done::bad("No mailbox selected"));
            };
            let message = selected.messages()[i].clone();
            match self.header_of(&message).await {
                Ok(header) => headers.push(header),
                Err(e) => return Err(self.unavailable(e)),
            }
        }
        self.headers = Default::default();
        Ok(headers)
    }

    pub(super) fn sort_inputs<'a>(
        &self,
        indexes: &[usize],
        headers: &'a [Vec<u8>],
        uid: bool,
    ) -> Vec<SortInput<'a>> {
        let State::Selected(_, selected) = &self.state else {
            return Vec::new();
        };
        indexes
            .iter()
            .zip(headers)
            .map(|(&i, header)| {
                let m = &selected.messages()[i];
                SortInput {
                    id: if uid { m.uid as u32 } else { i as u32 + 1 },
                    header,
                    internal_date: m.internal_date,
                    size: m.size,
                }
            })
            .collect()
    }
}
