//! Messages on the wire (RFC 1939 §3): lines starting with "." get one more, every line ends
//! with CRLF, and ".CRLF" ends the response. TOP sends the header section, the blank line
//! and the first n body lines.

/// Dot-stuffs a stored message, optionally stopping after `body_lines` lines of its body.
#[derive(Debug, Clone)]
pub struct MessageWriter {
    at_line_start: bool,
    /// The current line holds nothing yet but (possibly) CR.
    line_empty: bool,
    in_header: bool,
    /// Body lines still to send; `None` = all.
    body_lines_left: Option<u64>,
    done: bool,
    /// Bytes of the stored message processed so far.
    consumed: u64,
}

impl MessageWriter {
    pub fn new(body_lines: Option<u64>) -> Self {
        Self {
            at_line_start: true,
            line_empty: true,
            in_header: true,
            body_lines_left: body_lines,
            done: false,
            consumed: 0,
        }
    }

    /// Stuffs `chunk` into `out`; true once TOP's limit is reached (send nothing more).
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) -> bool {
        if self.done {
            return true;
        }
        if !self.in_header && self.body_lines_left == Some(0) {
            self.done = true;
            return true;
        }
        for &b in chunk {
            self.consumed += 1;
            if self.at_line_start && b == b'.' {
                out.push(b'.');
            }
            out.push(b);
            self.at_line_start = b == b'\n';
            if b == b'\n' {
                if self.in_header {
                    // The blank line ends the header section.
                    self.in_header = !self.line_empty;
                } else if let Some(left) = &mut self.body_lines_left {
                    *left = left.saturating_sub(1);
                }
                self.line_empty = true;
                if !self.in_header && self.body_lines_left == Some(0) {
                    self.done = true;
                    return true;
                }
            } else if b != b'\r' {
                self.line_empty = false;
            }
        }
        false
    }

    /// Ends the response: a CRLF if the message did not end with one, then ".CRLF".
    pub fn finish(&self, out: &mut Vec<u8>) {
        if !self.at_line_start {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b".\r\n");
    }

    /// True when all `size` bytes of the message were sent (RETR, or a TOP that reached
    /// the end).
    pub fn sent_whole(&self, size: u64) -> bool {
        self.consumed >= size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(message: &[u8], lines: Option<u64>, chunk: usize) -> (String, bool) {
        let size = message.len() as u64;
        let mut w = MessageWriter::new(lines);
        let mut out = Vec::new();
        for piece in message.chunks(chunk) {
            if w.push(piece, &mut out) {
                break;
            }
        }
        w.finish(&mut out);
        (String::from_utf8(out).unwrap(), w.sent_whole(size))
    }

    const MSG: &[u8] = b"Subject: x\r\nFrom: a@b\r\n\r\nline 1\r\n.dot\r\n\r\nline 4\r\n";

    #[test]
    fn stuffs_leading_dots() {
        let (out, whole) = run(MSG, None, 5);
        assert_eq!(
            out,
            "Subject: x\r\nFrom: a@b\r\n\r\nline 1\r\n..dot\r\n\r\nline 4\r\n.\r\n"
        );
        assert!(whole);
    }

    #[test]
    fn top_sends_headers_and_n_body_lines() {
        assert_eq!(
            run(MSG, Some(0), 3).0,
            "Subject: x\r\nFrom: a@b\r\n\r\n.\r\n"
        );
        let (out, whole) = run(MSG, Some(2), 7);
        assert_eq!(
            out,
            "Subject: x\r\nFrom: a@b\r\n\r\nline 1\r\n..dot\r\n.\r\n"
        );
        assert!(!whole);
        let (_, whole) = run(MSG, Some(100), 64);
        assert!(
            whole,
            "TOP with more lines than the body sends the whole message"
        );
        let (_, whole) = run(MSG, Some(4), 64);
        assert!(
            whole,
            "TOP with exactly the body's lines sends the whole message"
        );
    }

    #[test]
    fn adds_a_final_crlf() {
        assert_eq!(
            run(b"Subject: x\r\n\r\nno newline", None, 4).0,
            "Subject: x\r\n\r\nno newline\r\n.\r\n"
        );
    }
}
