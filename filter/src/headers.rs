//! Header changes a filter asks for (add, remove, a new Subject), made safe and applied to
//! a message's header section. Values come from a filter daemon that read peer-controlled
//! mail, so nothing in them may start a new header field or break the section.

/// Longest header value kept from a filter, in characters.
const MAX_VALUE: usize = 4096;

/// Headers to add (in order, above the existing ones) and to remove (every field of the
/// name, case-insensitively).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderEdit {
    pub add: Vec<(String, String)>,
    pub remove: Vec<String>,
}

impl HeaderEdit {
    pub fn is_empty(&self) -> bool {
        self.add.is_empty() && self.remove.is_empty()
    }
}

/// A field name as RFC 5322 §3.6.8 allows it (printable ASCII but `:`), or `None`.
pub fn clean_name(name: &str) -> Option<String> {
    let ok = !name.is_empty()
        && name.len() <= 76
        && name.bytes().all(|b| (33..=126).contains(&b) && b != b':');
    ok.then(|| name.to_string())
}

/// A value as one folded field body: line breaks become `CRLF TAB` folds, other control
/// characters go, empty lines (which would end the header section) go.
pub fn clean_value(value: &str) -> String {
    let lines: Vec<String> = value
        .split('\n')
        .map(|line| {
            line.chars()
                .map(|c| if c == '\t' { ' ' } else { c })
                .filter(|c| !c.is_control())
                .collect::<String>()
                .trim()
                .to_string()
        })
        .filter(|line| !line.is_empty())
        .collect();
    let joined = lines.join("\r\n\t");
    match joined.char_indices().nth(MAX_VALUE) {
        Some((cut, _)) => joined[..cut].to_string(),
        None => joined,
    }
}

/// One header field of a section: its name and its whole text (with folds and CRLF).
struct Field<'a> {
    name: &'a [u8],
    raw: &'a [u8],
}

/// Splits a header section (ending with its empty line) into fields; the empty line is not
/// a field.
fn fields(section: &[u8]) -> Vec<Field<'_>> {
    let mut out: Vec<Field<'_>> = Vec::new();
    let mut start = 0;
    let mut pos = 0;
    while pos < section.len() {
        let end = section[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|i| pos + i + 1)
            .unwrap_or(section.len());
        let line = &section[pos..end];
        if line == b"\r\n" || line == b"\n" {
            break;
        }
        let continuation = matches!(line.first(), Some(b' ' | b'\t'));
        if !continuation && pos > start {
            out.push(field(&section[start..pos]));
            start = pos;
        }
        pos = end;
    }
    if pos > start {
        out.push(field(&section[start..pos]));
    }
    out
}

fn field(raw: &[u8]) -> Field<'_> {
    let name_end = raw.iter().position(|&b| b == b':').unwrap_or(raw.len());
    let name = raw[..name_end].trim_ascii();
    Field { name, raw }
}

/// A new header section: `edit.add` on top, then the old fields without the removed ones,
/// with the Subject replaced by `subject` if given, then the empty line. `complete` says
/// whether `section` is the whole header section; if not, it is only prepended to.
pub fn apply(section: &[u8], complete: bool, edit: &HeaderEdit, subject: Option<&str>) -> Vec<u8> {
    let mut out = Vec::with_capacity(section.len() + 512);
    for (name, value) in &edit.add {
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    if !complete {
        out.extend_from_slice(section);
        return out;
    }
    let removed = |name: &[u8]| {
        edit.remove
            .iter()
            .any(|r| r.as_bytes().eq_ignore_ascii_case(name))
    };
    let mut subject_written = false;
    for field in fields(section) {
        if field.name.eq_ignore_ascii_case(b"subject")
            && let Some(subject) = subject
        {
            if !subject_written {
                out.extend_from_slice(format!("Subject: {}\r\n", encode_word(subject)).as_bytes());
                subject_written = true;
            }
            continue;
        }
        if removed(field.name) {
            continue;
        }
        out.extend_from_slice(field.raw);
        if !field.raw.ends_with(b"\n") {
            out.extend_from_slice(b"\r\n");
        }
    }
    if let Some(subject) = subject
        && !subject_written
    {
        out.extend_from_slice(format!("Subject: {}\r\n", encode_word(subject)).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// ASCII as is; anything else as RFC 2047 encoded words (UTF-8, B), each under 76 chars.
pub fn encode_word(text: &str) -> String {
    if text.is_ascii() {
        return text.to_string();
    }
    use base64::Engine;
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in text.chars() {
        // 45 bytes of UTF-8 make 60 base64 characters: the word stays under 75.
        if chunk.len() + c.len_utf8() > 45 {
            words.push(std::mem::take(&mut chunk));
        }
        chunk.push(c);
    }
    if !chunk.is_empty() {
        words.push(chunk);
    }
    words
        .iter()
        .map(|w| {
            format!(
                "=?UTF-8?B?{}?=",
                base64::engine::general_purpose::STANDARD.encode(w)
            )
        })
        .collect::<Vec<_>>()
        .join("\r\n\t")
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECTION: &[u8] = b"Received: from x\r\n\tby y\r\nX-Spam: yes\r\nSubject: hello\r\n there\r\nx-spam: again\r\nFrom: a@b\r\n\r\n";

    #[test]
    fn adds_removes_and_rewrites() {
        let edit = HeaderEdit {
            add: vec![("X-Spam-Status".into(), "Yes, score=7.00".into())],
            remove: vec!["X-Spam".into()],
        };
        let out = apply(SECTION, true, &edit, Some("*** SPAM *** hello there"));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "X-Spam-Status: Yes, score=7.00\r\nReceived: from x\r\n\tby y\r\nSubject: *** SPAM *** hello there\r\nFrom: a@b\r\n\r\n"
        );
    }

    #[test]
    fn an_incomplete_section_is_only_prepended_to() {
        let edit = HeaderEdit {
            add: vec![("X-A".into(), "1".into())],
            remove: vec!["From".into()],
        };
        let out = apply(b"From: a@b\r\nSubject: x", false, &edit, Some("y"));
        assert_eq!(out, b"X-A: 1\r\nFrom: a@b\r\nSubject: x");
    }

    #[test]
    fn values_cannot_start_fields() {
        assert_eq!(clean_value("a\r\nBcc: x\n\n\r\nb"), "a\r\n\tBcc: x\r\n\tb");
        assert_eq!(clean_value("a\u{0}b\u{7f}c"), "abc");
        assert_eq!(clean_name("X-Ok"), Some("X-Ok".into()));
        assert_eq!(clean_name("Bad Name"), None);
        assert_eq!(clean_name("A:B"), None);
        assert_eq!(clean_name(""), None);
    }

    #[test]
    fn korean_subjects_are_encoded() {
        let out = apply(
            b"Subject: x\r\n\r\n",
            true,
            &HeaderEdit::default(),
            Some("*** SPAM *** 안녕하세요"),
        );
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("Subject: =?UTF-8?B?"), "{text}");
        let raw = format!("{text}body");
        let parsed = mail_parser::MessageParser::default()
            .parse(raw.as_bytes())
            .unwrap();
        assert_eq!(parsed.subject(), Some("*** SPAM *** 안녕하세요"));
    }
}
