//! RFC 5256 §2.1 base subject: what SORT SUBJECT compares and THREAD groups by.
//!
//! The field value is decoded (RFC 2047), its whitespace collapsed and case-folded, then the
//! reply and forward markers are taken off: `(fwd)` trailers (step 2), `Re:`, `Fw:`, `Fwd:`
//! leaders with their `[blob]`s (step 3), a leading `[blob]` when something is left after it
//! (step 4), all of that repeated (step 5), and a `[fwd: ...]` wrapper, after which it starts
//! again (step 6).

use mail_parser::HeaderValue;
use mail_parser::parsers::MessageStream;

/// A base subject and whether the original subject was a reply or a forward.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct BaseSubject {
    /// Case-folded (Unicode lowercase), so that equal base subjects compare equal as strings.
    pub text: String,
    /// RFC 5256 §4 step 5: "its original subject contains a subj-refwd part and/or a "(fwd)"
    /// subj-trailer"; a `[fwd: ...]` wrapper counts too.
    pub reply: bool,
}

/// The base subject of a raw Subject field value, case-folded for comparison.
pub(super) fn base_subject(raw: &[u8]) -> String {
    extract(raw).text
}

/// A field value with its encoded words (RFC 2047) decoded; raw 8-bit text is read as UTF-8.
pub(super) fn decoded(value: &[u8]) -> String {
    // mail-parser reads a value up to the end of its line.
    let mut line = Vec::with_capacity(value.len() + 1);
    line.extend_from_slice(value);
    line.push(b'\n');
    match MessageStream::new(&line).parse_unstructured() {
        HeaderValue::Text(text) => text.into_owned(),
        HeaderValue::Empty => String::new(),
        _ => String::from_utf8_lossy(value).into_owned(),
    }
}

/// The base subject of a raw Subject field value and whether it was a reply or forward.
pub(super) fn extract(raw: &[u8]) -> BaseSubject {
    // Step 1: decoded; tabs, line breaks and runs of spaces become one space. Folding the
    // case first makes the markers below match whatever case they are written in.
    let mut folded = String::with_capacity(raw.len());
    let mut space = false;
    for ch in decoded(raw).chars() {
        if matches!(ch, ' ' | '\t' | '\r' | '\n') {
            space = true;
            continue;
        }
        if space {
            folded.push(' ');
            space = false;
        }
        folded.extend(ch.to_lowercase());
    }
    let mut s = folded.as_str();
    let mut reply = false;
    loop {
        // Step 2: subj-trailer = "(fwd)" / WSP, as often as it is there.
        loop {
            if let Some(rest) = s.strip_suffix(' ') {
                s = rest;
            } else if let Some(rest) = s.strip_suffix("(fwd)") {
                s = rest;
                reply = true;
            } else {
                break;
            }
        }
        // Steps 3 to 5: subj-leader (WSP, or blobs then subj-refwd), and a subj-blob when
        // what is left is not empty, until neither is there.
        loop {
            if let Some(rest) = s.strip_prefix(' ') {
                s = rest;
            } else if let Some(end) = leader(s.as_bytes()) {
                s = &s[end..];
                reply = true;
            } else if let Some(end) = blob(s.as_bytes())
                && end < s.len()
            {
                s = &s[end..];
            } else {
                break;
            }
        }
        // Step 6: subj-fwd-hdr "[fwd:" ... subj-fwd-trl "]", then again from step 2.
        if s.len() >= "[fwd:]".len() && s.starts_with("[fwd:") && s.ends_with(']') {
            s = &s["[fwd:".len()..s.len() - 1];
            reply = true;
            continue;
        }
        break;
    }
    BaseSubject {
        text: s.to_string(),
        reply,
    }
}

/// `subj-blob = "[" *BLOBCHAR "]" *WSP` at the start: its length. BLOBCHAR is any octet but
/// the brackets, so the end is never inside a UTF-8 sequence.
fn blob(s: &[u8]) -> Option<usize> {
    if s.first() != Some(&b'[') {
        return None;
    }
    let close = 1 + s[1..].iter().position(|&b| b == b'[' || b == b']')?;
    if s[close] != b']' {
        return None;
    }
    Some(close + 1 + s[close + 1..].iter().take_while(|&&b| b == b' ').count())
}

/// `subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"` at the start: its length.
fn refwd(s: &[u8]) -> Option<usize> {
    let mut i = if s.starts_with(b"re") || (s.starts_with(b"fw") && !s.starts_with(b"fwd")) {
        2
    } else if s.starts_with(b"fwd") {
        3
    } else {
        return None;
    };
    i += s[i..].iter().take_while(|&&b| b == b' ').count();
    if let Some(len) = blob(&s[i..]) {
        i += len;
    }
    (s.get(i) == Some(&b':')).then_some(i + 1)
}

/// `*subj-blob subj-refwd` (the subj-leader other than WSP) at the start: its length.
fn leader(s: &[u8]) -> Option<usize> {
    let mut i = 0;
    loop {
        if let Some(len) = refwd(&s[i..]) {
            return Some(i + len);
        }
        i += blob(&s[i..])?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_subjects() {
        // (raw Subject value, base subject, reply or forward)
        let cases: &[(&str, &str, bool)] = &[
            ("hello", "hello", false),
            ("Re: Re: [list] Fwd: hello (fwd)", "hello", true),
            ("[fwd: hello]", "hello", true),
            ("[Fwd: Re: [list] hi] (FWD)", "hi", true),
            ("[fwd: [fwd: nested]]", "nested", true),
            // subj-refwd may carry a blob and spaces before its colon.
            ("Re[2]: x", "x", true),
            ("RE [3] : x", "x", true),
            ("Fw: x", "x", true),
            ("FWD:x", "x", true),
            ("fwd : x", "x", true),
            // Not a reply prefix: the colon does not follow.
            ("Reply: x", "reply: x", false),
            ("Regarding the plan", "regarding the plan", false),
            ("[PATCH] subject", "subject", false),
            ("Re: [PATCH 1/2] fix it", "fix it", true),
            ("[a] Re: [b] Fwd: c", "c", true),
            // A blob is kept when nothing would be left without it.
            ("[a] [b]", "[b]", false),
            ("Re: [a]", "[a]", true),
            ("Re: [list]   ", "[list]", true),
            ("[unterminated blob", "[unterminated blob", false),
            ("", "", false),
            ("   ", "", false),
            ("Re:", "", true),
            ("Re: (fwd)", "", true),
            ("\tRe:\t\thello\t  world ", "hello world", true),
            ("hello (FWD) (fwd)", "hello", true),
            ("fwd", "fwd", false),
            ("RE: FWD: Mixed CASE", "mixed case", true),
            ("=?ISO-8859-1?Q?Caf=E9?= au lait", "café au lait", false),
            ("Re: =?UTF-8?Q?Stra=C3=9Fe?=", "straße", true),
            // Encoded words next to each other join without the space between them.
            ("=?UTF-8?Q?Re:_?= =?UTF-8?Q?hi?=", "hi", true),
            // "Re: [공지] 회의 일정" as a UTF-8 and as an EUC-KR encoded word.
            (
                "=?UTF-8?B?UmU6IFvqs7Xsp4BdIO2ajOydmCDsnbzsoJU=?=",
                "회의 일정",
                true,
            ),
            (
                "=?EUC-KR?B?UmU6IFuw+MH2XSDIuMDHIMDPwaQ=?=",
                "회의 일정",
                true,
            ),
            (
                "=?euc-kr?B?UmU6IFuw+MH2XSDIuMDHIMDPwaQ=?= (fwd)",
                "회의 일정",
                true,
            ),
            // Raw UTF-8 (an SMTPUTF8 message).
            ("Re: [공지] 회의 일정", "회의 일정", true),
        ];
        for (raw, base, reply) in cases {
            let got = extract(raw.as_bytes());
            assert_eq!(
                (got.text.as_str(), got.reply),
                (*base, *reply),
                "for {raw:?}"
            );
            assert_eq!(base_subject(raw.as_bytes()), *base);
        }
    }

    #[test]
    fn markers_never_panic() {
        for raw in [
            "[",
            "]",
            "[]",
            "[fwd:",
            "[fwd:]",
            "[fwd: ]",
            "re",
            "re[",
            "re[]",
            "re[]:",
            "(fwd",
            "fwd)",
            "[[]]",
            "[fwd:[]]",
            "Re: [é",
            "[é]é",
            "Re:\u{0130}",
        ] {
            let _ = extract(raw.as_bytes());
        }
        assert_eq!(base_subject(b"[fwd:]"), "");
        assert_eq!(base_subject(b"re[]:"), "");
        assert_eq!(base_subject(b"[]"), "[]");
    }
}
