//! The server certificate: the configured one, or a self-signed one generated in
//! `data_dir/tls` on first start and reused afterwards. Every listener shares one
//! [`CertificateSlot`], so a reload (SIGHUP) swaps the certificate for new handshakes while
//! sessions already running keep theirs.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use anyhow::{Context, Result};
use rustls::ServerConfig;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::config::Config;

/// The certificate in use and where it came from.
pub struct ServerCertificate {
    pub cert_path: PathBuf,
    pub key_path: PathBuf,
    /// True when this start generated it.
    pub generated: bool,
    pub rustls: Arc<ServerConfig>,
    /// The certificate every handshake gets; [`CertificateSlot::replace`] swaps it.
    pub slot: Arc<CertificateSlot>,
}

/// The current certificate and key, shared by every TLS listener and STARTTLS.
#[derive(Debug)]
pub struct CertificateSlot {
    current: RwLock<Arc<CertifiedKey>>,
}

impl CertificateSlot {
    fn new(key: CertifiedKey) -> Self {
        record_expiry(&key);
        Self {
            current: RwLock::new(Arc::new(key)),
        }
    }

    pub fn replace(&self, key: CertifiedKey) {
        record_expiry(&key);
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(key);
    }
}

/// Shows when the certificate going into use expires on `/metrics`.
fn record_expiry(key: &CertifiedKey) {
    match key.end_entity_cert().ok().and_then(not_after) {
        Some(secs) => baedal_metrics::set_certificate_expiry(secs),
        None => tracing::warn!("cannot read the certificate's expiry date for /metrics"),
    }
}

/// A DER certificate's notAfter, in Unix seconds.
fn not_after(der: &CertificateDer<'_>) -> Option<i64> {
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
    Some(cert.validity().not_after.timestamp())
}

impl ResolvesServerCert for CertificateSlot {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(
            &self.current.read().unwrap_or_else(|p| p.into_inner()),
        ))
    }
}

/// Where the certificate and key of `config` are; generates the self-signed pair when no
/// certificate is configured and none was generated before. Returns (cert, key, generated).
pub fn paths(config: &Config) -> Result<(PathBuf, PathBuf, bool)> {
    Ok(match (&config.tls.cert, &config.tls.key) {
        (Some(cert), Some(key)) => (cert.clone(), key.clone(), false),
        _ => {
            let dir = config.data_dir.join("tls");
            let cert = dir.join("cert.pem");
            let key = dir.join("key.pem");
            let generated = !(cert.exists() && key.exists());
            if generated {
                generate_self_signed(&config.hostname, &dir, &cert, &key)?;
            }
            (cert, key, generated)
        }
    })
}

pub fn prepare(config: &Config) -> Result<ServerCertificate> {
    let (cert_path, key_path, generated) = paths(config)?;
    let slot = Arc::new(CertificateSlot::new(load(&cert_path, &key_path)?));
    let rustls = ServerConfig::builder()
        .with_no_client_auth()
        .with_cert_resolver(Arc::clone(&slot) as Arc<dyn ResolvesServerCert>);
    Ok(ServerCertificate {
        cert_path,
        key_path,
        generated,
        rustls: Arc::new(rustls),
        slot,
    })
}

/// Reads a PEM chain and its key (ring provider), checking that they belong together.
pub fn load(cert_path: &Path, key_path: &Path) -> Result<CertifiedKey> {
    let chain = CertificateDer::pem_file_iter(cert_path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("cannot read the certificate {}", cert_path.display()))?;
    anyhow::ensure!(
        !chain.is_empty(),
        "no certificate in {}",
        cert_path.display()
    );
    let key = PrivateKeyDer::from_pem_file(key_path)
        .with_context(|| format!("cannot read the private key {}", key_path.display()))?;
    CertifiedKey::from_der(chain, key, &rustls::crypto::ring::default_provider()).with_context(
        || {
            format!(
                "the key {} does not fit the certificate {}",
                key_path.display(),
                cert_path.display()
            )
        },
    )
}

fn generate_self_signed(hostname: &str, dir: &Path, cert: &Path, key: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut names = vec![hostname.to_string(), "localhost".to_string()];
    names.dedup();
    let mut params = rcgen::CertificateParams::new(names)?;
    params
        .subject_alt_names
        .push(rcgen::SanType::IpAddress("127.0.0.1".parse()?));
    params
        .subject_alt_names
        .push(rcgen::SanType::IpAddress("::1".parse()?));
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, hostname);
    let key_pair = rcgen::KeyPair::generate()?;
    let certificate = params.self_signed(&key_pair)?;
    write_private(key, key_pair.serialize_pem().as_bytes())?;
    write_atomically(cert, certificate.pem().as_bytes(), 0o644)?;
    Ok(())
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomically(path, bytes, 0o600)
}

/// Writes to a temporary file, syncs it, then renames it into place.
fn write_atomically(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_once_and_reuses() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            data_dir: dir.path().to_path_buf(),
            hostname: "mx.example.org".into(),
            ..Config::default()
        };
        let first = prepare(&config).unwrap();
        assert!(first.generated);
        let pem = std::fs::read(&first.cert_path).unwrap();
        let second = prepare(&config).unwrap();
        assert!(!second.generated);
        // rcgen's default validity ends in 4096.
        let der = CertificateDer::from_pem_file(&second.cert_path).unwrap();
        assert_eq!(not_after(&der), Some(67_090_118_400));
        assert_eq!(std::fs::read(&second.cert_path).unwrap(), pem);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&first.key_path)
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
