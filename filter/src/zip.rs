//! Just enough of the ZIP format (APPNOTE.TXT §4.3) to see what an archive holds: the
//! names in its central directory and, for stored and deflated entries, the first bytes of
//! each file. Bounded everywhere: a crafted archive costs at most [`MAX_ENTRIES`] names and
//! [`SNIFF_BYTES`] of inflated data per entry.

use std::io::Read;

/// Entries looked at in one archive.
pub const MAX_ENTRIES: usize = 10_000;
/// Bytes of each entry inflated for content sniffing.
pub const SNIFF_BYTES: usize = 64 * 1024;

const EOCD: u32 = 0x0605_4b50;
const CENTRAL: u32 = 0x0201_4b50;
const LOCAL: u32 = 0x0403_4b50;

/// One file in an archive.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    /// The first bytes of its contents (empty when encrypted or in an unknown method).
    pub head: Vec<u8>,
    pub encrypted: bool,
}

/// True if `data` starts like a ZIP archive.
pub fn is_zip(data: &[u8]) -> bool {
    data.starts_with(b"PK\x03\x04") || data.starts_with(b"PK\x05\x06")
}

fn u16_at(data: &[u8], at: usize) -> Option<usize> {
    let b = data.get(at..at + 2)?;
    Some(u16::from_le_bytes([b[0], b[1]]) as usize)
}

fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    let b = data.get(at..at + 4)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// The entries of the archive `data`, or `None` if it has no readable central directory.
pub fn entries(data: &[u8]) -> Option<Vec<Entry>> {
    // The end-of-central-directory record is in the last 22 + 65,535 bytes.
    let search_from = data.len().saturating_sub(22 + 65_535);
    let eocd = (search_from..data.len().saturating_sub(21))
        .rev()
        .find(|&i| u32_at(data, i) == Some(EOCD))?;
    let count = u16_at(data, eocd + 10)?;
    let mut at = u32_at(data, eocd + 16)? as usize;
    let mut out = Vec::new();
    for _ in 0..count.min(MAX_ENTRIES) {
        if u32_at(data, at) != Some(CENTRAL) {
            break;
        }
        let flags = u16_at(data, at + 8)?;
        let method = u16_at(data, at + 10)?;
        let compressed = u32_at(data, at + 20)? as usize;
        let name_len = u16_at(data, at + 28)?;
        let extra_len = u16_at(data, at + 30)?;
        let comment_len = u16_at(data, at + 32)?;
        let local = u32_at(data, at + 42)? as usize;
        let name_bytes = data.get(at + 46..at + 46 + name_len)?;
        let name = String::from_utf8_lossy(name_bytes).into_owned();
        let encrypted = flags & 1 == 1;
        let head = if encrypted {
            Vec::new()
        } else {
            contents_head(data, local, method, compressed).unwrap_or_default()
        };
        out.push(Entry {
            name,
            head,
            encrypted,
        });
        at += 46 + name_len + extra_len + comment_len;
    }
    Some(out)
}

/// The first [`SNIFF_BYTES`] of the entry whose local header is at `local`.
fn contents_head(data: &[u8], local: usize, method: usize, compressed: usize) -> Option<Vec<u8>> {
    if u32_at(data, local)? != LOCAL {
        return None;
    }
    let start = local + 30 + u16_at(data, local + 26)? + u16_at(data, local + 28)?;
    let end = start.checked_add(compressed)?.min(data.len());
    let raw = data.get(start..end)?;
    match method {
        0 => Some(raw[..raw.len().min(SNIFF_BYTES)].to_vec()),
        8 => {
            let mut head = Vec::new();
            let _ = flate2::read::DeflateDecoder::new(raw)
                .take(SNIFF_BYTES as u64)
                .read_to_end(&mut head);
            Some(head)
        }
        _ => None,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::io::Write;

    /// A ZIP with the given (name, contents) entries, deflated when `deflate`.
    pub(crate) fn build(files: &[(&str, &[u8])], deflate: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let mut central = Vec::new();
        for (name, contents) in files {
            let (method, data) = if deflate {
                let mut e =
                    flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
                e.write_all(contents).unwrap();
                (8u16, e.finish().unwrap())
            } else {
                (0u16, contents.to_vec())
            };
            let offset = out.len() as u32;
            out.extend_from_slice(&LOCAL.to_le_bytes());
            out.extend_from_slice(&[20, 0, 0, 0]);
            out.extend_from_slice(&method.to_le_bytes());
            out.extend_from_slice(&[0; 8]); // time, date, crc (unchecked here)
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            out.extend_from_slice(&(contents.len() as u32).to_le_bytes());
            out.extend_from_slice(&(name.len() as u16).to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes());
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(&data);
            central.extend_from_slice(&CENTRAL.to_le_bytes());
            central.extend_from_slice(&[20, 0, 20, 0, 0, 0]);
            central.extend_from_slice(&method.to_le_bytes());
            central.extend_from_slice(&[0; 8]);
            central.extend_from_slice(&(data.len() as u32).to_le_bytes());
            central.extend_from_slice(&(contents.len() as u32).to_le_bytes());
            central.extend_from_slice(&(name.len() as u16).to_le_bytes());
            central.extend_from_slice(&[0; 12]); // extra, comment, disk, attrs
            central.extend_from_slice(&offset.to_le_bytes());
            central.extend_from_slice(name.as_bytes());
        }
        let cd_offset = out.len() as u32;
        out.extend_from_slice(&central);
        out.extend_from_slice(&EOCD.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&(files.len() as u16).to_le_bytes());
        out.extend_from_slice(&(files.len() as u16).to_le_bytes());
        out.extend_from_slice(&(central.len() as u32).to_le_bytes());
        out.extend_from_slice(&cd_offset.to_le_bytes());
        out.extend_from_slice(&[0, 0]);
        out
    }

    #[test]
    fn reads_names_and_contents() {
        for deflate in [false, true] {
            let zip = build(
                &[("a.txt", b"hello"), ("dir/b.exe", b"MZ\x90\x00")],
                deflate,
            );
            assert!(is_zip(&zip));
            let entries = entries(&zip).unwrap();
            assert_eq!(entries.len(), 2);
            assert_eq!(entries[0].name, "a.txt");
            assert_eq!(entries[0].head, b"hello");
            assert_eq!(entries[1].name, "dir/b.exe");
            assert_eq!(entries[1].head, b"MZ\x90\x00");
        }
    }

    #[test]
    fn survives_garbage() {
        assert!(entries(b"PK\x03\x04garbage").is_none());
        let mut zip = build(&[("a", b"x")], true);
        let n = zip.len();
        zip[n - 6] = 0xff; // central directory offset points nowhere
        assert_eq!(entries(&zip).map(|e| e.len()), Some(0));
    }
}
