//! The configuration: one TOML file holding only the keys it changes; every other key keeps
//! the embedded default documented in `etc/baedal.toml`.
//!
//! Where the configuration comes from, first match wins: `--config FILE` (or
//! `BAEDAL_CONFIG`); `/etc/baedal/baedal.toml` when it exists and neither `--config` nor
//! `--data-dir` was given; otherwise the embedded defaults (data in `./baedal-data`).
//! `--data-dir` overrides `data_dir`, and environment variables override secrets
//! (see [`SECRET_ENV`]).

mod admin;
mod auth;
mod autoconfig;
mod locate;
mod notices;
mod ops;
mod quota;
mod validate;
mod verify;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use admin::AdminConsoleConfig;
pub use auth::{AuthConfig, LdapConfig, LdapFallbackCase};
pub use autoconfig::{AutoconfigConfig, MtaStsConfig};
pub use baedal_filter::config::{AttachmentsConfig, ClamavConfig, QuarantineConfig, RspamdConfig};
pub use notices::NoticesConfig;
pub use ops::ShutdownConfig;
pub use quota::QuotaConfig;
pub use validate::ConfigError;
pub use verify::{Fcrdns, VerifyConfig};

/// The file the .deb installs; read when no other source is named.
pub const SYSTEM_CONFIG: &str = "/etc/baedal/baedal.toml";

/// Environment variables that override secrets, so they can stay out of the file.
pub const SECRET_ENV: &[(&str, &str)] = &[
    ("BAEDAL_DATABASE_URL", "database.url"),
    ("BAEDAL_S3_ACCESS_KEY", "storage.s3.access_key"),
    ("BAEDAL_S3_SECRET_KEY", "storage.s3.secret_key"),
    ("BAEDAL_LDAP_BIND_PASSWORD", "ldap.bind_password"),
    ("BAEDAL_RELAY_PASSWORD", "relay.password"),
];

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The server's name in greetings and Received headers.
    pub hostname: String,
    /// Where the embedded profile keeps its database, mail and generated certificate.
    pub data_dir: PathBuf,
    pub database: DatabaseConfig,
    pub storage: StorageConfig,
    pub dns: DnsConfig,
    pub tls: TlsConfig,
    pub ldap: LdapConfig,
    pub auth: AuthConfig,
    pub relay: RelayConfig,
    pub listen: ListenConfig,
    pub smtp: SmtpConfig,
    pub queue: QueueConfig,
    pub pop3: Pop3Config,
    pub imap: ImapConfig,
    pub log: LogConfig,
    pub shutdown: ShutdownConfig,
    pub verify: VerifyConfig,
    /// Spam filtering; `None` (no `[rspamd]` section): off.
    pub rspamd: Option<RspamdConfig>,
    /// Virus scanning; `None` (no `[clamav]` section): off.
    pub clamav: Option<ClamavConfig>,
    pub attachments: AttachmentsConfig,
    pub quarantine: QuarantineConfig,
    pub quota: QuotaConfig,
    /// The language of delivery reports and quota notices, per domain.
    pub notices: NoticesConfig,
    /// What mail clients setting themselves up are told (HTTP listener).
    pub autoconfig: AutoconfigConfig,
    /// The MTA-STS policy the domains publish.
    pub mta_sts: MtaStsConfig,
    /// The web console and the JSON API.
    pub admin: AdminConsoleConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            hostname: system_hostname(),
            data_dir: PathBuf::from("baedal-data"),
            database: DatabaseConfig::default(),
            storage: StorageConfig::default(),
            dns: DnsConfig::default(),
            tls: TlsConfig::default(),
            ldap: LdapConfig::default(),
            auth: AuthConfig::default(),
            relay: RelayConfig::default(),
            listen: ListenConfig::default(),
            smtp: SmtpConfig::default(),
            queue: QueueConfig::default(),
            pop3: Pop3Config::default(),
            imap: ImapConfig::default(),
            log: LogConfig::default(),
            shutdown: ShutdownConfig::default(),
            verify: VerifyConfig::default(),
            rspamd: None,
            clamav: None,
            attachments: AttachmentsConfig::default(),
            quarantine: QuarantineConfig::default(),
            quota: QuotaConfig::default(),
            notices: NoticesConfig::default(),
            autoconfig: AutoconfigConfig::default(),
            mta_sts: MtaStsConfig::default(),
            admin: AdminConsoleConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// `sqlite://PATH` or `postgres://USER:PASSWORD@HOST:PORT/DB`; empty = SQLite in data_dir.
    pub url: String,
    pub max_connections: u32,
    /// Seconds a PostgreSQL statement may run before it is cancelled.
    pub statement_timeout: u64,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            max_connections: 16,
            statement_timeout: 30,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum StorageBackend {
    #[default]
    Fs,
    S3,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    pub backend: StorageBackend,
    pub s3: S3Config,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3Config {
    pub endpoint: String,
    pub region: String,
    pub bucket: String,
    pub access_key: String,
    pub secret_key: String,
}

impl Default for S3Config {
    fn default() -> Self {
        Self {
            endpoint: String::new(),
            region: "us-east-1".into(),
            bucket: "mailboxes".into(),
            access_key: String::new(),
            secret_key: String::new(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DnsConfig {
    /// Baedal's own resolver: `IP` or `IP:PORT` entries; empty = the system resolver.
    pub nameservers: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain; unset = a self-signed certificate generated in data_dir/tls.
    pub cert: Option<PathBuf>,
    /// PEM private key of `cert`.
    pub key: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RelayConfig {
    /// Smarthost for all outbound mail; empty = deliver to each domain's MX.
    pub host: String,
    pub port: u16,
    pub username: String,
    pub password: String,
    /// `required` (STARTTLS or no delivery), `opportunistic`, or `implicit` (port 465).
    pub tls: RelayTls,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RelayTls {
    Required,
    Opportunistic,
    Implicit,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            host: String::new(),
            port: 587,
            username: String::new(),
            password: String::new(),
            tls: RelayTls::Required,
        }
    }
}

/// Addresses a listener binds; one string or a list, empty = the listener is off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Addresses {
    One(String),
    Many(Vec<String>),
}

impl Addresses {
    pub fn list(&self) -> Vec<&str> {
        match self {
            Self::One(a) if a.is_empty() => vec![],
            Self::One(a) => vec![a.as_str()],
            Self::Many(list) => list.iter().map(String::as_str).collect(),
        }
    }

    /// The socket addresses; `validate` has already refused unparsable ones.
    pub fn socket_addrs(&self) -> Vec<SocketAddr> {
        self.list().iter().filter_map(|a| a.parse().ok()).collect()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ListenConfig {
    /// Health, readiness and metrics.
    pub http: Addresses,
    /// SMTP for incoming mail (MX), with STARTTLS.
    pub smtp: Addresses,
    /// SMTP for incoming mail with implicit TLS.
    pub smtps: Addresses,
    /// Message submission with STARTTLS and AUTH (RFC 6409).
    pub submission: Addresses,
    /// Message submission with implicit TLS (RFC 8314).
    pub submissions: Addresses,
    /// POP3 with STLS.
    pub pop3: Addresses,
    /// POP3 with implicit TLS.
    pub pop3s: Addresses,
    /// IMAP with STARTTLS.
    pub imap: Addresses,
    /// IMAP with implicit TLS.
    pub imaps: Addresses,
    /// The web console and the JSON API (TLS, the server's certificate).
    pub admin: Addresses,
}

impl ListenConfig {
    /// The addresses of the listener `name` (a key of `[listen]`).
    pub fn get(&self, name: &str) -> &Addresses {
        match name {
            "smtp" => &self.smtp,
            "smtps" => &self.smtps,
            "submission" => &self.submission,
            "submissions" => &self.submissions,
            "pop3" => &self.pop3,
            "pop3s" => &self.pop3s,
            "imap" => &self.imap,
            "imaps" => &self.imaps,
            "admin" => &self.admin,
            _ => &self.http,
        }
    }
}

impl Default for ListenConfig {
    fn default() -> Self {
        Self {
            http: Addresses::One("127.0.0.1:8080".into()),
            smtp: Addresses::One("127.0.0.1:2525".into()),
            smtps: Addresses::Many(Vec::new()),
            submission: Addresses::One("127.0.0.1:2587".into()),
            submissions: Addresses::One("127.0.0.1:2465".into()),
            pop3: Addresses::One("127.0.0.1:2110".into()),
            pop3s: Addresses::One("127.0.0.1:2995".into()),
            imap: Addresses::One("127.0.0.1:2143".into()),
            imaps: Addresses::One("127.0.0.1:2993".into()),
            admin: Addresses::One("127.0.0.1:8443".into()),
        }
    }
}

/// A byte size written as `"100M"` or as a number of bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SizeSetting {
    Bytes(u64),
    Text(String),
}

impl SizeSetting {
    pub fn bytes(&self) -> Option<u64> {
        match self {
            Self::Bytes(n) => Some(*n),
            Self::Text(t) => t
                .parse::<baedal_storage::ByteSize>()
                .ok()
                .map(|s| s.bytes()),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpConfig {
    /// Largest message accepted (advertised as SIZE).
    pub max_message_size: SizeSetting,
    /// Recipients per message; more get 452 4.5.3.
    pub max_recipients: usize,
    /// Simultaneous SMTP connections, all listeners together.
    pub max_connections: usize,
    /// Simultaneous SMTP connections from one IP address.
    pub max_connections_per_ip: usize,
    /// Error replies before a session is closed.
    pub max_errors: u32,
    /// Seconds to wait for a command.
    pub command_timeout: u64,
    /// Seconds to wait for more message data.
    pub data_timeout: u64,
    /// Answer VRFY from the directory (off: 252 for every address).
    pub vrfy: bool,
    /// Milliseconds before a failed AUTH is answered (submission).
    pub auth_failure_delay_ms: u64,
    /// Where `postmaster@` and `abuse@` of every local domain go when no user or alias has
    /// them (RFC 5321 §4.5.1); empty: they are unknown like any other address.
    pub postmaster: String,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        Self {
            max_message_size: SizeSetting::Text("100M".into()),
            max_recipients: 100,
            max_connections: 1000,
            max_connections_per_ip: 50,
            max_errors: 20,
            command_timeout: 300,
            data_timeout: 600,
            vrfy: false,
            auth_failure_delay_ms: 2000,
            postmaster: String::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QueueConfig {
    /// Simultaneous outbound deliveries, in total and to one destination domain.
    pub workers: usize,
    pub per_domain: usize,
    /// Seconds between attempts: the first, second, ... wait; the last repeats.
    pub retry_intervals: Vec<u64>,
    /// Seconds a message may wait before it bounces (5 days).
    pub lifetime: u64,
    /// Seconds after which the sender is told once that delivery is delayed; 0 = never.
    pub delay_warning: u64,
    /// The port of remote MX hosts (25; tests point it elsewhere).
    pub remote_port: u16,
    /// Seconds to wait for a connection to a remote host.
    pub connect_timeout: u64,
    /// Seconds between scans of the queue when nothing wakes the workers.
    pub poll_interval: u64,
}

impl Default for QueueConfig {
    fn default() -> Self {
        Self {
            workers: 16,
            per_domain: 4,
            retry_intervals: vec![300, 900, 1800, 3600, 7200, 14400],
            lifetime: 5 * 86400,
            delay_warning: 4 * 3600,
            remote_port: 25,
            connect_timeout: 30,
            poll_interval: 10,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Pop3Config {
    /// Days the server keeps mail a POP3 client retrieved (0 = until the client deletes it).
    pub retention_days: i64,
    /// Seconds between retention sweeps.
    pub sweep_interval: u64,
    /// Seconds of silence before a session is closed (RFC 1939: at least 600).
    pub idle_timeout: u64,
    /// Milliseconds to wait before answering a failed login.
    pub auth_failure_delay_ms: u64,
    pub max_connections: usize,
    pub max_connections_per_ip: usize,
}

impl Default for Pop3Config {
    fn default() -> Self {
        Self {
            retention_days: 7,
            sweep_interval: 3600,
            idle_timeout: 600,
            auth_failure_delay_ms: 2000,
            max_connections: 1000,
            max_connections_per_ip: 50,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ImapConfig {
    /// Seconds of silence before a session is closed (RFC 3501 asks at least 1800).
    pub idle_timeout: u64,
    /// Milliseconds to wait before answering a failed login.
    pub auth_failure_delay_ms: u64,
    /// Largest command with its literals, in bytes; also APPENDLIMIT (RFC 7889).
    pub max_command_size: SizeSetting,
    pub max_connections: usize,
    pub max_connections_per_ip: usize,
    /// Seconds an expunged message's object is kept for the sessions not yet told of the
    /// expunge (RFC 3501 §7.4.1), before the purge removes it.
    pub expunged_grace: u64,
    /// Seconds the UIDs of expunged messages are remembered for QRESYNC resyncs (RFC 7162
    /// §3.2.5.1); a client resyncing from before that is told every UID it may know that is
    /// gone instead of the exact list.
    pub vanished_lifetime: u64,
}

impl Default for ImapConfig {
    fn default() -> Self {
        Self {
            idle_timeout: 1800,
            auth_failure_delay_ms: 2000,
            expunged_grace: baedal_storage::mailstore::EXPUNGED_GRACE_SECS as u64,
            vanished_lifetime: 90 * 86_400,
            max_command_size: SizeSetting::Text("100M".into()),
            max_connections: 5000,
            max_connections_per_ip: 100,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// A tracing filter: `info`, `debug`, `baedal=debug,sqlx=warn`, … (`RUST_LOG` wins).
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            level: "info".into(),
        }
    }
}

/// Where the running configuration came from, for logs and `config show`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    File(PathBuf),
    Embedded,
}

/// A configuration ready to use, and where it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    pub source: Source,
}

impl Config {
    /// Parses and validates a file's text; errors name the key and the line.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::from_toml(text, &e))?;
        config.validate(Some(text))?;
        Ok(config)
    }

    /// The SQL database URL, defaulting to SQLite inside the data dir.
    pub fn database_url(&self) -> String {
        if self.database.url.is_empty() {
            format!("sqlite://{}", self.data_dir.join("baedal.db").display())
        } else {
            self.database.url.clone()
        }
    }

    /// Where the filesystem blob store keeps the Maildirs.
    pub fn mail_dir(&self) -> PathBuf {
        self.data_dir.join("mail")
    }

    /// Where messages are streamed while they arrive (same filesystem as `mail_dir`, so a
    /// finished message is moved into place by a rename).
    pub fn spool_dir(&self) -> PathBuf {
        self.data_dir.join("spool")
    }

    /// A copy with every secret replaced, for printing.
    pub fn redacted(&self) -> Self {
        let mut c = self.clone();
        c.database.url = baedal_storage::db::redact_url(&c.database.url);
        for secret in [
            &mut c.storage.s3.secret_key,
            &mut c.ldap.bind_password,
            &mut c.relay.password,
        ] {
            if !secret.is_empty() {
                *secret = "***".into();
            }
        }
        c
    }

    fn apply_env(&mut self) {
        for (var, key) in SECRET_ENV {
            let Ok(value) = std::env::var(var) else {
                continue;
            };
            let slot = match *key {
                "database.url" => &mut self.database.url,
                "storage.s3.access_key" => &mut self.storage.s3.access_key,
                "storage.s3.secret_key" => &mut self.storage.s3.secret_key,
                "ldap.bind_password" => &mut self.ldap.bind_password,
                _ => &mut self.relay.password,
            };
            *slot = value;
        }
    }
}

/// Loads the configuration the way the binary does (see the module docs).
pub fn load(file: Option<&Path>, data_dir: Option<&Path>) -> Result<Loaded, ConfigError> {
    let system = Path::new(SYSTEM_CONFIG);
    let file = match (file, data_dir) {
        (Some(file), _) => Some(file.to_path_buf()),
        (None, None) if system.exists() => Some(system.to_path_buf()),
        _ => None,
    };
    let (mut config, source) = match file {
        Some(path) => {
            let text =
                std::fs::read_to_string(&path).map_err(|e| ConfigError::unreadable(&path, &e))?;
            let config = Config::from_toml(&text).map_err(|e| e.in_file(&path))?;
            (config, Source::File(path))
        }
        None => (Config::default(), Source::Embedded),
    };
    if let Some(dir) = data_dir {
        config.data_dir = dir.to_path_buf();
    }
    config.apply_env();
    config.validate(None)?;
    Ok(Loaded { config, source })
}

fn system_hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

#[cfg(test)]
mod tests;
