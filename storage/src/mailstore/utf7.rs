//! Modified UTF-7 (RFC 3501 §5.1.3), the mailbox-name encoding of IMAP4rev1 clients. The
//! store keeps names in UTF-8 (what IMAP4rev2 and UTF8=ACCEPT clients, Sieve `fileinto`
//! and Dovecot's `mailbox_list_utf8` use); a rev1 session converts at its edge.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/// A name as a rev1 client sends it: printable ASCII but `&` as itself, `&-` for `&`, and
/// anything else as `&` + modified BASE64 of UTF-16BE + `-`.
pub fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending: Vec<u16> = Vec::new();
    let flush = |pending: &mut Vec<u16>, out: &mut String| {
        if pending.is_empty() {
            return;
        }
        out.push('&');
        let bytes: Vec<u8> = pending.iter().flat_map(|u| u.to_be_bytes()).collect();
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
            for i in 0..=chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
        }
        out.push('-');
        pending.clear();
    };
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut pending, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut units = [0u16; 2];
            pending.extend_from_slice(c.encode_utf16(&mut units));
        }
    }
    flush(&mut pending, &mut out);
    out
}

/// The UTF-8 name a rev1 client meant; `None` when `name` is not valid modified UTF-7
/// (then it is taken as it is: some clients send raw UTF-8).
pub fn decode(name: &str) -> Option<String> {
    if !name.contains('&') {
        return name.is_ascii().then(|| name.to_string());
    }
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(at) = rest.find('&') {
        let plain = &rest[..at];
        if !plain.bytes().all(|b| (0x20..0x7f).contains(&b)) {
            return None;
        }
        out.push_str(plain);
        let after = &rest[at + 1..];
        let end = after.find('-')?;
        let encoded = &after[..end];
        if encoded.is_empty() {
            out.push('&');
        } else {
            let mut bits = 0u32;
            let mut nbits = 0;
            let mut bytes = Vec::new();
            for b in encoded.bytes() {
                let v = ALPHABET.iter().position(|&a| a == b)? as u32;
                bits = (bits << 6) | v;
                nbits += 6;
                if nbits >= 8 {
                    nbits -= 8;
                    bytes.push((bits >> nbits) as u8);
                    bits &= (1 << nbits) - 1;
                }
            }
            // Leftover bits must be zero padding, and the bytes whole UTF-16 units.
            if bits != 0 || bytes.len() % 2 != 0 {
                return None;
            }
            let units: Vec<u16> = bytes
                .chunks(2)
                .map(|p| u16::from_be_bytes([p[0], p[1]]))
                .collect();
            let text = String::from_utf16(&units).ok()?;
            // RFC 3501 §5.1.3: printable ASCII is never encoded.
            if text.chars().any(|c| (' '..='~').contains(&c)) {
                return None;
            }
            out.push_str(&text);
        }
        rest = &after[end + 1..];
    }
    if !rest.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return None;
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        // (UTF-8, modified UTF-7)
        let cases = [
            ("INBOX", "INBOX"),
            ("회의", "&1ozHWA-"),
            ("Archive/2026/회의 자료", "Archive/2026/&1ozHWA- &x5C4zA-"),
            ("R&D", "R&-D"),
            ("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
            ("Entwürfe", "Entw&APw-rfe"),
            ("😀", "&2D3eAA-"),
        ];
        for (utf8, utf7) in cases {
            assert_eq!(encode(utf8), utf7, "{utf8}");
            assert_eq!(decode(utf7).as_deref(), Some(utf8), "{utf7}");
        }
    }

    #[test]
    fn invalid_forms_are_not_decoded() {
        for bad in ["&", "A&B", "&1ozHWA", "&AGE-", "회의", "&Jjo!-"] {
            assert_eq!(decode(bad), None, "{bad}");
        }
    }
}
