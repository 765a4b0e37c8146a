//! BODY and BODYSTRUCTURE (RFC 3501 §7.4.2), from the message parsed with mail-parser:
//! nested multiparts, message/rfc822 with its ENVELOPE, and (for BODYSTRUCTURE) the
//! extension data: MD5, disposition, language, location.

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

#[cfg(test)]
mod tests {
    use super::*;

    fn structure(raw: &[u8]) -> String {
        let mut out = Vec::new();
        write(&mut out, raw, true);
        String::from_utf8(out).unwrap()
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
