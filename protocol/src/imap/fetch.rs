//! FETCH and UID FETCH (RFC 3501 §6.4.5): flags, dates and sizes from the index, ENVELOPE
//! and header fields from the cached header section, bodies and parts from the blob.

use std::num::NonZeroU32;

use baedal_storage::mailstore::{FlagChange, StoredMessage, apply_flags};
use imap_codec::imap_types::IntoStatic;
use imap_codec::imap_types::command::FetchModifier;
use imap_codec::imap_types::core::Vec1;
use imap_codec::imap_types::fetch::{
    MacroOrMessageDataItemNames, MessageDataItemName, Part, Section,
};
use imap_codec::imap_types::sequence::SequenceSet;
use tokio::io::AsyncReadExt;

use super::mailboxes::has_flag;
use super::session::{Done, Session, State};
use super::syntax::ExtraItems;
use super::syntax::ExtraKey;
use super::wire;
use crate::conn::Closed;

/// Queued output is flushed to the client past this size.
const FLUSH_AT: usize = 256 * 1024;

impl Session {
    pub(super) async fn fetch(
        &mut self,
        set: &SequenceSet,
        names: MacroOrMessageDataItemNames<'static>,
        uid: bool,
        modifiers: &[FetchModifier],
        extra_items: &ExtraItems,
    ) -> Result<Done, Closed> {
        let mut items: Vec<MessageDataItemName<'static>> = match names {
            MacroOrMessageDataItemNames::Macro(m) => m
                .expand()
                .into_iter()
                .map(IntoStatic::into_static)
                .collect(),
            MacroOrMessageDataItemNames::MessageDataItemNames(items) => items,
        };
        // RFC 3501 §6.4.8: UID FETCH always returns UID.
        if uid && !items.contains(&MessageDataItemName::Uid) {
            items.insert(0, MessageDataItemName::Uid);
        }
        let changed_since = modifiers.iter().find_map(|m| match m {
            FetchModifier::ChangedSince(n) => Some(n.get()),
            FetchModifier::Vanished => None,
        });
        let vanished = modifiers.contains(&FetchModifier::Vanished);
        // RFC 7162 §3.2.6: VANISHED only in UID FETCH with CHANGEDSINCE, once QRESYNC is on.
        if vanished && !(uid && changed_since.is_some() && self.enabled.qresync) {
            return Ok(Done::bad(
                "VANISHED needs UID FETCH, CHANGEDSINCE and ENABLE QRESYNC",
            ));
        }
        // RFC 7162 §3.1: MODSEQ and CHANGEDSINCE enable CONDSTORE; CHANGEDSINCE implies MODSEQ.
        if changed_since.is_some() && !items.contains(&MessageDataItemName::ModSeq) {
            items.push(MessageDataItemName::ModSeq);
        }
        if items.contains(&MessageDataItemName::ModSeq) {
            self.enabled.condstore = true;
        }
        // A resync asks about the mailbox as it is now: what others changed is brought into
        // the picture first (expunges only in the UID form, RFC 3501 §7.4.1).
        if let Some(since) = changed_since {
            let reported = |s: &super::selected::Selected, i: usize| {
                let m = &s.messages()[i];
                let (value, largest) = if uid {
                    (
                        m.uid as u32,
                        s.messages().last().map_or(0, |l| l.uid as u32),
                    )
                } else {
                    (i as u32 + 1, s.messages().len() as u32)
                };
                m.modseq as u64 > since && super::selected::contains(set, value, largest)
            };
            self.announce_changes_but(uid, &reported).await;
        }
        let State::Selected(_, selected) = &self.state else {
            return Ok(Done::bad("No mailbox selected"));
        };
        let mut indexes = selected.resolve(set, uid);
        if let Some(since) = changed_since {
            indexes.retain(|&i| selected.messages()[i].modseq as u64 > since);
        }
        if vanished && let Some(since) = changed_since {
            let largest = selected
                .messages()
                .last()
                .map_or(0, |m| m.uid)
                .max(selected.mailbox.uidnext - 1) as u32;
            let present: Vec<i64> = selected.messages().iter().map(|m| m.uid).collect();
            let mailbox_id = selected.mailbox.id;
            let gone = match self
                .service
                .store
                .vanished_since(mailbox_id, since.min(i64::MAX as u64) as i64)
                .await
            {
                // Only what the session no longer holds: a UID expunged since its picture
                // was brought up to date goes out as VANISHED in the announcement.
                Ok(Some(uids)) => uids
                    .into_iter()
                    .filter(|&u| {
                        super::selected::contains(set, u as u32, largest)
                            && present.binary_search(&u).is_err()
                    })
                    .collect(),
                Ok(None) => super::condstore::missing_uids(Some(set), largest, &present),
                Err(e) => return Ok(self.unavailable(e)),
            };
            if !gone.is_empty() {
                let line = format!(
                    "* VANISHED (EARLIER) {}\r\n",
                    super::condstore::uid_set(&gone)
                );
                self.conn.queue(line.as_bytes());
            }
        }
        let State::Selected(_, selected) = &self.state else {
            return Ok(Done::bad("No mailbox selected"));
        };
        let read_only = selected.read_only;
        let mailbox_id = selected.mailbox.id;
        let mut seen_updates = Vec::new();
        let wants_header = items.iter().any(uses_header);
        for (n, &i) in indexes.iter().enumerate() {
            if wants_header && n % HEADER_BATCH == 0 {
                self.prefetch_headers(&indexes[n..indexes.len().min(n + HEADER_BATCH)])
                    .await;
            }
            let State::Selected(_, selected) = &self.state else {
                break;
            };
            let mut message = selected.messages()[i].clone();
            // RFC 3501 §6.4.5: a body fetch without PEEK sets \Seen, and the client is told
            // the new flags once, in the FLAGS item if it asked for it.
            let stored_flags = message.flags.clone();
            let sets_seen = !read_only
                && !has_flag(&stored_flags, "\\Seen")
                && items.iter().any(sets_seen_item);
            if sets_seen {
                message.flags =
                    apply_flags(&stored_flags, FlagChange::Add, &["\\Seen".to_string()]);
            }
            // RFC 9586 §3.3: with UIDONLY the UID leads the line and is no item.
            let uidonly = self.enabled.uidonly;
            let mut line = if uidonly {
                format!("* {} UIDFETCH (", message.uid).into_bytes()
            } else {
                format!("* {} FETCH (", i + 1).into_bytes()
            };
            let mut first = true;
            for item in &items {
                if uidonly && matches!(item, MessageDataItemName::Uid) {
                    continue;
                }
                if !first {
                    line.push(b' ');
                }
                first = false;
                // A whole message is streamed from the blob store as a literal, never held
                // in memory: the line so far goes out first.
                if let Some(WholeMessage { name, partial }) = whole_message(item) {
                    // RFC 3501 §6.4.5: <start.len> answers with <start> and what is there.
                    let size = message.size.max(0) as u64;
                    let (start, len) = match partial {
                        Some((start, len)) => {
                            let start = u64::from(start).min(size);
                            (start, u64::from(len).min(size - start))
                        }
                        None => (0, size),
                    };
                    let origin = partial.map(|(s, _)| format!("<{s}>")).unwrap_or_default();
                    // Opened before anything of this message is sent: a blob store that
                    // is down gets a tagged NO, and the session goes on.
                    let reader = match self
                        .service
                        .store
                        .open_blob_from(&message.blob_key, start)
                        .await
                    {
                        Ok(reader) => reader,
                        Err(e) => return Ok(self.unavailable(e)),
                    };
                    line.extend_from_slice(format!("{name}{origin} {{{len}}}\r\n").as_bytes());
                    self.conn.queue(&line);
                    line.clear();
                    self.stream_blob(reader, &message, len).await?;
                    continue;
                }
                match self.item(&message, item, &mut line).await {
                    Ok(()) => {}
                    Err(ItemError::Unavailable(e)) => return Ok(self.unavailable(e)),
                    Err(ItemError::Refused(done)) => return Ok(done),
                }
            }
            // RFC 8474 §5.
            if extra_items.email_id {
                let id = super::syntax::email_id(&message.blob_key);
                line.extend_from_slice(format!(" EMAILID ({id})").as_bytes());
            }
            if extra_items.thread_id {
                let id = super::syntax::thread_id(message.thread_id);
                line.extend_from_slice(format!(" THREADID ({id})").as_bytes());
            }
            // RFC 8514 §4.
            if extra_items.save_date {
                let date = wire::internal_date(message.saved_at);
                line.extend_from_slice(format!(" SAVEDATE \"{date}\"").as_bytes());
            }
            // RFC 8970 §3.
            if extra_items.preview {
                match self.blob_of(&message).await {
                    Ok(blob) => {
                        let text = super::preview::preview(&blob);
                        line.extend_from_slice(b" PREVIEW ");
                        wire::string(&mut line, text.as_bytes());
                    }
                    Err(e) => return Ok(self.unavailable(e)),
                }
            }
            if sets_seen {
                if !items.contains(&MessageDataItemName::Flags) {
                    line.extend_from_slice(
                        format!(" FLAGS ({})", self.flags_of(&message)).as_bytes(),
                    );
                }
                seen_updates.push((i, message.uid, message.flags.clone()));
            }
            line.extend_from_slice(b")\r\n");
            self.conn.queue(&line);
            if self.conn.queued() > FLUSH_AT {
                self.conn.flush().await?;
            }
        }
        self.headers = Default::default();
        if !seen_updates.is_empty() {
            // \Seen is added to the flags as stored (another session may have changed
            // others); the client keeps what it was shown, and the announcement at the end
            // of the command tells it the rest.
            let uids: Vec<i64> = seen_updates.iter().map(|(_, uid, _)| *uid).collect();
            let seen = ["\\Seen".to_string()];
            if let Err(e) = self
                .service
                .store
                .store_flags(mailbox_id, &uids, FlagChange::Add, &seen, None)
                .await
            {
                return Ok(self.unavailable(e));
            }
            if let State::Selected(_, selected) = &mut self.state {
                for (i, _, flags) in seen_updates {
                    selected.messages_mut()[i].flags = flags;
                }
            }
        }
        Ok(Done::ok(if uid {
            "UID FETCH completed"
        } else {
            "FETCH completed"
        }))
    }

    /// Appends one item.
    async fn item(
        &self,
        m: &StoredMessage,
        item: &MessageDataItemName<'_>,
        out: &mut Vec<u8>,
    ) -> Result<(), ItemError> {
        match item {
            MessageDataItemName::Uid => out.extend_from_slice(format!("UID {}", m.uid).as_bytes()),
            MessageDataItemName::Flags => {
                out.extend_from_slice(format!("FLAGS ({})", self.flags_of(m)).as_bytes())
            }
            MessageDataItemName::InternalDate => out.extend_from_slice(
                format!("INTERNALDATE \"{}\"", wire::internal_date(m.internal_date)).as_bytes(),
            ),
            MessageDataItemName::Rfc822Size => {
                out.extend_from_slice(format!("RFC822.SIZE {}", m.size).as_bytes())
            }
            // RFC 7162 §3.1.4.1
            MessageDataItemName::ModSeq => {
                out.extend_from_slice(format!("MODSEQ ({})", m.modseq).as_bytes())
            }
            MessageDataItemName::Envelope => {
                out.extend_from_slice(b"ENVELOPE ");
                let header = self.header_of(m).await?;
                wire::envelope(out, &header);
            }
            MessageDataItemName::Rfc822 => {
                out.extend_from_slice(b"RFC822 ");
                wire::literal(out, &self.blob_of(m).await?);
                return Ok(());
            }
            MessageDataItemName::Rfc822Header => {
                out.extend_from_slice(b"RFC822.HEADER ");
                wire::literal(out, &self.header_of(m).await?);
            }
            MessageDataItemName::Rfc822Text => {
                out.extend_from_slice(b"RFC822.TEXT ");
                let blob = self.blob_of(m).await?;
                wire::literal(out, &blob[wire::header_len(&blob)..]);
                return Ok(());
            }
            MessageDataItemName::BodyExt {
                section, partial, ..
            } => {
                let data = self.section(m, section.as_ref()).await?;
                out.extend_from_slice(b"BODY[");
                out.extend_from_slice(section_name(section.as_ref()).as_bytes());
                out.push(b']');
                let data = match partial {
                    Some((start, len)) => {
                        out.extend_from_slice(format!("<{start}>").as_bytes());
                        let start = (*start as usize).min(data.len());
                        let end = start
                            .saturating_add(NonZeroU32::get(*len) as usize)
                            .min(data.len());
                        data[start..end].to_vec()
                    }
                    None => data,
                };
                out.push(b' ');
                wire::literal(out, &data);
                return Ok(());
            }
            MessageDataItemName::Body => {
                super::bodystructure::write(out, &self.blob_of(m).await?, false)
            }
            MessageDataItemName::BodyStructure => {
                super::bodystructure::write(out, &self.blob_of(m).await?, true)
            }
            // RFC 3516 §4.2
            MessageDataItemName::Binary {
                section, partial, ..
            } => {
                let data = self.binary_of(m, section).await?;
                out.extend_from_slice(format!("BINARY[{}]", part_path(section)).as_bytes());
                let data = match partial {
                    Some((start, len)) => {
                        out.extend_from_slice(format!("<{start}>").as_bytes());
                        let start = (*start as usize).min(data.len());
                        let end = start
                            .saturating_add(NonZeroU32::get(*len) as usize)
                            .min(data.len());
                        &data[start..end]
                    }
                    None => &data[..],
                };
                out.push(b' ');
                super::binary::literal(out, data);
            }
            MessageDataItemName::BinarySize { section } => {
                let size = self.binary_of(m, section).await?.len();
                out.extend_from_slice(
                    format!("BINARY.SIZE[{}] {size}", part_path(section)).as_bytes(),
                );
            }
        }
        Ok(())
    }

    /// Copies a message's blob into the output, flushing as it goes. A blob shorter than its
    /// indexed size would break the literal: the connection is dropped.
    async fn stream_blob(
        &mut self,
        mut reader: baedal_storage::blob::BlobReader,
        m: &StoredMessage,
        len: u64,
    ) -> Result<(), Closed> {
        let mut chunk = vec![0u8; 64 * 1024];
        let mut left = len;
        while left > 0 {
            let want = chunk.len().min(left as usize);
            match reader.read(&mut chunk[..want]).await {
                Ok(0) | Err(_) => {
                    tracing::error!(key = %m.blob_key, "message blob shorter than indexed");
                    return Err(Closed::Disconnected);
                }
                Ok(n) => {
                    self.conn.queue(&chunk[..n]);
                    left -= n as u64;
                }
            }
            if self.conn.queued() > FLUSH_AT {
                self.conn.flush().await?;
            }
        }
        Ok(())
    }

    /// Flags as the client sees them (with \Recent).
    pub(super) fn flags_of(&self, m: &StoredMessage) -> String {
        match &self.state {
            State::Selected(_, selected) => selected.flags(m),
            _ => m.flags.clone(),
        }
    }

    pub(super) async fn blob_of(&self, m: &StoredMessage) -> Result<Vec<u8>, String> {
        let mut reader = self
            .service
            .store
            .open_blob(&m.blob_key)
            .await
            .map_err(|e| e.to_string())?;
        let mut bytes = Vec::with_capacity(m.size as usize);
        reader
            .read_to_end(&mut bytes)
            .await
            .map_err(|e| e.to_string())?;
        Ok(bytes)
    }

    /// Reads the cached header sections of the messages at `indexes` in one query, for the
    /// listing in progress (a folder's headers then cost one query per batch, not one each).
    pub(super) async fn prefetch_headers(&mut self, indexes: &[usize]) {
        let State::Selected(_, selected) = &self.state else {
            return;
        };
        let messages = selected.messages();
        let keys: Vec<&str> = indexes
            .iter()
            .filter_map(|&i| messages.get(i))
            .map(|m| m.blob_key.as_str())
            .collect();
        match self.service.store.cached_headers(&keys).await {
            Ok(headers) => self.headers = headers,
            // Each message falls back to its own read.
            Err(e) => tracing::warn!(error = %e, "cannot read header sections in bulk"),
        }
    }

    /// The header section: from the index cache when it is complete, else from the blob.
    pub(super) async fn header_of(&self, m: &StoredMessage) -> Result<Vec<u8>, String> {
        if let Some(header) = self.headers.get(&m.blob_key)
            && (header.ends_with(b"\r\n\r\n") || header == b"\r\n")
        {
            return Ok(header.clone());
        }
        if let Ok(Some((header, _))) = self.service.store.cached_header(&m.blob_key).await
            && (header.ends_with(b"\r\n\r\n") || header == b"\r\n")
        {
            return Ok(header);
        }
        let blob = self.blob_of(m).await?;
        Ok(blob[..wire::header_len(&blob)].to_vec())
    }

    /// A BODY section's bytes (the whole message for `None`).
    pub(super) async fn section(
        &self,
        m: &StoredMessage,
        section: Option<&Section<'_>>,
    ) -> Result<Vec<u8>, String> {
        let names = super::bodystructure::field_names;
        Ok(match section {
            None => self.blob_of(m).await?,
            Some(Section::Header(None)) => self.header_of(m).await?,
            Some(Section::HeaderFields(None, list)) => {
                wire::header_fields(&self.header_of(m).await?, &names(list), false)
            }
            Some(Section::HeaderFieldsNot(None, list)) => {
                wire::header_fields(&self.header_of(m).await?, &names(list), true)
            }
            Some(Section::Text(None)) => {
                let blob = self.blob_of(m).await?;
                blob[wire::header_len(&blob)..].to_vec()
            }
            Some(other) => {
                let blob = self.blob_of(m).await?;
                super::bodystructure::part_section(&blob, other).unwrap_or_default()
            }
        })
    }
}

/// Why one FETCH item could not be answered.
enum ItemError {
    /// The store failed: `NO [UNAVAILABLE]`.
    Unavailable(String),
    /// A completion for the client (e.g. `NO [UNKNOWN-CTE]`).
    Refused(Done),
}

impl From<String> for ItemError {
    fn from(e: String) -> Self {
        Self::Unavailable(e)
    }
}

/// `1.2.3` of a BINARY section.
fn part_path(section: &[NonZeroU32]) -> String {
    section
        .iter()
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join(".")
}

impl Session {
    /// The UIDs (as a sequence set) of the selected messages a search key the parser does
    /// not know names: EMAILID (RFC 8474 §6), SAVEDBEFORE/SAVEDON/SAVEDSINCE (RFC 8514 §3,
    /// days in UTC like INTERNALDATE's BEFORE/ON/SINCE).
    pub(super) fn uids_with_key(&self, key: &ExtraKey) -> String {
        let State::Selected(_, selected) = &self.state else {
            return String::new();
        };
        let day = |m: &StoredMessage| super::search::day(m.saved_at);
        let uids: Vec<i64> = selected
            .messages()
            .iter()
            .filter(|m| match key {
                ExtraKey::EmailId(id) => super::syntax::email_id(&m.blob_key) == *id,
                ExtraKey::ThreadId(id) => super::syntax::thread_id(m.thread_id) == *id,
                ExtraKey::SavedBefore(d) => day(m) < *d,
                ExtraKey::SavedOn(d) => day(m) == *d,
                ExtraKey::SavedSince(d) => day(m) >= *d,
            })
            .map(|m| m.uid)
            .collect();
        super::condstore::uid_set(&uids)
    }

    async fn binary_of(
        &self,
        m: &StoredMessage,
        section: &[NonZeroU32],
    ) -> Result<Vec<u8>, ItemError> {
        use super::binary::BinaryError;
        let blob = self.blob_of(m).await?;
        super::binary::section(&blob, section).map_err(|e| {
            ItemError::Refused(match e {
                BinaryError::NoSuchPart => Done::no("No such message part"),
                BinaryError::UnknownEncoding(cte) => Done::no(format!(
                    "[UNKNOWN-CTE] Cannot decode the transfer encoding {cte}"
                )),
            })
        })
    }
}

/// Header sections are read in bulk this many messages at a time.
pub(super) const HEADER_BATCH: usize = 256;

/// True for the items answered from the header section alone.
fn uses_header(item: &MessageDataItemName<'_>) -> bool {
    match item {
        MessageDataItemName::Envelope | MessageDataItemName::Rfc822Header => true,
        MessageDataItemName::BodyExt { section, .. } => matches!(
            section,
            Some(Section::Header(None))
                | Some(Section::HeaderFields(None, _))
                | Some(Section::HeaderFieldsNot(None, _))
        ),
        _ => false,
    }
}

/// True for the items that set \Seen: body sections without PEEK, RFC822, RFC822.TEXT.
fn sets_seen_item(item: &MessageDataItemName<'_>) -> bool {
    match item {
        MessageDataItemName::BodyExt { peek, .. } | MessageDataItemName::Binary { peek, .. } => {
            !peek
        }
        MessageDataItemName::Rfc822 | MessageDataItemName::Rfc822Text => true,
        _ => false,
    }
}

/// A fetch of the whole message, streamed from the blob: `BODY[]`, `BODY.PEEK[]`
/// (optionally partial) and `RFC822`.
struct WholeMessage {
    name: &'static str,
    partial: Option<(u32, u32)>,
}

fn whole_message(item: &MessageDataItemName<'_>) -> Option<WholeMessage> {
    match item {
        MessageDataItemName::BodyExt {
            section: None,
            partial,
            ..
        } => Some(WholeMessage {
            name: "BODY[]",
            partial: partial.map(|(s, l)| (s, NonZeroU32::get(l))),
        }),
        MessageDataItemName::Rfc822 => Some(WholeMessage {
            name: "RFC822",
            partial: None,
        }),
        _ => None,
    }
}

/// `1.2.MIME`-style name of a section, as the response repeats it.
fn section_name(section: Option<&Section<'_>>) -> String {
    let part = |p: &Part| {
        p.0.as_ref()
            .iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(".")
    };
    let fields = |list: &Vec1<imap_codec::imap_types::core::AString<'_>>| {
        list.as_ref()
            .iter()
            .map(|n| String::from_utf8_lossy(n.as_ref()).to_uppercase())
            .collect::<Vec<_>>()
            .join(" ")
    };
    let prefix = |p: &Option<Part>| {
        p.as_ref()
            .map(|p| format!("{}.", part(p)))
            .unwrap_or_default()
    };
    match section {
        None => String::new(),
        Some(Section::Part(p)) => part(p),
        Some(Section::Header(p)) => format!("{}HEADER", prefix(p)),
        Some(Section::HeaderFields(p, l)) => format!("{}HEADER.FIELDS ({})", prefix(p), fields(l)),
        Some(Section::HeaderFieldsNot(p, l)) => {
            format!("{}HEADER.FIELDS.NOT ({})", prefix(p), fields(l))
        }
        Some(Section::Text(p)) => format!("{}TEXT", prefix(p)),
        Some(Section::Mime(p)) => format!("{}.MIME", part(p)),
    }
}
