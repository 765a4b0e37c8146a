//! Checks beyond the TOML types, and errors that name the file, line and key.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use super::locate::{key_at_line, line_of, line_of_key};
use super::{Config, StorageBackend};

/// A configuration problem: which key, where, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: Option<PathBuf>,
    pub line: Option<usize>,
    pub key: Option<String>,
    pub message: String,
}

impl std::error::Error for ConfigError {}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}", file.display())?;
            if let Some(line) = self.line {
                write!(f, " line {line}")?;
            }
            write!(f, ": ")?;
        } else if let Some(line) = self.line {
            write!(f, "line {line}: ")?;
        }
        if let Some(key) = &self.key {
            write!(f, "key '{key}': ")?;
        }
        f.write_str(&self.message)
    }
}

impl ConfigError {
    fn key(key: &str, text: Option<&str>, message: impl Into<String>) -> Self {
        Self {
            file: None,
            line: text.and_then(|t| line_of_key(t, key)),
            key: Some(key.to_string()),
            message: message.into(),
        }
    }

    pub fn from_toml(text: &str, e: &toml::de::Error) -> Self {
        let line = e.span().map(|span| line_of(text, span.start));
        let key = line.and_then(|l| key_at_line(text, l)).map(|key| {
            // For an unknown key the span is the key itself; name it in full.
            match e.message().split('`').nth(1) {
                Some(unknown) if e.message().starts_with("unknown field") => {
                    match key.rsplit_once('.') {
                        Some((table, _)) => format!("{table}.{unknown}"),
                        None => unknown.to_string(),
                    }
                }
                _ => key,
            }
        });
        Self {
            file: None,
            line,
            key,
            message: e.message().trim().to_string(),
        }
    }

    pub fn unreadable(path: &Path, e: &std::io::Error) -> Self {
        Self {
            file: Some(path.to_path_buf()),
            line: None,
            key: None,
            message: format!("cannot read the file: {e}"),
        }
    }

    pub fn in_file(mut self, path: &Path) -> Self {
        self.file = Some(path.to_path_buf());
        self
    }
}

/// `IP:PORT`, or a bare IP meaning port 53.
fn nameserver(entry: &str) -> Option<SocketAddr> {
    entry.parse::<SocketAddr>().ok().or_else(|| {
        entry
            .parse::<IpAddr>()
            .ok()
            .map(|ip| SocketAddr::new(ip, 53))
    })
}

impl Config {
    /// Checks what the types cannot. `text` is the file's text, to point at lines.
    pub fn validate(&self, text: Option<&str>) -> Result<(), ConfigError> {
        let err = |key: &str, msg: String| Err(ConfigError::key(key, text, msg));
        if self.hostname.trim().is_empty() || self.hostname.contains(char::is_whitespace) {
            return err(
                "hostname",
                format!("'{}' is not a host name", self.hostname),
            );
        }
        if self.data_dir.as_os_str().is_empty() {
            return err("data_dir", "must not be empty".into());
        }
        if !self.database.url.is_empty()
            && let Err(e) = baedal_storage::Backend::from_url(&self.database.url)
        {
            return err("database.url", e.to_string());
        }
        if self.database.max_connections == 0 {
            return err("database.max_connections", "must be at least 1".into());
        }
        if self.storage.backend == StorageBackend::S3 {
            for (key, value) in [
                ("storage.s3.endpoint", &self.storage.s3.endpoint),
                ("storage.s3.bucket", &self.storage.s3.bucket),
                ("storage.s3.region", &self.storage.s3.region),
            ] {
                if value.is_empty() {
                    return err(key, "must be set when storage.backend = \"s3\"".into());
                }
            }
        }
        for ns in &self.dns.nameservers {
            if nameserver(ns).is_none() {
                return err("dns.nameservers", format!("'{ns}' is not IP or IP:PORT"));
            }
        }
        if self.tls.cert.is_some() != self.tls.key.is_some() {
            let key = if self.tls.cert.is_some() {
                "tls.key"
            } else {
                "tls.cert"
            };
            return err(
                key,
                "tls.cert and tls.key are set together or not at all".into(),
            );
        }
        self.validate_ldap(text)?;
        if self.relay.port == 0 {
            return err("relay.port", "must be 1-65535".into());
        }
        let listen = &self.listen;
        for (key, addresses) in [
            ("listen.http", &listen.http),
            ("listen.smtp", &listen.smtp),
            ("listen.smtps", &listen.smtps),
            ("listen.submission", &listen.submission),
            ("listen.submissions", &listen.submissions),
            ("listen.pop3", &listen.pop3),
            ("listen.pop3s", &listen.pop3s),
            ("listen.imap", &listen.imap),
            ("listen.imaps", &listen.imaps),
            ("listen.admin", &listen.admin),
        ] {
            for addr in addresses.list() {
                if addr.parse::<SocketAddr>().is_err() {
                    return err(
                        key,
                        format!("'{addr}' is not IP:PORT (like 127.0.0.1:8080)"),
                    );
                }
            }
        }
        if self.queue.retry_intervals.is_empty() {
            return err(
                "queue.retry_intervals",
                "needs at least one interval (seconds)".into(),
            );
        }
        if self
            .imap
            .max_command_size
            .bytes()
            .is_none_or(|b| b == 0 || b > u64::from(u32::MAX))
        {
            return err(
                "imap.max_command_size",
                "must be a size like \"1M\", at most 4G".into(),
            );
        }
        if self.pop3.retention_days < 0 {
            return err(
                "pop3.retention_days",
                "must be 0 (keep) or more days".into(),
            );
        }
        let filter_problem = self
            .rspamd
            .as_ref()
            .and_then(|r| r.problem())
            .or_else(|| self.clamav.as_ref().and_then(|c| c.problem()));
        if let Some((key, problem)) = filter_problem
            .or_else(|| self.quota.problem())
            .or_else(|| self.notices.problem())
            .or_else(|| self.mta_sts.problem())
            .or_else(|| self.admin.problem())
        {
            return err(key, problem);
        }
        if let Some((key, problem)) = self.verify.problem() {
            return err(key, problem);
        }
        // The checks must answer before the client gives up on the end of DATA.
        if self.verify.enabled && self.verify.timeout >= self.smtp.command_timeout {
            return err(
                "verify.timeout",
                "must be shorter than smtp.command_timeout".into(),
            );
        }
        if let Err(e) = tracing_subscriber::EnvFilter::builder().parse(&self.log.level) {
            return err("log.level", format!("'{}': {e}", self.log.level));
        }
        Ok(())
    }
}

impl Config {
    /// LDAP is never plain text and never anonymous (DESIGN: Authentication).
    fn validate_ldap(&self, text: Option<&str>) -> Result<(), ConfigError> {
        let err = |key: &str, msg: String| Err(ConfigError::key(key, text, msg));
        let ldap = &self.ldap;
        if ldap.url.is_empty() {
            return Ok(());
        }
        let plain = ldap.url.starts_with("ldap://");
        if !plain && !ldap.url.starts_with("ldaps://") {
            return err(
                "ldap.url",
                format!("'{}' is not an ldaps:// or ldap:// URL", ldap.url),
            );
        }
        if plain && !ldap.starttls {
            return err(
                "ldap.url",
                format!(
                    "'{}' is plain text: use ldaps://, or set starttls = true",
                    ldap.url
                ),
            );
        }
        if ldap.bind_dn.is_empty() {
            return err(
                "ldap.bind_dn",
                "a service account is required (no anonymous binds)".into(),
            );
        }
        if ldap.timeout == 0 {
            return err("ldap.timeout", "must be at least 1 second".into());
        }
        if ldap.pool_size == 0 {
            return err("ldap.pool_size", "must be at least 1".into());
        }
        for (key, value) in [
            ("ldap.user_filter", &ldap.user_filter),
            ("ldap.sync_filter", &ldap.sync_filter),
        ] {
            if !(value.starts_with('(') && value.ends_with(')')) {
                return err(
                    key,
                    format!("'{value}' is not an LDAP filter in parentheses"),
                );
            }
        }
        Ok(())
    }
}
