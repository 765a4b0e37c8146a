//! Incoming Authentication-Results fields that claim to come from us are forgeries
//! (RFC 8601 §5): they are removed before our own field is added.

/// The authserv-id of an Authentication-Results value (RFC 8601 §2.2): the first token,
/// after any comment, before `;` or a version number.
pub fn authserv_id_of(value: &[u8]) -> String {
    let text = String::from_utf8_lossy(value);
    let mut rest = text.trim_start();
    // Skip leading comments: "(comment) id; ...".
    while let Some(after) = rest.strip_prefix('(') {
        let mut depth = 1usize;
        let mut end = after.len();
        for (i, c) in after.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        rest = after[end.min(after.len())..].trim_start();
    }
    rest.split(|c: char| c == ';' || c == '(' || c.is_whitespace())
        .next()
        .unwrap_or("")
        .trim_matches('"')
        .to_ascii_lowercase()
}

/// `header` (a header section) without the Authentication-Results fields whose
/// authserv-id is `ours` (compared without case), and how many were removed.
pub fn strip_results_of(header: &[u8], ours: &str) -> (Vec<u8>, usize) {
    let ours = ours.to_ascii_lowercase();
    let mut kept = Vec::with_capacity(header.len());
    let mut removed = 0;
    for field in (Fields { rest: header }) {
        let forged = field_name(field).eq_ignore_ascii_case(b"Authentication-Results")
            && field
                .iter()
                .position(|&b| b == b':')
                .is_some_and(|colon| authserv_id_of(&field[colon + 1..]) == ours);
        if forged {
            removed += 1;
        } else {
            kept.extend_from_slice(field);
        }
    }
    (kept, removed)
}

/// The header section for storage: forged Authentication-Results removed (see
/// [`strip_results_of`]) and `ours` inserted below the trace fields this server put on top
/// (a leading `Return-Path` and the first `Received`), so that Return-Path stays first
/// (RFC 5321 §4.4). Returns the new section and how many forged fields were removed.
pub fn with_our_results(header: &[u8], authserv_id: &str, ours: &str) -> (Vec<u8>, usize) {
    let (kept, removed) = strip_results_of(header, authserv_id);
    let mut out = Vec::with_capacity(kept.len() + ours.len());
    let mut inserted = false;
    let mut seen_received = false;
    for field in (Fields { rest: &kept }) {
        if !inserted {
            let name = field_name(field);
            let ours_above = !seen_received
                && (name.eq_ignore_ascii_case(b"Return-Path")
                    || name.eq_ignore_ascii_case(b"Received"));
            if ours_above {
                seen_received |= name.eq_ignore_ascii_case(b"Received");
            } else {
                out.extend_from_slice(ours.as_bytes());
                inserted = true;
            }
        }
        out.extend_from_slice(field);
    }
    if !inserted {
        out.extend_from_slice(ours.as_bytes());
    }
    (out, removed)
}

fn field_name(field: &[u8]) -> &[u8] {
    field
        .iter()
        .position(|&b| b == b':')
        .map_or(&[][..], |colon| field[..colon].trim_ascii())
}

/// Header fields with their folded continuation lines and line ends; the empty line that
/// ends the section comes out as a field of its own.
struct Fields<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Fields<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rest.is_empty() {
            return None;
        }
        let mut end = 0;
        loop {
            match self.rest[end..].iter().position(|&b| b == b'\n') {
                Some(nl) => end += nl + 1,
                None => {
                    end = self.rest.len();
                    break;
                }
            }
            // RFC 5322 §2.2.3: a line starting with WSP continues the field. The empty
            // line never has continuations.
            let empty_line = end <= 2 && self.rest[..end].iter().all(|&b| b == b'\r' || b == b'\n');
            if empty_line || !matches!(self.rest.get(end), Some(b' ' | b'\t')) {
                break;
            }
        }
        let (field, rest) = self.rest.split_at(end);
        self.rest = rest;
        Some(field)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_authserv_id() {
        assert_eq!(
            authserv_id_of(b" mx.example.org; spf=pass"),
            "mx.example.org"
        );
        assert_eq!(
            authserv_id_of(b" (forged) MX.Example.org 1; none"),
            "mx.example.org"
        );
        assert_eq!(
            authserv_id_of(b"\r\n\tmx.example.org;\r\n\tdkim=pass"),
            "mx.example.org"
        );
    }

    #[test]
    fn ours_goes_below_our_trace_fields() {
        let header = b"Return-Path: <a@b.example>\r\nReceived: from x\r\n\tby mx\r\nReceived: from y\r\nAuthentication-Results: mx.example.org; spf=pass\r\nSubject: s\r\n\r\n";
        let (out, removed) = with_our_results(
            header,
            "mx.example.org",
            "Authentication-Results: mx.example.org; none\r\n",
        );
        assert_eq!(removed, 1);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "Return-Path: <a@b.example>\r\nReceived: from x\r\n\tby mx\r\n\
             Authentication-Results: mx.example.org; none\r\nReceived: from y\r\nSubject: s\r\n\r\n"
        );
    }

    #[test]
    fn removes_only_our_fields() {
        let header = b"Received: from a\r\n\tby b\r\nAuthentication-Results: mx.example.org;\r\n\tdkim=pass header.d=bank.example\r\n\
authentication-results: relay.other.example; spf=pass\r\nSubject: hi\r\n\r\n";
        let (kept, removed) = strip_results_of(header, "MX.example.org");
        assert_eq!(removed, 1);
        assert_eq!(
            String::from_utf8(kept).unwrap(),
            "Received: from a\r\n\tby b\r\nauthentication-results: relay.other.example; spf=pass\r\nSubject: hi\r\n\r\n"
        );
    }
}
