//! The LDAP directory of companies that have one: login by service bind, search and user
//! bind, and the entries `baedal ldap sync` copies into `virtual_users`.
//!
//! Never anonymous: an empty password or an entry without a DN is refused before the
//! server is asked, the service account must have a DN and a password, and TLS (ldaps://
//! or StartTLS) is mandatory — the configuration check refuses anything else.

mod filter;
mod pool;
pub mod sync;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use baedal_storage::EmailAddress;
use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::{Scope, SearchEntry, SearchOptions};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

pub use filter::user_filter;
use pool::Pool;

/// LDAP result code of a bind with a wrong password (RFC 4511 Appendix A.1).
const INVALID_CREDENTIALS: u32 = 49;
/// Entries one page of a sync search asks for (RFC 2696 paged results).
const SYNC_PAGE_SIZE: i32 = 200;

#[derive(Debug, thiserror::Error)]
pub enum LdapError {
    #[error("LDAP server unreachable: {0}")]
    Unreachable(String),
    #[error("the LDAP service bind was refused: {0}")]
    ServiceBind(String),
    #[error("LDAP {operation} failed: {text} (rc {rc})")]
    Operation {
        operation: &'static str,
        rc: u32,
        text: String,
    },
    #[error("LDAP TLS set-up: {0}")]
    Tls(String),
    #[error("the LDAP configuration is incomplete: {0}")]
    Config(String),
}

/// The global LDAP settings (config `[ldap]`).
#[derive(Debug, Clone)]
pub struct LdapSettings {
    pub url: String,
    /// Upgrade an `ldap://` connection with StartTLS (RFC 4513 §3).
    pub starttls: bool,
    /// The CA that signed the server's certificate; unset = the system's trusted CAs.
    pub ca_file: Option<PathBuf>,
    pub bind_dn: String,
    pub bind_password: String,
    /// Search base of domains without their own `ldap_base_dn`.
    pub base_dn: String,
    /// Login search; `{user}` is the local part, `{email}` the whole address.
    pub user_filter: String,
    /// Which entries `ldap sync` copies: every entry with a mail address by default.
    pub sync_filter: String,
    pub mail_attribute: String,
    pub display_name_attribute: String,
    pub department_attribute: String,
    /// Longest wait for a connection or one operation.
    pub timeout: Duration,
    /// Connections kept open to the server.
    pub pool_size: usize,
}

/// A person as the directory describes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LdapEntry {
    pub dn: String,
    /// Every mail address of the entry, lower-cased, in the server's order.
    pub mails: Vec<String>,
    pub display_name: Option<String>,
    pub department: Option<String>,
}

impl LdapEntry {
    /// The entry's addresses in `domain`, in the server's order.
    pub fn addresses_in<'a>(&'a self, domain: &'a str) -> impl Iterator<Item = &'a String> {
        self.mails
            .iter()
            .filter(move |m| m.rsplit_once('@').is_some_and(|(_, d)| d == domain))
    }

    /// The address the entry's account lives under in `domain`: its first address there.
    pub fn mailbox_address(&self, domain: &str) -> Option<String> {
        self.addresses_in(domain).next().cloned()
    }
}

/// What the directory says of one login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LdapVerdict {
    /// The user bind succeeded.
    Bound(LdapEntry),
    /// The search found nobody (or more than one entry, which is not a login either).
    NoSuchEntry,
    /// The entry exists and refused the password.
    InvalidCredentials,
}

/// The LDAP directory, with its connection pool.
pub struct LdapDirectory {
    settings: Arc<LdapSettings>,
    pool: Pool,
}

impl LdapDirectory {
    /// Checks the settings (never anonymous, always TLS) and reads the CA file.
    pub fn new(settings: LdapSettings) -> Result<Self, LdapError> {
        if settings.url.is_empty() {
            return Err(LdapError::Config("no url".into()));
        }
        if settings.bind_dn.is_empty() || settings.bind_password.is_empty() {
            return Err(LdapError::Config(
                "bind_dn and bind_password are required (no anonymous binds)".into(),
            ));
        }
        if !settings.url.starts_with("ldaps://") && !settings.starttls {
            return Err(LdapError::Config(format!(
                "{} is neither ldaps:// nor StartTLS",
                settings.url
            )));
        }
        let tls = settings.ca_file.as_ref().map(client_tls).transpose()?;
        let settings = Arc::new(settings);
        Ok(Self {
            pool: Pool::new(settings.clone(), tls),
            settings,
        })
    }

    pub fn settings(&self) -> &LdapSettings {
        &self.settings
    }

    /// Service bind, search for the login, bind as the found entry with `password`.
    pub async fn verify(
        &self,
        base_dn: Option<&str>,
        login: &EmailAddress,
        password: &str,
    ) -> Result<LdapVerdict, LdapError> {
        // Never anonymous: an empty password would be an unauthenticated bind
        // (RFC 4513 §5.1.2), which some servers answer with success.
        if password.is_empty() {
            return Ok(LdapVerdict::InvalidCredentials);
        }
        let base = self.base(base_dn)?;
        let filter = user_filter(
            &self.settings.user_filter,
            login.local_part(),
            &login.to_string(),
        );
        let mut conn = self.pool.checkout().await?;
        let found = conn
            .ldap
            .with_timeout(self.settings.timeout)
            .with_search_options(SearchOptions::new().sizelimit(2))
            .search(&base, Scope::Subtree, &filter, self.attributes())
            .await
            .map_err(|e| LdapError::Unreachable(e.to_string()))?;
        // rc 4 (sizeLimitExceeded) means more than one match: ambiguous, not a login.
        if found.1.rc != 0 && found.1.rc != 4 && found.1.rc != 32 {
            return Err(LdapError::Operation {
                operation: "search",
                rc: found.1.rc,
                text: found.1.text,
            });
        }
        let mut entries = found.0;
        if entries.len() != 1 {
            self.pool.checkin(conn);
            return Ok(LdapVerdict::NoSuchEntry);
        }
        let entry = self.entry(SearchEntry::construct(entries.remove(0)));
        if entry.dn.is_empty() {
            self.pool.checkin(conn);
            return Ok(LdapVerdict::NoSuchEntry);
        }
        let bound = conn
            .ldap
            .with_timeout(self.settings.timeout)
            .simple_bind(&entry.dn, password)
            .await
            .map_err(|e| LdapError::Unreachable(e.to_string()))?;
        self.pool.checkin(conn);
        match bound.rc {
            0 => Ok(LdapVerdict::Bound(entry)),
            INVALID_CREDENTIALS => Ok(LdapVerdict::InvalidCredentials),
            rc => Err(LdapError::Operation {
                operation: "bind",
                rc,
                text: bound.text,
            }),
        }
    }

    /// Every entry under the base that `sync_filter` selects, read page by page.
    pub async fn entries(&self, base_dn: Option<&str>) -> Result<Vec<LdapEntry>, LdapError> {
        let base = self.base(base_dn)?;
        let mut conn = self.pool.checkout().await?;
        let adapters: Vec<Box<dyn Adapter<_, _>>> = vec![
            Box::new(EntriesOnly::new()),
            Box::new(PagedResults::new(SYNC_PAGE_SIZE)),
        ];
        let attributes = self.attributes();
        let mut stream = conn
            .ldap
            .with_timeout(self.settings.timeout)
            .streaming_search_with(
                adapters,
                &base,
                Scope::Subtree,
                &self.settings.sync_filter,
                attributes,
            )
            .await
            .map_err(|e| LdapError::Unreachable(e.to_string()))?;
        let mut entries = Vec::new();
        while let Some(raw) = stream
            .next()
            .await
            .map_err(|e| LdapError::Unreachable(e.to_string()))?
        {
            let entry = self.entry(SearchEntry::construct(raw));
            if !entry.dn.is_empty() {
                entries.push(entry);
            }
        }
        let result = stream.finish().await;
        if result.rc != 0 {
            return Err(LdapError::Operation {
                operation: "search",
                rc: result.rc,
                text: result.text,
            });
        }
        self.pool.checkin(conn);
        Ok(entries)
    }

    fn base(&self, domain_base: Option<&str>) -> Result<String, LdapError> {
        match domain_base.filter(|b| !b.is_empty()) {
            Some(base) => Ok(base.to_string()),
            None if !self.settings.base_dn.is_empty() => Ok(self.settings.base_dn.clone()),
            None => Err(LdapError::Config(
                "no base_dn, and the domain has no ldap_base_dn".into(),
            )),
        }
    }

    fn attributes(&self) -> Vec<String> {
        let s = &self.settings;
        vec![
            s.mail_attribute.clone(),
            s.display_name_attribute.clone(),
            s.department_attribute.clone(),
        ]
    }

    fn entry(&self, raw: SearchEntry) -> LdapEntry {
        let s = &self.settings;
        let first = |attrs: &HashMap<String, Vec<String>>, name: &str| {
            attribute(attrs, name)
                .and_then(|v| v.first().cloned())
                .filter(|v| !v.is_empty())
        };
        LdapEntry {
            mails: attribute(&raw.attrs, &s.mail_attribute)
                .map(|v| v.iter().map(|m| m.trim().to_ascii_lowercase()).collect())
                .unwrap_or_default(),
            display_name: first(&raw.attrs, &s.display_name_attribute),
            department: first(&raw.attrs, &s.department_attribute),
            dn: raw.dn,
        }
    }
}

/// Attribute names are case-insensitive (RFC 4512 §2.5).
fn attribute<'a>(attrs: &'a HashMap<String, Vec<String>>, name: &str) -> Option<&'a Vec<String>> {
    attrs
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// A TLS client configuration that trusts only the CA in `ca_file`.
fn client_tls(ca_file: &PathBuf) -> Result<Arc<rustls::ClientConfig>, LdapError> {
    let mut roots = rustls::RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(ca_file)
        .map_err(|e| LdapError::Tls(format!("{}: {e}", ca_file.display())))?;
    for cert in certs {
        let cert = cert.map_err(|e| LdapError::Tls(format!("{}: {e}", ca_file.display())))?;
        roots
            .add(cert)
            .map_err(|e| LdapError::Tls(format!("{}: {e}", ca_file.display())))?;
    }
    if roots.is_empty() {
        return Err(LdapError::Tls(format!(
            "{} holds no certificate",
            ca_file.display()
        )));
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| LdapError::Tls(e.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::new(config))
}
