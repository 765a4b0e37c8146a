//! BODY and BODYSTRUCTURE (RFC 3501 §7.4.2), from the message parsed with mail-parser:
//! nested multiparts, message/rfc822 with its ENVELOPE, and (for BODYSTRUCTURE) the
//! extension data: MD5, disposition, language, location. Also the numbered parts of FETCH
//! BODY[1.2], BODY[1.MIME], BODY[2.HEADER.FIELDS (...)], BODY[2.TEXT].

use std::num::NonZeroU32;
use std::ops::Range;

use imap_codec::imap_types::core::{AString, Vec1};
use imap_codec::imap_types::fetch::Section;
use mail_parser::{HeaderValue, Message, MessageParser, MimeHeaders, PartType};

use super::wire;

/// Deeper nesting than this is described as an opaque part (a defence against crafted mail).
const MAX_DEPTH: usize = 32;

/// Appends `BODYSTRUCTURE (...)` (or `BODY (...)` without extension data) for `raw`.
pub(super) fn write(out: &mut Vec<u8>, raw: &[u8], extended: bool) {
    out.extend_from_slice(if extended {
        b"BODYSTRUCTURE "
    } else {
        b"BODY "
    });
    match MessageParser::default().parse(raw) {
        Some(message) => part(out, &message, 0, extended, 0),
        None => out.extend_from_slice(
            b"(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0)",
        ),
    }
}

fn quoted_upper_or_nil(out: &mut Vec<u8>, s: Option<&str>) {
    wire::nstring(out, s.map(str::as_bytes));
}

fn params(
    out: &mut Vec<u8>,
    attributes: Option<&[(std::borrow::Cow<'_, str>, std::borrow::Cow<'_, str>)]>,
) {
    match attributes {
        Some(list) if !list.is_empty() => {
            out.push(b'(');
            for (i, (name, value)) in list.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                wire::string(out, name.as_bytes());
                out.push(b' ');
                wire::string(out, value.as_bytes());
            }
            out.push(b')');
        }
        _ => out.extend_from_slice(b"NIL"),
    }
}

fn part(out: &mut Vec<u8>, message: &Message<'_>, id: u32, extended: bool, depth: usize) {
    let Some(p) = message.part(id) else {
        out.extend_from_slice(b"NIL");
        return;
    };
    let ct = p.content_type();
    let ctype = ct
        .map(|c| c.ctype().to_ascii_lowercase())
        .unwrap_or_else(|| "text".into());
    let subtype = ct
        .and_then(|c| c.subtype())
        .map(str::to_ascii_lowercase)
        .unwrap_or_else(|| "plain".into());
    let attributes: Option<Vec<(std::borrow::Cow<'_, str>, std::borrow::Cow<'_, str>)>> =
        ct.and_then(|c| c.attributes()).map(|a| {
            a.iter()
                .map(|at| (at.name.clone(), at.value.clone()))
                .collect()
        });
    let raw = message.raw_message.as_ref();
    let body = raw
        .get(p.offset_body as usize..p.offset_end as usize)
        .unwrap_or(b"");
    out.push(b'(');
    match &p.body {
        PartType::Multipart(children) if depth < MAX_DEPTH => {
            for &child in children {
                part(out, message, child, extended, depth + 1);
            }
            out.push(b' ');
            wire::string(out, subtype.as_bytes());
            if extended {
                out.push(b' ');
                params(out, attributes.as_deref());
                extension(out, p);
            }
        }
        _ => {
            wire::string(out, ctype.as_bytes());
            out.push(b' ');
            wire::string(out, subtype.as_bytes());
            out.push(b' ');
            if attributes.is_none() && ctype == "text" {
                out.extend_from_slice(b"(\"charset\" \"us-ascii\")");
            } else {
                params(out, attributes.as_deref());
            }
            out.push(b' ');
            quoted_upper_or_nil(out, p.content_id());
            out.push(b' ');
            quoted_upper_or_nil(out, p.content_description());
            out.push(b' ');
            let encoding = p
                .content_transfer_encoding()
                .map(str::to_ascii_lowercase)
                .unwrap_or_else(|| "7bit".into());
            wire::string(out, encoding.as_bytes());
            out.extend_from_slice(format!(" {}", body.len()).as_bytes());
            // Text lines: line ends, plus a last line without one.
            let lines = body.iter().filter(|&&b| b == b'\n').count()
                + usize::from(!body.is_empty() && !body.ends_with(b"\n"));
            match &p.body {
                PartType::Message(inner) if depth < MAX_DEPTH => {
                    out.push(b' ');
                    let ip = inner.parts.first();
                    let iraw = inner.raw_message.as_ref();
                    let header = ip
                        .and_then(|ip| iraw.get(ip.offset_header as usize..ip.offset_body as usize))
                        .unwrap_or(b"");
                    wire::envelope(out, header);
                    out.push(b' ');
                    part(out, inner, 0, extended, depth + 1);
                    out.extend_from_slice(format!(" {lines}").as_bytes());
                }
                _ if ctype == "text" => out.extend_from_slice(format!(" {lines}").as_bytes()),
                _ => {}
            }
            if extended {
                // body-fld-md5: Content-MD5 is not computed.
                out.extend_from_slice(b" NIL");
                extension(out, p);
            }
        }
    }
    out.push(b')');
}

/// Disposition, language and location (RFC 3501 body-ext-1part / body-ext-mpart tail).
fn extension(out: &mut Vec<u8>, p: &mail_parser::MessagePart<'_>) {
    out.push(b' ');
    match p.content_disposition() {
        Some(d) => {
            out.push(b'(');
            wire::string(out, d.ctype().as_bytes());
            out.push(b' ');
            let attrs: Option<Vec<_>> = d.attributes().map(|a| {
                a.iter()
                    .map(|at| (at.name.clone(), at.value.clone()))
                    .collect()
            });
            params(out, attrs.as_deref());
            out.push(b')');
        }
        None => out.extend_from_slice(b"NIL"),
    }
    out.push(b' ');
    match p.content_language() {
        HeaderValue::Text(t) => wire::string(out, t.as_bytes()),
        HeaderValue::TextList(list) if !list.is_empty() => {
            out.push(b'(');
            for (i, t) in list.iter().enumerate() {
                if i > 0 {
                    out.push(b' ');
                }
                wire::string(out, t.as_bytes());
            }
            out.push(b')');
        }
        _ => out.extend_from_slice(b"NIL"),
    }
    out.push(b' ');
    quoted_upper_or_nil(out, p.content_location());
}

/// The names of a HEADER.FIELDS list, as strings.
pub(super) fn field_names(list: &Vec1<AString<'_>>) -> Vec<String> {
    list.as_ref()
        .iter()
        .map(|n| String::from_utf8_lossy(n.as_ref()).into_owned())
        .collect()
}

/// A numbered part of a message (RFC 3501 §6.4.5): its body, its MIME header, or, for a
/// message/rfc822 part, the header (or some of its fields) or text of the encapsulated
/// message. `None` when there is no such part, or it is not a message for HEADER and TEXT.
pub(super) fn part_section(blob: &[u8], section: &Section<'_>) -> Option<Vec<u8>> {
    let message = MessageParser::default().parse(blob)?;
    let path = match section {
        Section::Part(p) | Section::Mime(p) => p,
        Section::Header(Some(p))
        | Section::HeaderFields(Some(p), _)
        | Section::HeaderFieldsNot(Some(p), _)
        | Section::Text(Some(p)) => p,
        _ => return None,
    };
    let part = locate(&message, path.0.as_ref())?;
    // RFC 3501 §6.4.5: HEADER, HEADER.FIELDS, HEADER.FIELDS.NOT and TEXT after a part number
    // are those of the message encapsulated in a message/rfc822 part, which is the part's
    // body: its header through the blank line, then the rest to the end of the part.
    let encapsulated = || part.encapsulated.map(|m| m.split_at(wire::header_len(m)));
    Some(match section {
        Section::Part(_) => part.raw.get(part.body.clone())?.to_vec(),
        Section::Mime(_) => part.raw.get(part.header.clone())?.to_vec(),
        Section::Header(_) => encapsulated()?.0.to_vec(),
        Section::HeaderFields(_, names) => {
            wire::header_fields(encapsulated()?.0, &field_names(names), false)
        }
        Section::HeaderFieldsNot(_, names) => {
            wire::header_fields(encapsulated()?.0, &field_names(names), true)
        }
        Section::Text(_) => encapsulated()?.1.to_vec(),
    })
}

/// Where a numbered part lies: the bytes its offsets refer to, its MIME header and its body,
/// and for a message/rfc822 part the encapsulated message.
pub(super) struct Located<'a> {
    pub raw: &'a [u8],
    pub header: Range<usize>,
    pub body: Range<usize>,
    encapsulated: Option<&'a [u8]>,
}

pub(super) fn locate<'a>(message: &'a Message<'a>, path: &[NonZeroU32]) -> Option<Located<'a>> {
    let mut msg = message;
    let mut id = 0usize;
    // Where the root part of `msg` ends. mail-parser ends an encapsulated message's root at
    // the last boundary of its multipart, without the epilogue; the message is all of the
    // body of the part that holds it.
    let mut root_end = msg.raw_message.len();
    let end = |msg: &Message<'_>, id: usize, root_end: usize| -> Option<usize> {
        Some(if id == 0 {
            root_end
        } else {
            msg.parts.get(id)?.offset_end as usize
        })
    };
    for (depth, n) in path.iter().enumerate() {
        if depth > 0
            && let PartType::Message(inner) = &msg.parts.get(id)?.body
        {
            // RFC 3501 §6.4.5: the parts of a message/rfc822 part are those of the
            // encapsulated message.
            let outer = msg.raw_message.as_ref();
            let inner_raw = inner.raw_message.as_ref();
            root_end = if std::ptr::eq(outer, inner_raw) {
                end(msg, id, root_end)?
            } else {
                // Decoded (a message/rfc822 part with a transfer encoding): its own bytes.
                inner_raw.len()
            };
            msg = inner;
            id = 0;
        }
        let n = NonZeroU32::get(*n) as usize;
        id = match &msg.parts.get(id)?.body {
            PartType::Multipart(children) => *children.get(n - 1)? as usize,
            // A part that is not multipart has the one part 1: itself.
            _ if n == 1 => id,
            _ => return None,
        };
    }
    let p = msg.parts.get(id)?;
    let (header, body) = (p.offset_header as usize, p.offset_body as usize);
    let body_end = end(msg, id, root_end)?;
    let raw = msg.raw_message.as_ref();
    if header > body || body > body_end || body_end > raw.len() {
        return None;
    }
    let encapsulated = match &p.body {
        PartType::Message(inner) if std::ptr::eq(raw, inner.raw_message.as_ref()) => {
            Some(&raw[body..body_end])
        }
        // Decoded (a message/rfc822 part with a transfer encoding): its own bytes.
        PartType::Message(inner) => Some(inner.raw_message.as_ref()),
        _ => None,
    };
    Some(Located {
        raw,
        header: header..body,
        body: body..body_end,
        encapsulated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn structure(raw: &[u8]) -> String {
        let mut out = Vec::new();
        write(&mut out, raw, true);
        String::from_utf8(out).unwrap()
    }

    /// A multipart message whose part 2 is a message/rfc822 with a multipart body and an
    /// epilogue, whose part 2.2 is message/rfc822 again.
    const NESTED: &[u8] = b"Subject: outer\r\nContent-Type: multipart/mixed; boundary=o\r\n\r\n\
--o\r\nContent-Type: text/plain\r\n\r\nfirst\r\n\
--o\r\nContent-Type: message/rfc822\r\nContent-Description: fwd\r\n\r\n\
Subject: inner\r\nFrom: x@y.test\r\nTo: a@b.test\r\nContent-Type: multipart/mixed; boundary=i\r\n\r\n\
inner preamble\r\n--i\r\nContent-Type: text/plain\r\n\r\ninner text\r\n\
--i\r\nContent-Type: message/rfc822\r\n\r\nSubject: deepest\r\nX-Tag: d\r\n\r\ndeep body\r\n\
--i--\r\ninner epilogue\r\n\r\n--o--\r\nouter epilogue\r\n";

    /// A top-level message/rfc822 whose encapsulated multipart has an epilogue (which
    /// mail-parser leaves out of the encapsulated message's root part).
    const TOP: &[u8] = b"Subject: wrapper\r\nContent-Type: message/rfc822\r\n\r\n\
Subject: inner\r\nFrom: x@y.test\r\nContent-Type: multipart/alternative; boundary=i\r\n\r\n\
--i\r\nContent-Type: text/plain\r\n\r\ninner text\r\n--i--\r\ninner epilogue\r\nline 2\r\n";

    fn fetch(raw: &[u8], section: &str) -> Option<String> {
        use imap_codec::decode::Decoder;
        // The section as a client sends it, parsed by imap-codec.
        let command = format!("a FETCH 1 BODY.PEEK[{section}]\r\n");
        let (_, parsed) = imap_codec::CommandCodec::default()
            .decode(command.as_bytes())
            .unwrap();
        let imap_codec::imap_types::command::CommandBody::Fetch {
            macro_or_item_names,
            ..
        } = parsed.body
        else {
            panic!("not a FETCH");
        };
        let imap_codec::imap_types::fetch::MacroOrMessageDataItemNames::MessageDataItemNames(items) =
            macro_or_item_names
        else {
            panic!("a macro");
        };
        let imap_codec::imap_types::fetch::MessageDataItemName::BodyExt {
            section: Some(section),
            ..
        } = &items[0]
        else {
            panic!("not a body section");
        };
        part_section(raw, section).map(|b| String::from_utf8(b).unwrap())
    }

    #[test]
    fn numbered_parts_and_encapsulated_messages() {
        let inner_header = "Subject: inner\r\nFrom: x@y.test\r\nTo: a@b.test\r\nContent-Type: multipart/mixed; boundary=i\r\n\r\n";
        let inner_text = "inner preamble\r\n--i\r\nContent-Type: text/plain\r\n\r\ninner text\r\n\
--i\r\nContent-Type: message/rfc822\r\n\r\nSubject: deepest\r\nX-Tag: d\r\n\r\ndeep body\r\n\
--i--\r\ninner epilogue\r\n";
        // (message, section, expected)
        let cases: &[(&[u8], &str, Option<String>)] = &[
            (NESTED, "1", Some("first".into())),
            (NESTED, "1.MIME", Some("Content-Type: text/plain\r\n\r\n".into())),
            (
                NESTED,
                "2.MIME",
                Some("Content-Type: message/rfc822\r\nContent-Description: fwd\r\n\r\n".into()),
            ),
            (NESTED, "2", Some(format!("{inner_header}{inner_text}"))),
            // RFC 3501 §6.4.5: HEADER and TEXT of a message/rfc822 part are those of the
            // encapsulated message; TEXT runs to the end of the part, epilogue included.
            (NESTED, "2.HEADER", Some(inner_header.into())),
            (NESTED, "2.TEXT", Some(inner_text.into())),
            (
                NESTED,
                "2.HEADER.FIELDS (SUBJECT to)",
                Some("Subject: inner\r\nTo: a@b.test\r\n\r\n".into()),
            ),
            (
                NESTED,
                "2.HEADER.FIELDS.NOT (Subject To Content-Type)",
                Some("From: x@y.test\r\n\r\n".into()),
            ),
            (NESTED, "2.1", Some("inner text".into())),
            (NESTED, "2.1.MIME", Some("Content-Type: text/plain\r\n\r\n".into())),
            (
                NESTED,
                "2.2.HEADER.FIELDS (X-TAG)",
                Some("X-Tag: d\r\n\r\n".into()),
            ),
            (
                NESTED,
                "2.2.HEADER",
                Some("Subject: deepest\r\nX-Tag: d\r\n\r\n".into()),
            ),
            (NESTED, "2.2.TEXT", Some("deep body".into())),
            (NESTED, "2.2.1", Some("deep body".into())),
            // HEADER and TEXT of a part that is not a message: nothing.
            (NESTED, "1.HEADER", None),
            (NESTED, "1.TEXT", None),
            (NESTED, "2.1.HEADER.FIELDS (SUBJECT)", None),
            (NESTED, "3", None),
            (NESTED, "2.3", None),
            (NESTED, "1.2", None),
            // A top-level message/rfc822: part 1 is the encapsulated message.
            (
                TOP,
                "1.HEADER.FIELDS (FROM)",
                Some("From: x@y.test\r\n\r\n".into()),
            ),
            (
                TOP,
                "1.TEXT",
                Some("--i\r\nContent-Type: text/plain\r\n\r\ninner text\r\n--i--\r\ninner epilogue\r\nline 2\r\n".into()),
            ),
            (TOP, "1.1", Some("inner text".into())),
        ];
        for (raw, section, expected) in cases {
            assert_eq!(fetch(raw, section), *expected, "BODY[{section}]");
        }
    }

    #[test]
    fn a_message_rfc822_part_with_a_transfer_encoding_is_read_decoded() {
        let raw = b"Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\nU3ViamVjdDogeA0KDQpoZWxsbw0K\r\n--o--\r\n";
        assert_eq!(fetch(raw, "1.1").as_deref(), Some("hello\r\n"));
        assert_eq!(
            fetch(raw, "1.HEADER").as_deref(),
            Some("Subject: x\r\n\r\n")
        );
        assert_eq!(fetch(raw, "1.TEXT").as_deref(), Some("hello\r\n"));
        assert_eq!(
            fetch(raw, "1").as_deref(),
            Some("U3ViamVjdDogeA0KDQpoZWxsbw0K")
        );
    }

    #[test]
    fn a_plain_text_message() {
        assert_eq!(
            structure(b"Subject: x\r\n\r\nhello\r\nworld\r\n"),
            "BODYSTRUCTURE (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 14 2 NIL NIL NIL NIL)"
        );
    }

    #[test]
    fn a_multipart_with_an_attachment_named_per_rfc_2231() {
        let raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhi\r\n--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA\r\n--b--\r\n";
        let s = structure(raw);
        assert!(
            s.starts_with(
                "BODYSTRUCTURE ((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 2 1"
            ),
            "{s}"
        );
        assert!(s.contains("(\"application\" \"pdf\" NIL NIL NIL \"base64\" 4 NIL (\"attachment\" (\"filename\" {12}\r\nrésumé.pdf)) NIL NIL) \"mixed\" (\"boundary\" \"b\")"), "{s}");
    }
}
