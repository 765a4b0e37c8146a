//! Message data as it crosses the wire.
//!
//! [`DotDecoder`] undoes DATA's dot-stuffing (RFC 5321 §4.5.2) and finds the end marker;
//! [`LineEndNormalizer`] does the line-ending part alone for BDAT chunks. Both store a bare
//! LF as CRLF. The end of DATA is only `<CRLF>.<CRLF>` exactly as received: a dot line
//! reached through a bare LF, or ended by one, is message content — this closes the SMTP
//! smuggling hole (CVE-2023-51766 and kin), where two servers disagree on where a message ends.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a line; `crlf` tells whether the previous line ended with a real CRLF.
    LineStart {
        crlf: bool,
    },
    Middle,
    /// Saw CR, not yet output.
    Cr,
    /// Saw a dot at the start of a line.
    Dot {
        crlf: bool,
    },
    /// Saw dot, CR at the start of a line.
    DotCr {
        crlf: bool,
    },
}

#[derive(Debug, Clone)]
pub struct DotDecoder {
    state: State,
}

impl Default for DotDecoder {
    fn default() -> Self {
        // The DATA command's own CRLF starts the first line.
        Self {
            state: State::LineStart { crlf: true },
        }
    }
}

impl DotDecoder {
    /// Decodes `input` into `out`. Returns `Some(n)` when the end marker was found, `n`
    /// being the bytes of `input` consumed through the marker; `None` when all of `input`
    /// was consumed and the message continues.
    pub fn decode(&mut self, input: &[u8], out: &mut Vec<u8>) -> Option<usize> {
        for (i, &b) in input.iter().enumerate() {
            if self.step(b, out) {
                return Some(i + 1);
            }
        }
        None
    }

    /// One byte; true at the end of the message.
    fn step(&mut self, b: u8, out: &mut Vec<u8>) -> bool {
        self.state = match (self.state, b) {
            (State::LineStart { crlf }, b'.') => State::Dot { crlf },
            (State::LineStart { .. } | State::Middle, b'\r') => State::Cr,
            (State::LineStart { .. } | State::Middle, b'\n') => {
                out.extend_from_slice(b"\r\n");
                State::LineStart { crlf: false }
            }
            (State::LineStart { .. } | State::Middle, _) => {
                out.push(b);
                State::Middle
            }
            (State::Cr, b'\n') => {
                out.extend_from_slice(b"\r\n");
                State::LineStart { crlf: true }
            }
            (State::Cr, b'\r') => {
                out.push(b'\r');
                State::Cr
            }
            (State::Cr, _) => {
                out.extend_from_slice(&[b'\r', b]);
                State::Middle
            }
            (State::Dot { crlf }, b'\r') => State::DotCr { crlf },
            // "<LF>.<LF>" or "<CRLF>.<LF>": not the end; keep the line as content.
            (State::Dot { .. }, b'\n') => {
                out.extend_from_slice(b".\r\n");
                State::LineStart { crlf: false }
            }
            // A leading dot of any other line is stuffing: drop it.
            (State::Dot { .. }, _) => {
                out.push(b);
                State::Middle
            }
            (State::DotCr { crlf: true }, b'\n') => return true,
            (State::DotCr { crlf: false }, b'\n') => {
                out.extend_from_slice(b".\r\n");
                State::LineStart { crlf: true }
            }
            // Dot, CR, then something else: the dot was stuffing; the CR is pending.
            (State::DotCr { .. }, _) => {
                self.state = State::Cr;
                return self.step(b, out);
            }
        };
        false
    }
}

/// Bare LF to CRLF for BDAT chunks, across chunk boundaries.
#[derive(Debug, Clone, Default)]
pub struct LineEndNormalizer {
    after_cr: bool,
}

impl LineEndNormalizer {
    pub fn normalize(&mut self, input: &[u8], out: &mut Vec<u8>) {
        for &b in input {
            if b == b'\n' && !self.after_cr {
                out.push(b'\r');
            }
            out.push(b);
            self.after_cr = b == b'\r';
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(chunks: &[&[u8]]) -> (Vec<u8>, Option<usize>) {
        let mut d = DotDecoder::default();
        let mut out = Vec::new();
        let mut end = None;
        for chunk in chunks {
            end = d.decode(chunk, &mut out);
            if end.is_some() {
                break;
            }
        }
        (out, end)
    }

    #[test]
    fn unstuffs_dots_and_finds_the_end() {
        let (out, end) =
            decode_all(&[b"Subject: x\r\n\r\n..hidden\r\n.x\r\nlast\r\n.\r\nQUIT\r\n"]);
        assert_eq!(out, b"Subject: x\r\n\r\n.hidden\r\nx\r\nlast\r\n");
        assert_eq!(end, Some(37));
    }

    #[test]
    fn an_empty_message_ends_at_once() {
        assert_eq!(decode_all(&[b".\r\n"]), (vec![], Some(3)));
    }

    #[test]
    fn the_end_marker_may_be_split_across_reads() {
        let (out, end) = decode_all(&[b"a\r", b"\n", b".", b"\r", b"\n"]);
        assert_eq!(out, b"a\r\n");
        assert_eq!(end, Some(1));
    }

    #[test]
    fn bare_lf_is_stored_as_crlf_and_never_ends_the_message() {
        let (out, end) = decode_all(&[b"a\nb\n.\nc\r\n.\nd\n.\r\ne\r\n.\r\n"]);
        assert_eq!(out, b"a\r\nb\r\n.\r\nc\r\n.\r\nd\r\n.\r\ne\r\n");
        assert!(end.is_some());
    }

    #[test]
    fn lone_cr_is_kept() {
        let (out, _) = decode_all(&[b"a\rb\r\r\n.\r\n"]);
        assert_eq!(out, b"a\rb\r\r\n");
    }

    #[test]
    fn bdat_chunks_get_crlf_line_ends() {
        let mut n = LineEndNormalizer::default();
        let mut out = Vec::new();
        n.normalize(b"a\nb\r", &mut out);
        n.normalize(b"\nc\n", &mut out);
        assert_eq!(out, b"a\r\nb\r\nc\r\n");
    }
}
