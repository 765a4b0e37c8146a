//! CATENATE (RFC 4469), which the parser (imap-codec) does not read: an APPEND whose message
//! is put together from literal text and IMAP URLs (RFC 5092) of messages or parts the user
//! already has. The command is cut into its parts here; the session stands a single-message
//! APPEND with an empty literal in for the parser, builds the message from the parts, and
//! stores it like any APPEND.
//!
//! ```text
//! append      = "APPEND" SP mailbox [SP flag-list] [SP date-time] SP "CATENATE" SP
//!               "(" cat-part *(SP cat-part) ")"                      ; RFC 4469 §5
//! cat-part    = text-literal / url
//! text-literal = "TEXT" SP literal
//! url         = "URL" SP astring
//! ```

use imap_codec::CommandCodec;
use imap_codec::decode::Decoder;
use imap_codec::imap_types::command::CommandBody;
use imap_codec::imap_types::fetch::{MacroOrMessageDataItemNames, MessageDataItemName};

use super::multiappend::{append_mailbox_end, astring_len, literal_len, skip_append_opts};
use super::session::{Done, Session};

/// One part of the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum CatPart {
    Text(Vec<u8>),
    Url(String),
}

/// A CATENATE APPEND cut up: the APPEND to parse in its place (same tag, mailbox, flags and
/// date, an empty message) and the parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Catenate {
    pub stand_in: Vec<u8>,
    pub parts: Vec<CatPart>,
}

/// `Some` when `message` is an APPEND with CATENATE.
pub(super) fn parse(message: &[u8]) -> Option<Catenate> {
    let mailbox_end = append_mailbox_end(message)?;
    if message.get(mailbox_end) != Some(&b' ') {
        return None;
    }
    let mut at = skip_append_opts(message, mailbox_end + 1)?;
    let head_end = at - 1;
    let keyword = b"CATENATE (";
    if message.len() < at + keyword.len()
        || !message[at..at + keyword.len()].eq_ignore_ascii_case(keyword)
    {
        return None;
    }
    at += keyword.len();
    let mut parts = Vec::new();
    loop {
        let word_end = at + message[at..].iter().position(|&b| b == b' ')?;
        let word = &message[at..word_end];
        at = word_end + 1;
        if word.eq_ignore_ascii_case(b"TEXT") {
            if message.get(at) == Some(&b'~') {
                at += 1;
            }
            let len = literal_len(&message[at..])?;
            let data_start = at + message[at..].iter().position(|&b| b == b'\n')? + 1;
            parts.push(CatPart::Text(message[data_start..at + len].to_vec()));
            at += len;
        } else if word.eq_ignore_ascii_case(b"URL") {
            let len = astring_len(&message[at..])?;
            let raw = &message[at..at + len];
            let text = if raw.first() == Some(&b'"') {
                unquote(&raw[1..raw.len() - 1])
            } else if raw.first() == Some(&b'{') {
                let data_start = raw.iter().position(|&b| b == b'\n')? + 1;
                raw[data_start..].to_vec()
            } else {
                raw.to_vec()
            };
            parts.push(CatPart::Url(String::from_utf8(text).ok()?));
            at += len;
        } else {
            return None;
        }
        match message.get(at)? {
            b' ' => at += 1,
            b')' => {
                at += 1;
                break;
            }
            _ => return None,
        }
    }
    if &message[at..] != b"\r\n" || parts.is_empty() {
        return None;
    }
    let mut stand_in = message[..head_end].to_vec();
    stand_in.extend_from_slice(b" {0}\r\n\r\n");
    Some(Catenate { stand_in, parts })
}

fn unquote(quoted: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(quoted.len());
    let mut escaped = false;
    for &b in quoted {
        if !escaped && b == b'\\' {
            escaped = true;
            continue;
        }
        escaped = false;
        out.push(b);
    }
    out
}

/// An IMAP URL of one of the user's messages (RFC 5092 §3, relative to this server):
/// `[imap://host]/mailbox[;UIDVALIDITY=n]/;UID=n[/;SECTION=s][/;PARTIAL=o[.l]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct MessageUrl {
    mailbox: String,
    uidvalidity: Option<i64>,
    uid: i64,
    section: Option<String>,
    partial: Option<(usize, Option<usize>)>,
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn parse_url(url: &str) -> Option<MessageUrl> {
    let path = match url.strip_prefix("imap://") {
        Some(rest) => &rest[rest.find('/')?..],
        None => url,
    };
    let path = path.strip_prefix('/')?;
    let mut segments = path.split("/;");
    let first = segments.next()?;
    let (mailbox, uidvalidity) = match first.split_once(";UIDVALIDITY=") {
        Some((m, v)) => (m, Some(v.parse().ok()?)),
        None => (first, None),
    };
    let mut url = MessageUrl {
        mailbox: percent_decode(mailbox)?,
        uidvalidity,
        uid: 0,
        section: None,
        partial: None,
    };
    for segment in segments {
        let (key, value) = segment.split_once('=')?;
        match key.to_ascii_uppercase().as_str() {
            "UID" => url.uid = value.parse().ok()?,
            "SECTION" => url.section = Some(percent_decode(value)?),
            "PARTIAL" => {
                url.partial = Some(match value.split_once('.') {
                    Some((o, l)) => (o.parse().ok()?, Some(l.parse().ok()?)),
                    None => (value.parse().ok()?, None),
                })
            }
            _ => return None,
        }
    }
    (url.uid > 0 && !url.mailbox.is_empty()).then_some(url)
}

impl Session {
    /// The message the parts make, or the NO that refuses it (`[BADURL url]`,
    /// `[TOOBIG]`).
    pub(super) async fn catenated(&self, parts: &[CatPart]) -> Result<Vec<u8>, Done> {
        let Some(user) = self.user_id() else {
            return Err(Done::bad("Not authenticated"));
        };
        let limit = self.service.limits.max_command as usize;
        let mut message = Vec::new();
        for part in parts {
            match part {
                CatPart::Text(text) => message.extend_from_slice(text),
                CatPart::Url(url) => {
                    let bad = || Done::no(format!("[BADURL {url}] No such message or part"));
                    let parsed = parse_url(url).ok_or_else(bad)?;
                    let name = super::mailboxes::stored_name(&parsed.mailbox, self.enabled.utf8);
                    let mailbox = match self.service.store.mailbox(user, &name).await {
                        Ok(Some(m)) => m,
                        Ok(None) => return Err(bad()),
                        Err(e) => return Err(self.unavailable(e)),
                    };
                    if parsed.uidvalidity.is_some_and(|v| v != mailbox.uidvalidity) {
                        return Err(bad());
                    }
                    let messages = self
                        .service
                        .store
                        .messages(mailbox.id)
                        .await
                        .map_err(|e| self.unavailable(e))?;
                    let stored = messages
                        .iter()
                        .find(|m| m.uid == parsed.uid)
                        .ok_or_else(bad)?;
                    let fetch = parsed.section.as_deref().map(fetch_of);
                    let section = match &fetch {
                        None => None,
                        Some(f) => Some(section_of(f).ok_or_else(bad)?),
                    };
                    let bytes = self
                        .section(stored, section.as_ref())
                        .await
                        .map_err(|e| self.unavailable(e))?;
                    let bytes = match parsed.partial {
                        None => &bytes[..],
                        Some((offset, length)) => {
                            let start = offset.min(bytes.len());
                            let end = length.map_or(bytes.len(), |l| (start + l).min(bytes.len()));
                            &bytes[start..end]
                        }
                    };
                    message.extend_from_slice(bytes);
                }
            }
            if message.len() > limit {
                return Err(Done::no(format!(
                    "[TOOBIG] The message would exceed {limit} bytes"
                )));
            }
        }
        Ok(message)
    }
}

/// A FETCH of `section` (a URL's SECTION: `1.MIME`, `HEADER`, `2.TEXT` ...), for the parser
/// to read as a BODY section with [`section_of`].
fn fetch_of(section: &str) -> String {
    format!("x FETCH 1 BODY[{section}]\r\n")
}

/// The BODY section of a [`fetch_of`] command.
fn section_of(command: &str) -> Option<imap_codec::imap_types::fetch::Section<'_>> {
    let (_, parsed) = CommandCodec::default().decode(command.as_bytes()).ok()?;
    let CommandBody::Fetch {
        macro_or_item_names,
        ..
    } = parsed.body
    else {
        return None;
    };
    let MacroOrMessageDataItemNames::MessageDataItemNames(items) = macro_or_item_names else {
        return None;
    };
    match items.into_iter().next()? {
        MessageDataItemName::BodyExt { section, .. } => section,
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_a_catenate_append() {
        let cat = parse(
            b"a1 APPEND Drafts (\\Seen) CATENATE (TEXT {7}\r\nHello\r\n URL \"/INBOX;UIDVALIDITY=9/;UID=3/;SECTION=1\" URL /Sent/;UID=2)\r\n",
        )
        .unwrap();
        assert_eq!(cat.stand_in, b"a1 APPEND Drafts (\\Seen) {0}\r\n\r\n");
        assert_eq!(
            cat.parts,
            [
                CatPart::Text(b"Hello\r\n".to_vec()),
                CatPart::Url("/INBOX;UIDVALIDITY=9/;UID=3/;SECTION=1".into()),
                CatPart::Url("/Sent/;UID=2".into()),
            ]
        );
        assert!(parse(b"a1 APPEND INBOX {3}\r\nabc\r\n").is_none());
        assert!(parse(b"a1 APPEND INBOX CATENATE (JUNK x)\r\n").is_none());
    }

    #[test]
    fn reads_urls() {
        assert_eq!(
            parse_url(
                "imap://alice@mx.example/%ED%9A%8C%EC%9D%98;UIDVALIDITY=5/;UID=7/;SECTION=1.MIME/;PARTIAL=0.10"
            ),
            Some(MessageUrl {
                mailbox: "회의".into(),
                uidvalidity: Some(5),
                uid: 7,
                section: Some("1.MIME".into()),
                partial: Some((0, Some(10))),
            })
        );
        assert_eq!(parse_url("/INBOX/;UID=0"), None);
        assert_eq!(parse_url("INBOX/;UID=1"), None);
        assert!(section_of(&fetch_of("1.MIME")).is_some());
        assert!(section_of(&fetch_of("HEADER")).is_some());
        assert!(section_of(&fetch_of("no such")).is_none());
    }
}
