//! BINARY (RFC 3516, part of IMAP4rev2): a body part with its Content-Transfer-Encoding
//! undone, so a client gets an attachment's bytes without decoding base64 itself.

use std::num::NonZeroU32;

use mail_parser::MessageParser;
use mail_parser::decoders::base64::base64_decode;
use mail_parser::decoders::quoted_printable::quoted_printable_decode;

use super::bodystructure::locate;
use super::wire;

/// Why a part cannot be decoded (RFC 3516 §4.3: `NO [UNKNOWN-CTE]`).
#[derive(Debug, PartialEq, Eq)]
pub(super) enum BinaryError {
    NoSuchPart,
    UnknownEncoding(String),
}

/// `BINARY[path]` of a message: the whole message for an empty path, else the part's body
/// decoded from base64 or quoted-printable (7bit, 8bit and binary as they are).
pub(super) fn section(blob: &[u8], path: &[NonZeroU32]) -> Result<Vec<u8>, BinaryError> {
    if path.is_empty() {
        return Ok(blob.to_vec());
    }
    let message = MessageParser::default()
        .parse(blob)
        .ok_or(BinaryError::NoSuchPart)?;
    let part = locate(&message, path).ok_or(BinaryError::NoSuchPart)?;
    let header = part.raw.get(part.header.clone()).unwrap_or_default();
    let body = part.raw.get(part.body.clone()).unwrap_or_default();
    let encoding = wire::fields(header)
        .into_iter()
        .rev()
        .find(|(name, _)| name.eq_ignore_ascii_case(b"Content-Transfer-Encoding"))
        .map(|(_, value)| String::from_utf8_lossy(&value).trim().to_ascii_lowercase())
        .unwrap_or_default();
    match encoding.as_str() {
        "" | "7bit" | "8bit" | "binary" => Ok(body.to_vec()),
        // A broken encoding decodes to what can be read rather than failing the fetch.
        "base64" => Ok(base64_decode(body).unwrap_or_default()),
        "quoted-printable" => Ok(quoted_printable_decode(body).unwrap_or_else(|| body.to_vec())),
        other => Err(BinaryError::UnknownEncoding(other.to_string())),
    }
}

/// Writes `data` as IMAP sends binary data: a literal8 (`~{n}`, RFC 3516 §4.2) when it has
/// a NUL, a plain literal otherwise.
pub(super) fn literal(out: &mut Vec<u8>, data: &[u8]) {
    if data.contains(&0) {
        out.push(b'~');
    }
    wire::literal(out, data);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &[u32]) -> Vec<NonZeroU32> {
        p.iter().map(|&n| NonZeroU32::new(n).unwrap()).collect()
    }

    const MESSAGE: &[u8] = b"From: a@x\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
caf=C3=A9 =\r\nsoft\r\n\
--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n\
AAECAwQ=\r\n\
--b\r\nContent-Type: application/x-odd\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin\r\n\
--b--\r\n";

    #[test]
    fn parts_are_decoded() {
        assert_eq!(
            section(MESSAGE, &path(&[1])).unwrap(),
            "café soft".as_bytes()
        );
        assert_eq!(section(MESSAGE, &path(&[2])).unwrap(), [0, 1, 2, 3, 4]);
        assert_eq!(
            section(MESSAGE, &path(&[3])),
            Err(BinaryError::UnknownEncoding("x-uuencode".into()))
        );
        assert_eq!(section(MESSAGE, &path(&[9])), Err(BinaryError::NoSuchPart));
        assert_eq!(section(MESSAGE, &[]).unwrap(), MESSAGE);
        let mut out = Vec::new();
        literal(&mut out, &[0, 1]);
        assert_eq!(out, b"~{2}\r\n\x00\x01");
    }
}
