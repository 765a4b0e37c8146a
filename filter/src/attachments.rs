//! The attachment policy: executables and scripts are refused by their declared name and
//! content type *and* by their content (PE, ELF, Mach-O magic; Office macros), in the
//! message, in attached messages, and inside ZIP archives one level deep.
//!
//! Names are read the way a mail client shows them: mail-parser decodes RFC 2231
//! (`filename*=`) and RFC 2047 (`=?UTF-8?B?...?=`) names; trailing dots and spaces, which
//! Windows drops, are dropped; the last extension decides (`invoice.pdf.exe` is an `.exe`);
//! a name with a bidirectional override (which shows `exe.pdf` as `fdp.exe`) is refused.

use std::collections::HashSet;

use mail_parser::{Message, MessageParser, MimeHeaders, PartType};

use crate::config::AttachmentsConfig;
use crate::zip;

/// Extensions refused by default: programs, scripts, shortcuts, installers, disk images
/// (close to Outlook's own list of blocked attachments).
pub const DEFAULT_BLOCKED_EXTENSIONS: &[&str] = &[
    "ade",
    "adp",
    "app",
    "appx",
    "appxbundle",
    "application",
    "bas",
    "bat",
    "cab",
    "chm",
    "cmd",
    "com",
    "cpl",
    "dll",
    "exe",
    "gadget",
    "hta",
    "inf",
    "ins",
    "iso",
    "img",
    "isp",
    "jar",
    "jnlp",
    "js",
    "jse",
    "ksh",
    "lnk",
    "msc",
    "msi",
    "msix",
    "msp",
    "mst",
    "pif",
    "ps1",
    "ps1xml",
    "ps2",
    "psc1",
    "psm1",
    "reg",
    "scf",
    "scr",
    "sct",
    "sh",
    "shb",
    "shs",
    "sys",
    "url",
    "vb",
    "vbe",
    "vbs",
    "vhd",
    "vhdx",
    "ws",
    "wsc",
    "wsf",
    "wsh",
    "xll",
];

/// Office formats that carry macros, refused when `block_macros` is on.
pub const MACRO_EXTENSIONS: &[&str] = &[
    "docm", "dotm", "xlsm", "xltm", "xlam", "pptm", "potm", "ppam", "sldm",
];

/// Content types refused by default.
pub const DEFAULT_BLOCKED_TYPES: &[&str] = &[
    "application/x-msdownload",
    "application/x-msdos-program",
    "application/x-dosexec",
    "application/x-executable",
    "application/vnd.microsoft.portable-executable",
    "application/x-msi",
    "application/x-ms-installer",
    "application/java-archive",
    "application/x-java-archive",
    "application/x-sh",
    "application/x-csh",
    "application/x-bat",
    "application/hta",
    "application/x-ms-shortcut",
    "application/vnd.ms-office.vbaproject",
];

/// Attached messages looked into, nested.
const MAX_DEPTH: usize = 4;

/// Why a message is refused: the file and what it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    /// The name as the recipient would see it (`archive.zip/setup.exe` for an archive's).
    pub file: String,
    pub reason: String,
}

/// The policy, built once from `[attachments]`.
#[derive(Debug, Clone)]
pub struct AttachmentPolicy {
    extensions: HashSet<String>,
    types: HashSet<String>,
    sniff_executables: bool,
    block_macros: bool,
    inspect_archives: bool,
}

impl AttachmentPolicy {
    pub fn new(config: &AttachmentsConfig) -> Self {
        let lower = |list: &[String]| -> HashSet<String> {
            list.iter()
                .map(|s| s.trim().trim_start_matches('.').to_ascii_lowercase())
                .collect()
        };
        let mut extensions = lower(&config.block);
        if config.block_macros {
            extensions.extend(MACRO_EXTENSIONS.iter().map(|s| s.to_string()));
        }
        Self {
            extensions,
            types: lower(&config.block_types),
            sniff_executables: config.sniff_executables,
            block_macros: config.block_macros,
            inspect_archives: config.inspect_archives,
        }
    }

    /// The first attachment of `raw` (a whole message) the policy refuses, if any.
    pub fn check(&self, raw: &[u8]) -> Option<Blocked> {
        let message = MessageParser::default().parse(raw)?;
        self.check_message(&message, 0)
    }

    fn check_message(&self, message: &Message<'_>, depth: usize) -> Option<Blocked> {
        for (index, part) in message.parts.iter().enumerate() {
            let name = part.attachment_name().map(str::to_string);
            let content_type = part
                .content_type()
                .map(|ct| match ct.subtype() {
                    Some(sub) => format!("{}/{}", ct.ctype(), sub),
                    None => ct.ctype().to_string(),
                })
                .unwrap_or_default()
                .to_ascii_lowercase();
            let file = name
                .clone()
                .unwrap_or_else(|| format!("part {} ({content_type})", index + 1));
            let blocked = |reason: String| {
                Some(Blocked {
                    file: file.clone(),
                    reason,
                })
            };
            if let Some(name) = &name
                && let Some(reason) = self.name_problem(name)
            {
                return blocked(reason);
            }
            if self.types.contains(&content_type) {
                return blocked(format!("content type {content_type}"));
            }
            let contents = match &part.body {
                PartType::Multipart(_) => continue,
                PartType::Message(inner) => {
                    if depth < MAX_DEPTH
                        && let Some(found) = self.check_message(inner, depth + 1)
                    {
                        return Some(found);
                    }
                    continue;
                }
                // Text parts are not programs: their bytes were decoded as text.
                PartType::Text(_) | PartType::Html(_) => continue,
                PartType::Binary(b) | PartType::InlineBinary(b) => &b[..],
            };
            if let Some(reason) = self.content_problem(contents) {
                return blocked(reason);
            }
            if self.inspect_archives
                && zip::is_zip(contents)
                && let Some(found) = self.archive_problem(&file, contents)
            {
                return Some(found);
            }
        }
        None
    }

    /// What is wrong with a file of this name, if anything.
    pub fn name_problem(&self, name: &str) -> Option<String> {
        if name.chars().any(is_bidi_control) {
            return Some("a file name with a bidirectional override".into());
        }
        let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
        // Windows drops trailing dots and spaces: `setup.exe. ` runs as `setup.exe`.
        let base = base.trim_end_matches(|c: char| c == '.' || c.is_whitespace() || c == '\0');
        let ext = base.rsplit_once('.')?.1.trim().to_lowercase();
        self.extensions
            .contains(&ext)
            .then(|| format!("blocked file type .{ext}"))
    }

    /// What the bytes of a file are, when the policy refuses that.
    fn content_problem(&self, data: &[u8]) -> Option<String> {
        if self.sniff_executables
            && let Some(kind) = executable_kind(data)
        {
            return Some(format!("{kind} (by its content)"));
        }
        if self.block_macros && has_ole_macros(data) {
            return Some("an Office document with macros".into());
        }
        None
    }

    /// The first file in the ZIP `data` (attached as `file`) the policy refuses.
    fn archive_problem(&self, file: &str, data: &[u8]) -> Option<Blocked> {
        let entries = zip::entries(data)?;
        let inner = |name: &str, reason: String| Blocked {
            file: format!("{file}/{name}"),
            reason,
        };
        if self.block_macros
            && entries.iter().any(|e| {
                e.name.eq_ignore_ascii_case("word/vbaProject.bin")
                    || e.name.to_ascii_lowercase().ends_with("/vbaproject.bin")
            })
        {
            return Some(Blocked {
                file: file.to_string(),
                reason: "an Office document with macros".into(),
            });
        }
        for entry in &entries {
            if let Some(reason) = self.name_problem(&entry.name) {
                return Some(inner(&entry.name, format!("{reason} in an archive")));
            }
            if let Some(reason) = self.content_problem(&entry.head) {
                return Some(inner(&entry.name, format!("{reason} in an archive")));
            }
        }
        None
    }
}

/// U+200E/F, U+202A–E, U+2066–9: characters that reorder how a name is shown.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// The kind of executable `data` is, by its magic number.
pub fn executable_kind(data: &[u8]) -> Option<&'static str> {
    if data.starts_with(b"MZ") {
        // The PE header's offset is at 0x3c; a DOS stub alone is an executable too.
        let pe = data
            .get(0x3c..0x40)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .and_then(|at| data.get(at..at.checked_add(4)?))
            .is_some_and(|sig| sig == b"PE\0\0");
        if pe || data.len() >= 64 {
            return Some("a Windows executable");
        }
    }
    if data.starts_with(b"\x7fELF") {
        return Some("an ELF executable");
    }
    const MACHO: [[u8; 4]; 5] = [
        [0xfe, 0xed, 0xfa, 0xce],
        [0xfe, 0xed, 0xfa, 0xcf],
        [0xce, 0xfa, 0xed, 0xfe],
        [0xcf, 0xfa, 0xed, 0xfe],
        [0xca, 0xfe, 0xba, 0xbe],
    ];
    if MACHO.iter().any(|m| data.starts_with(m)) {
        return Some("a Mach-O executable");
    }
    None
}

/// An OLE compound file (legacy Office) with a VBA project in it.
pub fn has_ole_macros(data: &[u8]) -> bool {
    const OLE: &[u8] = &[0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1];
    if !data.starts_with(OLE) {
        return false;
    }
    // Directory entry names are UTF-16LE: `_VBA_PROJECT` (the project stream) or `Macros`
    // (Word's storage for it).
    let utf16 = |s: &str| -> Vec<u8> { s.encode_utf16().flat_map(u16::to_le_bytes).collect() };
    let needles = [utf16("_VBA_PROJECT"), utf16("Macros")];
    needles
        .iter()
        .any(|n| data.windows(n.len()).any(|w| w == &n[..]))
}

#[cfg(test)]
mod tests;
