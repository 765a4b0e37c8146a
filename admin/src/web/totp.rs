//! TOTP (RFC 6238): HMAC-SHA1 over 30-second steps, 6 digits, with the RFC 4226 §5.3
//! dynamic truncation. Secrets are 20 random bytes, shown in base32 (RFC 4648) and as an
//! `otpauth://` URI in a QR code for the authenticator app.

use data_encoding::BASE32_NOPAD;
use rand::RngCore;
use ring::hmac;

/// RFC 6238 §4: the time step X.
pub const STEP_SECS: i64 = 30;

/// A new secret, base32 without padding (what authenticator apps expect).
pub fn new_secret() -> String {
    let mut raw = [0u8; 20];
    rand::rng().fill_bytes(&mut raw);
    BASE32_NOPAD.encode(&raw)
}

fn secret_bytes(secret: &str) -> Option<Vec<u8>> {
    let cleaned: String = secret
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '=')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    BASE32_NOPAD.decode(cleaned.as_bytes()).ok()
}

/// The code of time step `step`.
pub fn code_at(secret: &[u8], step: i64, digits: u32) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let mac = hmac::sign(&key, &step.to_be_bytes());
    let mac = mac.as_ref();
    // RFC 4226 §5.3: the low nibble of the last byte picks four bytes.
    let offset = usize::from(mac[mac.len() - 1] & 0x0f);
    let value = u32::from_be_bytes([
        mac[offset] & 0x7f,
        mac[offset + 1],
        mac[offset + 2],
        mac[offset + 3],
    ]);
    format!(
        "{:0width$}",
        value % 10u32.pow(digits),
        width = digits as usize
    )
}

/// The step a 6-digit `code` belongs to, looking one step back and one ahead of `now`
/// (RFC 6238 §5.2: allow for clock drift and transmission delay). The caller still claims
/// the step so that the code works once only.
pub fn matching_step(secret: &str, code: &str, now: i64) -> Option<i64> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let key = secret_bytes(secret)?;
    let current = now.div_euclid(STEP_SECS);
    [current - 1, current, current + 1]
        .into_iter()
        .find(|step| constant_time_eq(code_at(&key, *step, 6).as_bytes(), code.as_bytes()))
}

/// The URI authenticator apps read from the QR code (Key Uri Format).
pub fn otpauth_uri(issuer: &str, account: &str, secret: &str) -> String {
    let esc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    format!(
        "otpauth://totp/{}:{}?secret={secret}&issuer={}&algorithm=SHA1&digits=6&period=30",
        esc(issuer),
        esc(account),
        esc(issuer)
    )
}

/// The QR code of `text` as an inline SVG.
pub fn qr_svg(text: &str) -> String {
    match qrcode::QrCode::new(text.as_bytes()) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color>()
            .min_dimensions(200, 200)
            .build(),
        Err(_) => String::new(),
    }
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA1 rows (8 digits; the 6-digit codes are their last six).
    #[test]
    fn rfc6238_test_vectors() {
        let key = b"12345678901234567890";
        for (time, code) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(code_at(key, time / STEP_SECS, 8), code, "T = {time}");
            assert_eq!(code_at(key, time / STEP_SECS, 6), code[2..], "T = {time}");
        }
    }

    #[test]
    fn window_is_one_step_each_side() {
        let secret = BASE32_NOPAD.encode(b"12345678901234567890");
        let now = 1_111_111_111;
        let step = now / STEP_SECS;
        let key = secret_bytes(&secret).unwrap();
        for s in [step - 1, step, step + 1] {
            assert_eq!(matching_step(&secret, &code_at(&key, s, 6), now), Some(s));
        }
        assert_eq!(
            matching_step(&secret, &code_at(&key, step - 2, 6), now),
            None
        );
        assert_eq!(
            matching_step(&secret, &code_at(&key, step + 2, 6), now),
            None
        );
        assert_eq!(matching_step(&secret, "12345", now), None);
        assert_eq!(matching_step(&secret, "abcdef", now), None);
    }

    #[test]
    fn new_secrets_decode_and_the_uri_names_them() {
        let s = new_secret();
        assert_eq!(secret_bytes(&s).unwrap().len(), 20);
        let uri = otpauth_uri("Baedal", "root@mail", &s);
        assert!(uri.starts_with("otpauth://totp/Baedal:root%40mail?secret="));
        assert!(qr_svg(&uri).contains("<svg"));
    }
}
