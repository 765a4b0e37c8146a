//! The process's life under a service manager: signals (SIGTERM/SIGINT stop, SIGHUP
//! reloads), sd_notify states for systemd's `Type=notify`, and the reload itself.
//!
//! A reload re-reads the configuration file and applies all of it but the settings that
//! shape the stores and the listening sockets ([`RESTART_ONLY`], named in the log as
//! waiting for a restart): the TLS certificate and the log level here, the services in
//! [`crate::generation`]. New connections get the new settings; open sessions keep theirs.
//! A file that does not load, a certificate that does not, or services that cannot be
//! built leave everything as it was.

use std::path::PathBuf;

use anyhow::{Context, Result};
use sd_notify::NotifyState;
use tokio::signal::unix::{Signal, SignalKind, signal};

use rustls::sign::CertifiedKey;

use crate::config::{self, Config};
use crate::tls::{self, CertificateSlot};

/// Sets the log filter of the running process (from `main`'s subscriber).
pub type LogLevelSetter = Box<dyn Fn(&str) -> Result<()> + Send + Sync>;

/// What the administrator asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    Stop,
    Reload,
}

pub struct Signals {
    term: Signal,
    int: Signal,
    hup: Signal,
}

impl Signals {
    /// Installs the handlers; from here on the signals no longer kill the process.
    pub fn install() -> Result<Self> {
        Ok(Self {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    pub async fn next(&mut self) -> Request {
        tokio::select! {
            _ = self.term.recv() => {
                tracing::info!("SIGTERM received");
                Request::Stop
            }
            _ = self.int.recv() => {
                tracing::info!("SIGINT received");
                Request::Stop
            }
            _ = self.hup.recv() => {
                tracing::info!("SIGHUP received: reloading");
                Request::Reload
            }
        }
    }
}

/// A state systemd's `Type=notify` is told of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Every listener is bound (after start, and after a reload).
    Ready,
    Reloading,
    Stopping,
}

/// Tells systemd (when `NOTIFY_SOCKET` is set) of a state. Without a service manager this
/// does nothing.
pub fn notify(status: Status) {
    let states = match status {
        Status::Ready => vec![NotifyState::Ready],
        // systemd 253 and later want the time of the reload with it.
        Status::Reloading => match NotifyState::monotonic_usec_now() {
            Ok(now) => vec![NotifyState::Reloading, now],
            Err(_) => vec![NotifyState::Reloading],
        },
        Status::Stopping => vec![NotifyState::Stopping],
    };
    if let Err(e) = sd_notify::notify(&states) {
        tracing::warn!(error = %e, "cannot notify the service manager");
    }
}

/// How the running configuration was found, to find it again on reload.
pub struct Reloader {
    /// `--config` (or `BAEDAL_CONFIG`), if given.
    pub file: Option<PathBuf>,
    /// `--data-dir`, if given.
    pub data_dir: Option<PathBuf>,
    pub set_log_level: Option<LogLevelSetter>,
}

/// A re-read configuration, checked and not yet applied.
pub struct Reload {
    /// The file's settings, with the restart-only ones ([`RESTART_ONLY`]) as running.
    pub config: Config,
    /// The certificate and key it names, loaded.
    key: CertifiedKey,
    cert_path: PathBuf,
    /// Top-level settings that changed and are applied.
    pub applied: Vec<String>,
    /// Top-level settings that changed and wait for a restart.
    pub restart: Vec<String>,
}

/// Settings a reload does not apply: they shape the stores and the listening sockets.
pub const RESTART_ONLY: &[&str] = &["data_dir", "database", "storage", "listen"];

impl Reloader {
    /// Loads the configuration file again and its certificate, changing nothing yet. An
    /// error leaves the running server as it was.
    pub fn prepare(&self, running: &Config) -> Result<Reload> {
        let loaded = config::load(self.file.as_deref(), self.data_dir.as_deref())
            .context("configuration not reloaded")?;
        let mut next = loaded.config;
        // `serve` runs with an absolute data dir; compare like with like.
        next.data_dir = next.data_dir.canonicalize().unwrap_or(next.data_dir);
        let (restart, applied): (Vec<String>, Vec<String>) = changed_settings(running, &next)
            .into_iter()
            .partition(|k| RESTART_ONLY.contains(&k.as_str()));
        next.data_dir = running.data_dir.clone();
        next.database = running.database.clone();
        next.storage = running.storage.clone();
        next.listen = running.listen.clone();
        // With the running data dir: a self-signed certificate stays the one in use.
        let (cert_path, key_path, _) = tls::paths(&next).context("certificate not reloaded")?;
        let key = tls::load(&cert_path, &key_path).context("certificate not reloaded")?;
        Ok(Reload {
            config: next,
            key,
            cert_path,
            applied,
            restart,
        })
    }

    /// Applies the parts of `reload` outside the services, the certificate for new
    /// handshakes and the log level, and says the reload is done. `running` is the
    /// configuration it replaces.
    pub fn apply(&self, reload: Reload, running: &Config, certificate: &CertificateSlot) {
        certificate.replace(reload.key);
        tracing::info!(cert = %reload.cert_path.display(), "TLS certificate reloaded");
        if reload.config.log.level != running.log.level {
            match &self.set_log_level {
                // Said once the new level holds, at warn so that old and new level show it.
                Some(set) => match set(&reload.config.log.level) {
                    Ok(()) => tracing::warn!(level = %reload.config.log.level, "log level changed"),
                    Err(e) => tracing::error!(error = %e, "log level not changed"),
                },
                None => tracing::warn!("log level not changed: RUST_LOG sets it"),
            }
        }
        if !reload.restart.is_empty() {
            tracing::warn!(
                settings = %reload.restart.join(", "),
                "changed settings take effect at the next restart"
            );
        }
        tracing::info!(
            changed = %reload.applied.join(", "),
            "configuration reloaded: new sessions use it, open sessions keep theirs"
        );
    }
}

/// The top-level settings that differ between two configurations.
fn changed_settings(running: &Config, next: &Config) -> Vec<String> {
    let (Ok(toml::Value::Table(a)), Ok(toml::Value::Table(b))) =
        (toml::Value::try_from(running), toml::Value::try_from(next))
    else {
        return Vec::new();
    };
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .cloned()
        .collect()
}

/// True when two settings serialise alike (the configuration types have no `PartialEq`).
pub fn same_setting<T: serde::Serialize>(a: &T, b: &T) -> bool {
    match (toml::Value::try_from(a), toml::Value::try_from(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_settings_that_changed() {
        let running = Config::default();
        let mut next = running.clone();
        assert!(changed_settings(&running, &next).is_empty());
        next.log.level = "debug".into();
        next.smtp.max_recipients = 5;
        next.hostname = "other.example".into();
        next.listen.smtp = crate::config::Addresses::Many(Vec::new());
        assert_eq!(
            changed_settings(&running, &next),
            ["hostname", "listen", "log", "smtp"]
        );
        assert!(same_setting(&running.ldap, &next.ldap));
        assert!(!same_setting(&running.smtp, &next.smtp));
    }
}
