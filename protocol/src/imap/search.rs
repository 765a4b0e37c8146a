//! SEARCH and UID SEARCH (RFC 3501 §6.4.4): every search key, evaluated per message; header
//! keys read the cached header section, BODY and TEXT read the message.

use baedal_storage::mailstore::StoredMessage;
use chrono::NaiveDate;
use imap_codec::imap_types::core::Vec1;
use imap_codec::imap_types::search::SearchKey;
use mail_parser::{Address, Message, MessageParser};

use super::mailboxes::has_flag;
use super::session::{Done, Session, State};

/// What a message offers to search keys; header and body are read only when a key needs them.
struct Candidate<'a> {
    seq: u32,
    recent: bool,
    largest_seq: u32,
    largest_uid: u32,
    message: &'a StoredMessage,
    header: Option<Vec<u8>>,
    blob: Option<Vec<u8>>,
}

fn needs_header(key: &SearchKey<'_>) -> bool {
    match key {
        SearchKey::Bcc(_)
        | SearchKey::Cc(_)
        | SearchKey::From(_)
        | SearchKey::To(_)
        | SearchKey::Subject(_)
        | SearchKey::Header(..) => true,
        SearchKey::SentBefore(_) | SearchKey::SentOn(_) | SearchKey::SentSince(_) => true,
        SearchKey::And(keys) => keys.as_ref().iter().any(needs_header),
        SearchKey::Not(k) => needs_header(k),
        SearchKey::Or(a, b) => needs_header(a) || needs_header(b),
        _ => false,
    }
}

fn needs_body(key: &SearchKey<'_>) -> bool {
    match key {
        SearchKey::Body(_) | SearchKey::Text(_) => true,
        SearchKey::And(keys) => keys.as_ref().iter().any(needs_body),
        SearchKey::Not(k) => needs_body(k),
        SearchKey::Or(a, b) => needs_body(a) || needs_body(b),
        _ => false,
    }
}

fn contains(haystack: &str, needle: &[u8]) -> bool {
    haystack
        .to_lowercase()
        .contains(&String::from_utf8_lossy(needle).to_lowercase())
}

fn addresses(list: Option<&Address<'_>>) -> String {
    list.map(|l| {
        l.iter()
            .map(|a| {
                format!(
                    "{} <{}>",
                    a.name.as_deref().unwrap_or(""),
                    a.address.as_deref().unwrap_or("")
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    })
    .unwrap_or_default()
}

fn day(secs: i64) -> NaiveDate {
    chrono::DateTime::from_timestamp(secs, 0)
        .map(|d| d.date_naive())
        .unwrap_or_default()
}

impl Candidate<'_> {
    fn parsed_header(&self) -> Option<Message<'_>> {
        MessageParser::default().parse_headers(self.header.as_deref().unwrap_or(b""))
    }

    fn sent_day(&self) -> Option<NaiveDate> {
        let m = self.parsed_header()?;
        m.date().map(|d| day(d.to_timestamp()))
    }

    fn matches(&self, key: &SearchKey<'_>) -> bool {
        let m = self.message;
        match key {
            SearchKey::All => true,
            SearchKey::And(keys) => keys.as_ref().iter().all(|k| self.matches(k)),
            SearchKey::Or(a, b) => self.matches(a) || self.matches(b),
            SearchKey::Not(k) => !self.matches(k),
            SearchKey::SequenceSet(set) => {
                super::selected::contains(set, self.seq, self.largest_seq)
            }
            SearchKey::Uid(set) => super::selected::contains(set, m.uid as u32, self.largest_uid),
            SearchKey::Answered => has_flag(&m.flags, "\\Answered"),
            SearchKey::Unanswered => !has_flag(&m.flags, "\\Answered"),
            SearchKey::Deleted => has_flag(&m.flags, "\\Deleted"),
            SearchKey::Undeleted => !has_flag(&m.flags, "\\Deleted"),
            SearchKey::Draft => has_flag(&m.flags, "\\Draft"),
            SearchKey::Undraft => !has_flag(&m.flags, "\\Draft"),
            SearchKey::Flagged => has_flag(&m.flags, "\\Flagged"),
            SearchKey::Unflagged => !has_flag(&m.flags, "\\Flagged"),
            SearchKey::Seen => has_flag(&m.flags, "\\Seen"),
            SearchKey::Unseen => !has_flag(&m.flags, "\\Seen"),
            SearchKey::Keyword(k) => has_flag(&m.flags, k.as_ref()),
            SearchKey::Unkeyword(k) => !has_flag(&m.flags, k.as_ref()),
            SearchKey::Recent => self.recent,
            SearchKey::New => self.recent && !has_flag(&m.flags, "\\Seen"),
            SearchKey::Old => !self.recent,
            SearchKey::Larger(n) => m.size > i64::from(*n),
            SearchKey::Smaller(n) => m.size < i64::from(*n),
            SearchKey::Before(d) => day(m.internal_date) < *d.as_ref(),
            SearchKey::On(d) => day(m.internal_date) == *d.as_ref(),
            SearchKey::Since(d) => day(m.internal_date) >= *d.as_ref(),
            SearchKey::SentBefore(d) => self.sent_day().is_some_and(|s| s < *d.as_ref()),
            SearchKey::SentOn(d) => self.sent_day().is_some_and(|s| s == *d.as_ref()),
            SearchKey::SentSince(d) => self.sent_day().is_some_and(|s| s >= *d.as_ref()),
            SearchKey::Subject(s) => self
                .parsed_header()
                .and_then(|h| h.subject().map(|x| contains(x, s.as_ref())))
                .unwrap_or(false),
            SearchKey::From(s) => self
                .parsed_header()
                .is_some_and(|h| contains(&addresses(h.from()), s.as_ref())),
            SearchKey::To(s) => self
                .parsed_header()
                .is_some_and(|h| contains(&addresses(h.to()), s.as_ref())),
            SearchKey::Cc(s) => self
                .parsed_header()
                .is_some_and(|h| contains(&addresses(h.cc()), s.as_ref())),
            SearchKey::Bcc(s) => self
                .parsed_header()
                .is_some_and(|h| contains(&addresses(h.bcc()), s.as_ref())),
            SearchKey::Header(name, value) => {
                let name = String::from_utf8_lossy(name.as_ref()).into_owned();
                self.parsed_header()
                    .and_then(|h| {
                        h.header_raw(name.as_str())
                            .map(|v| contains(v, value.as_ref()))
                    })
                    .unwrap_or(false)
            }
            SearchKey::Body(s) | SearchKey::Text(s) => {
                let blob = self.blob.as_deref().unwrap_or(b"");
                let text = match MessageParser::default().parse(blob) {
                    Some(msg) => {
                        let bodies: Vec<String> = (0..msg.text_body_count())
                            .filter_map(|i| msg.body_text(i).map(|t| t.into_owned()))
                            .collect();
                        bodies.join("\n")
                    }
                    None => String::from_utf8_lossy(blob).into_owned(),
                };
                let header = if matches!(key, SearchKey::Text(_)) {
                    String::from_utf8_lossy(self.header.as_deref().unwrap_or(b"")).into_owned()
                } else {
                    String::new()
                };
                contains(&text, s.as_ref()) || contains(&header, s.as_ref())
            }
            _ => false,
        }
    }
}

impl Session {
    pub(super) async fn search(
        &mut self,
        charset: Option<&str>,
        criteria: &Vec1<SearchKey<'_>>,
        uid: bool,
    ) -> Done {
        if let Some(charset) = charset
            && !charset.eq_ignore_ascii_case("UTF-8")
            && !charset.eq_ignore_ascii_case("US-ASCII")
        {
            return Done::no("[BADCHARSET (UTF-8 US-ASCII)] Unsupported charset");
        }
        let State::Selected(_, selected) = &self.state else {
            return Done::bad("No mailbox selected");
        };
        let view = selected.view.clone();
        let messages = &view.messages;
        let recent = selected.recent.clone();
        let key = SearchKey::And(criteria.clone());
        let (header_needed, body_needed) = (needs_header(&key), needs_body(&key));
        let largest_uid = messages.last().map(|m| m.uid as u32).unwrap_or(0);
        let mut hits = Vec::new();
        for (i, m) in messages.iter().enumerate() {
            if header_needed && i % super::fetch::HEADER_BATCH == 0 {
                let batch: Vec<usize> =
                    (i..messages.len().min(i + super::fetch::HEADER_BATCH)).collect();
                self.prefetch_headers(&batch).await;
            }
            let header = if header_needed || body_needed {
                match self.header_of(m).await {
                    Ok(h) => Some(h),
                    Err(e) => return self.unavailable(e),
                }
            } else {
                None
            };
            let blob = if body_needed {
                match self.blob_of(m).await {
                    Ok(b) => Some(b),
                    Err(e) => return self.unavailable(e),
                }
            } else {
                None
            };
            let candidate = Candidate {
                seq: i as u32 + 1,
                recent: recent.contains(&m.uid),
                largest_seq: messages.len() as u32,
                largest_uid,
                message: m,
                header,
                blob,
            };
            if candidate.matches(&key) {
                hits.push(if uid {
                    m.uid.to_string()
                } else {
                    (i + 1).to_string()
                });
            }
        }
        self.headers = Default::default();
        let list = if hits.is_empty() {
            String::new()
        } else {
            format!(" {}", hits.join(" "))
        };
        self.conn.queue(format!("* SEARCH{list}\r\n").as_bytes());
        Done::ok(if uid {
            "UID SEARCH completed"
        } else {
            "SEARCH completed"
        })
    }
}
