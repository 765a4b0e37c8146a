//! The MIME structure of a message, parsed once at delivery (mail-parser) and cached in the
//! index as JSON, so IMAP can answer BODYSTRUCTURE and fetch numbered parts with ranged
//! reads instead of parsing the body again.

use mail_parser::{Message, MessageParser, MimeHeaders, PartType};
use serde::{Deserialize, Serialize};

/// Messages up to this size are parsed at delivery; larger ones are parsed on demand.
pub const STRUCTURE_PARSE_LIMIT: u64 = 8 * 1024 * 1024;

/// One MIME part. Offsets are byte positions in the stored blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MimePart {
    /// Lowercase `type/subtype`; `text/plain` when the part declares none (RFC 2045 §5.2).
    pub content_type: String,
    pub header_start: u32,
    pub body_start: u32,
    pub end: u32,
    /// The children of a multipart.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<MimePart>,
    /// The root part of an encapsulated message/rfc822.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Box<MimePart>>,
}

/// Parses `raw` and returns its structure as JSON, or `None` when it does not parse.
pub fn structure_json(raw: &[u8]) -> Option<String> {
    let message = MessageParser::default().parse(raw)?;
    let root = part(&message, 0, 0)?;
    serde_json::to_string(&root).ok()
}

/// Nested parts deeper than this are not described (a defence against crafted messages).
const MAX_DEPTH: usize = 32;

fn part(message: &Message<'_>, id: u32, depth: usize) -> Option<MimePart> {
    let p = message.part(id)?;
    let content_type = p
        .content_type()
        .map(|ct| match ct.subtype() {
            Some(sub) => format!("{}/{}", ct.ctype(), sub),
            None => ct.ctype().to_string(),
        })
        .unwrap_or_else(|| "text/plain".to_string())
        .to_ascii_lowercase();
    let mut out = MimePart {
        content_type,
        header_start: p.offset_header,
        body_start: p.offset_body,
        end: p.offset_end,
        parts: Vec::new(),
        message: None,
    };
    if depth >= MAX_DEPTH {
        return Some(out);
    }
    match &p.body {
        PartType::Multipart(children) => {
            out.parts = children
                .iter()
                .filter_map(|&child| part(message, child, depth + 1))
                .collect();
        }
        PartType::Message(inner) => {
            out.message = part(inner, 0, depth + 1).map(Box::new);
        }
        _ => {}
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_nested_parts_with_offsets_into_the_blob() {
        let raw = b"Subject: outer\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\n\
--b1\r\nContent-Type: text/plain\r\n\r\nhello\r\n\
--b1\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\ninner body\r\n\
--b1--\r\n";
        let root: MimePart = serde_json::from_str(&structure_json(raw).unwrap()).unwrap();
        assert_eq!(root.content_type, "multipart/mixed");
        assert_eq!(root.parts.len(), 2);
        let text = &root.parts[0];
        assert_eq!(text.content_type, "text/plain");
        assert_eq!(&raw[text.body_start as usize..text.end as usize], b"hello");
        let rfc822 = &root.parts[1];
        assert_eq!(rfc822.content_type, "message/rfc822");
        let inner = rfc822.message.as_ref().unwrap();
        let inner_header = &raw[inner.header_start as usize..inner.body_start as usize];
        assert!(
            inner_header.starts_with(b"Subject: inner"),
            "{:?}",
            String::from_utf8_lossy(inner_header)
        );
    }

    #[test]
    fn a_message_without_content_type_is_text_plain() {
        let root: MimePart =
            serde_json::from_str(&structure_json(b"Subject: x\r\n\r\nbody\r\n").unwrap()).unwrap();
        assert_eq!(root.content_type, "text/plain");
        assert!(root.parts.is_empty());
    }
}
