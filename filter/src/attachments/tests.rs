use base64::Engine;

use super::*;
use crate::zip::tests::build as build_zip;

fn policy() -> AttachmentPolicy {
    AttachmentPolicy::new(&AttachmentsConfig::default())
}

/// A message with one base64 attachment, `disposition` being the header's parameters.
fn message(content_type: &str, disposition: &str, data: &[u8]) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(data);
    format!(
        "From: a@example.org\r\nTo: b@example.org\r\nSubject: t\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n\
         --b1\r\nContent-Type: {content_type}\r\nContent-Transfer-Encoding: base64\r\n\
         Content-Disposition: attachment; {disposition}\r\n\r\n{b64}\r\n--b1--\r\n"
    )
    .into_bytes()
}

fn pe() -> Vec<u8> {
    let mut pe = vec![0u8; 256];
    pe[..2].copy_from_slice(b"MZ");
    pe[0x3c] = 0x80;
    pe[0x80..0x84].copy_from_slice(b"PE\0\0");
    pe
}

const PDF: &[u8] =
    b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

#[test]
fn refuses_executables_by_name() {
    let p = policy();
    for disposition in [
        "filename=\"setup.exe\"",
        "filename=\"invoice.pdf.exe\"",
        "filename=\"invoice.PDF.ExE\"",
        "filename=\"setup.exe.\"",
        "filename=\"setup.exe . \"",
        "filename=\"run.js\"",
        "filename=\"C:\\\\tmp\\\\x.scr\"",
        // RFC 2231: "report.exe" percent-encoded, with a charset.
        "filename*=UTF-8''%72%65%70%6F%72%74%2E%65%78%65",
        // RFC 2231 continuations.
        "filename*0=\"inv\"; filename*1=\"oice.bat\"",
        // RFC 2047 in a quoted string, as Outlook writes it: "계약서.pdf.exe".
        "filename=\"=?UTF-8?B?6rOE7JW97IScLnBkZi5leGU=?=\"",
    ] {
        let found = p.check(&message("application/octet-stream", disposition, b"hello"));
        assert!(found.is_some(), "{disposition} was let through");
    }
    let found = p
        .check(&message(
            "application/pdf",
            "filename=\"=?UTF-8?B?6rOE7JW97IScLnBkZi5leGU=?=\"",
            PDF,
        ))
        .unwrap();
    assert_eq!(found.file, "계약서.pdf.exe");
    assert_eq!(found.reason, "blocked file type .exe");
}

#[test]
fn refuses_a_bidi_override() {
    let found = policy()
        .check(&message(
            "application/pdf",
            "filename*=UTF-8''invoice%E2%80%AEfdp.exe",
            b"x",
        ))
        .unwrap();
    assert!(found.reason.contains("bidirectional"), "{found:?}");
}

#[test]
fn refuses_by_content_type() {
    let found = policy()
        .check(&message(
            "application/x-msdownload",
            "filename=\"a.bin\"",
            b"x",
        ))
        .unwrap();
    assert_eq!(found.reason, "content type application/x-msdownload");
}

#[test]
fn refuses_executables_by_content() {
    let p = policy();
    let found = p
        .check(&message(
            "application/pdf",
            "filename=\"invoice.pdf\"",
            &pe(),
        ))
        .unwrap();
    assert_eq!(found.file, "invoice.pdf");
    assert_eq!(found.reason, "a Windows executable (by its content)");
    let elf = b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0";
    assert!(
        p.check(&message("image/png", "filename=\"a.png\"", elf))
            .is_some()
    );
    let macho = b"\xcf\xfa\xed\xfe\x07\0\0\x01";
    assert!(
        p.check(&message(
            "application/octet-stream",
            "filename=\"a\"",
            macho
        ))
        .is_some()
    );
}

#[test]
fn looks_into_zip_archives() {
    let p = policy();
    for deflate in [false, true] {
        let zip = build_zip(&[("readme.txt", b"hi"), ("docs/setup.exe", b"x")], deflate);
        let found = p
            .check(&message("application/zip", "filename=\"docs.zip\"", &zip))
            .unwrap();
        assert_eq!(found.file, "docs.zip/docs/setup.exe");
        // A renamed program inside an archive is found by its content.
        let zip = build_zip(&[("photo.jpg", &pe())], deflate);
        let found = p
            .check(&message("application/zip", "filename=\"photos.zip\"", &zip))
            .unwrap();
        assert_eq!(found.file, "photos.zip/photo.jpg");
        // ... whatever the archive's own name.
        let found = p.check(&message(
            "application/octet-stream",
            "filename=\"x.dat\"",
            &zip,
        ));
        assert!(found.is_some());
    }
    let clean = build_zip(&[("a.pdf", PDF), ("b.png", PNG)], true);
    assert_eq!(
        p.check(&message("application/zip", "filename=\"ok.zip\"", &clean)),
        None
    );
}

#[test]
fn refuses_office_macros() {
    let p = policy();
    let docm = build_zip(
        &[
            ("[Content_Types].xml", b"<x/>"),
            ("word/vbaProject.bin", b"\xd0\xcf"),
        ],
        true,
    );
    let found = p
        .check(&message(
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "filename=\"report.docx\"",
            &docm,
        ))
        .unwrap();
    assert_eq!(found.reason, "an Office document with macros");
    assert!(
        p.check(&message(
            "application/octet-stream",
            "filename=\"book.xlsm\"",
            b"PK"
        ))
        .is_some()
    );
    let mut ole = vec![0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1];
    ole.extend(vec![0u8; 100]);
    let clean_doc = message("application/msword", "filename=\"a.doc\"", &ole);
    assert_eq!(p.check(&clean_doc), None);
    ole.extend("_VBA_PROJECT".encode_utf16().flat_map(u16::to_le_bytes));
    assert!(
        p.check(&message("application/msword", "filename=\"a.doc\"", &ole))
            .is_some()
    );
    // Off by configuration.
    let off = AttachmentPolicy::new(&AttachmentsConfig {
        block_macros: false,
        ..Default::default()
    });
    assert_eq!(
        off.check(&message("application/msword", "filename=\"a.doc\"", &ole)),
        None
    );
}

#[test]
fn lets_documents_and_images_through() {
    let p = policy();
    assert_eq!(
        p.check(&message("application/pdf", "filename=\"invoice.pdf\"", PDF)),
        None
    );
    assert_eq!(
        p.check(&message("image/png", "filename=\"logo.png\"", PNG)),
        None
    );
    assert_eq!(
        p.check(b"From: a@b\r\nSubject: plain\r\n\r\nMZ is how this line starts\r\n"),
        None
    );
}

#[test]
fn finds_attachments_in_attached_messages() {
    let inner = message("application/octet-stream", "filename=\"tool.exe\"", b"x");
    let mut outer = b"From: a@b\r\nSubject: fwd\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"o\"\r\n\r\n--o\r\nContent-Type: message/rfc822\r\n\r\n".to_vec();
    outer.extend_from_slice(&inner);
    outer.extend_from_slice(b"\r\n--o--\r\n");
    let found = policy().check(&outer).unwrap();
    assert_eq!(found.file, "tool.exe");
}

#[test]
fn the_list_is_configurable() {
    let custom = AttachmentPolicy::new(&AttachmentsConfig {
        block: vec![".PDF".into()],
        ..Default::default()
    });
    assert!(
        custom
            .check(&message("application/pdf", "filename=\"a.pdf\"", PDF))
            .is_some()
    );
    assert_eq!(
        custom.check(&message(
            "application/octet-stream",
            "filename=\"a.exe\"",
            b"x"
        )),
        None
    );
}
