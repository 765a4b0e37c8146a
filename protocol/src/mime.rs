//! Small pieces of MIME (RFC 2045) for the messages the server writes itself.

use base64::Engine;

/// `bytes` in base64, in lines of 76 characters joined by CRLF (RFC 2045 §6.8).
pub fn base64_lines(bytes: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    encoded
        .as_bytes()
        .chunks(76)
        .map(|c| std::str::from_utf8(c).unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\r\n")
}

#[cfg(test)]
mod tests {
    #[test]
    fn lines_are_76_characters() {
        let text = super::base64_lines(&[0u8; 200]);
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines[0].len(), 76);
        assert!(lines.iter().all(|l| l.len() <= 76));
        assert_eq!(lines.concat().len(), 268);
    }
}
