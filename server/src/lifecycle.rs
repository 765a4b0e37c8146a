//! The process's life under a service manager: signals (SIGTERM/SIGINT stop, SIGHUP
//! reloads), sd_notify states for systemd's `Type=notify`, and the reload itself.
//!
//! A reload re-reads the configuration file and applies what can change under running
//! sessions: the TLS certificate (new handshakes get it, sessions keep theirs) and the log
//! level. Settings that shape listeners or stores (addresses, database, storage, limits
//! built into the services) are named in the log as needing a restart. A file that does not
//! load, or a certificate that does not, leaves everything as it was.

use std::path::PathBuf;

use anyhow::{Context, Result};
use sd_notify::NotifyState;
use tokio::signal::unix::{Signal, SignalKind, signal};

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

impl Reloader {
    /// Loads the configuration again and applies what can change while running; returns
    /// the configuration now in force.
    pub fn reload(&self, running: &Config, certificate: &CertificateSlot) -> Result<Config> {
        let loaded = config::load(self.file.as_deref(), self.data_dir.as_deref())
            .context("configuration not reloaded")?;
        let mut next = loaded.config;
        // `serve` runs with an absolute data dir; compare like with like.
        next.data_dir = next.data_dir.canonicalize().unwrap_or(next.data_dir);
        let (cert_path, key_path, _) = tls::paths(&next).context("certificate not reloaded")?;
        let key = tls::load(&cert_path, &key_path).context("certificate not reloaded")?;
        certificate.replace(key);
        tracing::info!(cert = %cert_path.display(), key = %key_path.display(), "TLS certificate reloaded");
        if next.log.level != running.log.level
            && let Some(set) = &self.set_log_level
        {
            set(&next.log.level).context("log level not changed")?;
            tracing::info!(level = %next.log.level, "log level changed");
        }
        let restart = needs_restart(running, &next);
        if !restart.is_empty() {
            tracing::warn!(
                settings = %restart.join(", "),
                "changed settings take effect at the next restart"
            );
        }
        // What is in force: the reloaded parts from the file, the rest as running.
        let mut in_force = running.clone();
        in_force.tls = next.tls;
        in_force.log = next.log;
        Ok(in_force)
    }
}

/// The top-level settings that differ and are not applied by a reload.
fn needs_restart(running: &Config, next: &Config) -> Vec<String> {
    const LIVE: &[&str] = &["tls", "log"];
    let (Ok(toml::Value::Table(a)), Ok(toml::Value::Table(b))) =
        (toml::Value::try_from(running), toml::Value::try_from(next))
    else {
        return Vec::new();
    };
    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| !LIVE.contains(&k.as_str()) && a.get(*k) != b.get(*k))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_settings_a_reload_does_not_apply() {
        let running = Config::default();
        let mut next = running.clone();
        next.log.level = "debug".into();
        next.tls.cert = Some("/x.pem".into());
        assert!(needs_restart(&running, &next).is_empty());
        next.smtp.max_recipients = 5;
        next.hostname = "other.example".into();
        assert_eq!(needs_restart(&running, &next), ["hostname", "smtp"]);
    }
}
