//! DKIM signing (RFC 6376, RFC 8463 for Ed25519) with mail-auth: key generation for
//! `baedal dkim generate`, the DNS record to publish, and the signature of a submitted
//! message, computed while the message is streamed from its spool file.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use mail_auth::common::crypto::{DkimKey, Ed25519Key, RsaKey, Sha256};
use mail_auth::common::headers::HeaderWriter;
use mail_auth::dkim::generate::DkimKeyPair;
use mail_auth::dkim::{Canonicalization, DkimSigner};
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs1KeyDer};
use tokio::io::AsyncReadExt;

/// The header fields every signature covers when present (RFC 6376 §5.4.1). From is listed
/// twice: a From added in transit then breaks the signature (oversigning).
pub const SIGNED_HEADERS: &[&str] = &[
    "From",
    "From",
    "Reply-To",
    "Subject",
    "Date",
    "To",
    "Cc",
    "Message-ID",
    "In-Reply-To",
    "References",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
];

#[derive(Debug, thiserror::Error)]
pub enum DkimError {
    #[error("unknown algorithm {0:?}: use rsa or ed25519")]
    UnknownAlgorithm(String),
    #[error("DKIM key: {0}")]
    Key(String),
    #[error("DKIM signing: {0}")]
    Sign(String),
    #[error("reading the message: {0}")]
    Io(#[from] std::io::Error),
}

/// A signing algorithm, as the CLI names it and as `a=` spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Rsa,
    Ed25519,
}

impl Algorithm {
    pub fn parse(name: &str) -> Result<Self, DkimError> {
        match name.to_ascii_lowercase().as_str() {
            "rsa" | "rsa-sha256" => Ok(Self::Rsa),
            "ed25519" | "ed25519-sha256" => Ok(Self::Ed25519),
            other => Err(DkimError::UnknownAlgorithm(other.to_string())),
        }
    }

    /// The `a=` name stored with the key.
    pub fn name(self) -> &'static str {
        match self {
            Self::Rsa => "rsa-sha256",
            Self::Ed25519 => "ed25519-sha256",
        }
    }

    /// The `k=` tag of the DNS record.
    fn key_type(self) -> &'static str {
        match self {
            Self::Rsa => "rsa",
            Self::Ed25519 => "ed25519",
        }
    }
}

/// A new key pair, base64 DER as stored.
#[derive(Debug, Clone)]
pub struct GeneratedKey {
    pub algorithm: Algorithm,
    pub private_key: String,
    pub public_key: String,
}

/// Generates a key: RSA-2048 (PKCS#1) or Ed25519 (PKCS#8). RSA generation takes a moment:
/// call it from blocking code.
pub fn generate(algorithm: Algorithm) -> Result<GeneratedKey, DkimError> {
    let pair = match algorithm {
        Algorithm::Rsa => DkimKeyPair::generate_rsa(2048),
        Algorithm::Ed25519 => DkimKeyPair::generate_ed25519(),
    }
    .map_err(|e| DkimError::Key(e.to_string()))?;
    Ok(GeneratedKey {
        algorithm,
        private_key: STANDARD.encode(pair.private_key()),
        public_key: STANDARD.encode(pair.public_key()),
    })
}

/// The TXT record to publish at `{selector}._domainkey.{domain}` (RFC 6376 §3.6.1).
pub fn dns_record(algorithm: Algorithm, public_key: &str) -> String {
    format!("v=DKIM1; k={}; p={public_key}", algorithm.key_type())
}

/// The same record as a zone-file line, split into 255-byte strings (RFC 1035 §3.3.14).
pub fn zone_line(domain: &str, selector: &str, algorithm: Algorithm, public_key: &str) -> String {
    let record = dns_record(algorithm, public_key);
    let chunks: Vec<String> = record
        .as_bytes()
        .chunks(255)
        .map(|c| format!("\"{}\"", String::from_utf8_lossy(c)))
        .collect();
    format!(
        "{selector}._domainkey.{domain}. IN TXT ( {} )",
        chunks.join(" ")
    )
}

/// A domain's signing key, ready to sign.
pub struct Signer {
    domain: String,
    selector: String,
    signer: DkimSigner<DkimKey, mail_auth::dkim::Done>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("domain", &self.domain)
            .field("selector", &self.selector)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// A signer from a stored key (`algorithm` as stored, `private_key` base64 DER).
    pub fn new(
        domain: &str,
        selector: &str,
        algorithm: &str,
        private_key: &str,
    ) -> Result<Self, DkimError> {
        let der = STANDARD
            .decode(private_key.trim())
            .map_err(|e| DkimError::Key(e.to_string()))?;
        let key: DkimKey = match Algorithm::parse(algorithm)? {
            Algorithm::Rsa => {
                RsaKey::<Sha256>::from_key_der(PrivateKeyDer::Pkcs1(PrivatePkcs1KeyDer::from(der)))
                    .map_err(|e| DkimError::Key(e.to_string()))?
                    .into()
            }
            Algorithm::Ed25519 => Ed25519Key::from_pkcs8_der(&der)
                .map_err(|e| DkimError::Key(e.to_string()))?
                .into(),
        };
        let signer = DkimSigner::from_key(key)
            .domain(domain.to_string())
            .selector(selector.to_string())
            .headers(SIGNED_HEADERS.iter().copied())
            .header_canonicalization(Canonicalization::Relaxed)
            .body_canonicalization(Canonicalization::Relaxed);
        Ok(Self {
            domain: domain.to_string(),
            selector: selector.to_string(),
            signer,
        })
    }

    /// The `DKIM-Signature:` header field (with its CRLF) for `prefix` followed by the
    /// message read from `rest`, relaxed/relaxed. The message is streamed, never held whole.
    pub async fn sign<R>(&self, prefix: &[u8], mut rest: R) -> Result<String, DkimError>
    where
        R: tokio::io::AsyncRead + Unpin,
    {
        let mut stream = self.signer.sign_streaming();
        stream.write(prefix);
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            let n = rest.read(&mut chunk).await?;
            if n == 0 {
                break;
            }
            stream.write(&chunk[..n]);
        }
        let signature = stream
            .finish()
            .map_err(|e| DkimError::Sign(e.to_string()))?;
        Ok(signature.to_header())
    }
}
