//! SASL mechanisms for AUTH commands (SMTP, IMAP, POP3): PLAIN (RFC 4616) and LOGIN
//! (draft-murchison-sasl-login), base64-coded on the wire (RFC 4648).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Longest base64 line a client may send in an exchange (a generous bound on
/// authzid + authcid + password).
pub const MAX_SASL_LINE: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SaslError {
    #[error("invalid base64")]
    Base64,
    #[error("malformed PLAIN message")]
    MalformedPlain,
    #[error("not UTF-8")]
    Utf8,
}

/// Credentials a client presented.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// Who logs in.
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// The SASL mechanisms Baedal offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    Plain,
    Login,
}

impl Mechanism {
    pub fn parse(name: &str) -> Option<Self> {
        match name.to_ascii_uppercase().as_str() {
            "PLAIN" => Some(Self::Plain),
            "LOGIN" => Some(Self::Login),
            _ => None,
        }
    }
}

/// Decodes one base64 line; `=` alone is the empty response (RFC 4954 §4).
pub fn decode(line: &str) -> Result<Vec<u8>, SaslError> {
    let line = line.trim();
    if line == "=" {
        return Ok(Vec::new());
    }
    STANDARD.decode(line).map_err(|_| SaslError::Base64)
}

pub fn encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// RFC 4616 §2: `[authzid] NUL authcid NUL passwd`. An authorization identity other than
/// the authentication identity is refused later by the caller (no proxy logins).
pub fn decode_plain(message: &[u8]) -> Result<(Option<String>, Credentials), SaslError> {
    let mut parts = message.split(|&b| b == 0);
    let (Some(authzid), Some(authcid), Some(password), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(SaslError::MalformedPlain);
    };
    let text = |b: &[u8]| String::from_utf8(b.to_vec()).map_err(|_| SaslError::Utf8);
    let authzid = (!authzid.is_empty()).then(|| text(authzid)).transpose()?;
    Ok((
        authzid,
        Credentials {
            username: text(authcid)?,
            password: text(password)?,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_plain_with_and_without_authzid() {
        let (z, c) = decode_plain(&decode(&encode(b"\0alice@example.org\0pw")).unwrap()).unwrap();
        assert_eq!(
            (z, c.username.as_str(), c.password.as_str()),
            (None, "alice@example.org", "pw")
        );
        let (z, _) = decode_plain(b"admin\0alice\0pw").unwrap();
        assert_eq!(z.as_deref(), Some("admin"));
        assert_eq!(decode_plain(b"alice\0pw"), Err(SaslError::MalformedPlain));
        assert_eq!(decode("not base64!"), Err(SaslError::Base64));
        assert_eq!(decode("="), Ok(vec![]));
    }
}
