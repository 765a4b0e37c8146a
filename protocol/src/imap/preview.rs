//! PREVIEW (RFC 8970): a short plain-text rendering of the start of a message, for a client's
//! message list.

use mail_parser::MessageParser;

/// At most this many characters (RFC 8970 §2 allows 256).
const MAX_PREVIEW_CHARS: usize = 200;

/// The preview of a whole message: its first text part (HTML rendered as text), quoted lines
/// (`>`) left out, white space collapsed, cut at [`MAX_PREVIEW_CHARS`]. Empty for a message
/// without text (RFC 8970 §3 keeps `NIL` for a preview not made yet, which never happens
/// here: it is made when asked).
pub fn preview(message: &[u8]) -> String {
    let Some(parsed) = MessageParser::default().parse(message) else {
        return String::new();
    };
    let Some(text) = parsed.body_text(0) else {
        return String::new();
    };
    let mut out = String::new();
    let mut count = 0;
    for line in text.lines().filter(|l| !l.trim_start().starts_with('>')) {
        for word in line.split_whitespace() {
            // Control characters would break the client's list.
            let word: String = word.chars().filter(|c| !c.is_control()).collect();
            if word.is_empty() {
                continue;
            }
            let needed = word.chars().count() + usize::from(!out.is_empty());
            if count + needed > MAX_PREVIEW_CHARS {
                let room = MAX_PREVIEW_CHARS.saturating_sub(count + usize::from(!out.is_empty()));
                if room > 0 {
                    if !out.is_empty() {
                        out.push(' ');
                    }
                    out.extend(word.chars().take(room));
                }
                return out;
            }
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&word);
            count += needed;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previews_are_short_plain_text() {
        let plain = b"Subject: x\r\n\r\nHello  Bob,\r\n\r\n> quoted\r\nsee   you\r\n";
        assert_eq!(preview(plain), "Hello Bob, see you");
        let html = b"Subject: x\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>\xec\x95\x88\xeb\x85\x95 <b>world</b></p>\r\n";
        assert_eq!(preview(html), "안녕 world");
        let long = format!("Subject: x\r\n\r\n{}\r\n", "가나다라 ".repeat(100));
        let p = preview(long.as_bytes());
        // 40 words of 4 and the spaces between them: 199 characters, the next word cut off.
        assert_eq!(p.chars().count(), 199);
        let one_word = format!("Subject: x\r\n\r\n{}\r\n", "가".repeat(300));
        assert_eq!(
            preview(one_word.as_bytes()).chars().count(),
            MAX_PREVIEW_CHARS
        );
        assert!(p.starts_with("가나다라 가나다라"));
        assert_eq!(preview(b"Subject: x\r\n\r\n"), "");
    }
}
