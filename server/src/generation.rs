//! What one configuration builds on top of the stores: the protocol services, the login
//! chain, the queue workers and the periodic jobs. `serve` builds the first generation at
//! start; a reload (SIGHUP) builds the next from the re-read file and swaps it in: new
//! connections get its services, open sessions keep the ones they started with, and the
//! old generation's jobs stop once the work they have under way is done.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use baedal_auth::Authenticator;
use baedal_auth::ldap::LdapDirectory;
use baedal_protocol::imap::ImapService;
use baedal_protocol::pop3::{MaildropLocks, Pop3Service};
use baedal_protocol::smtp::SmtpService;
use baedal_storage::{Directory, MailStore, Queue};
use tokio::sync::{Notify, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::config::Config;
use crate::lifecycle::same_setting;
use crate::limits::ConnectionLimiter;
use crate::listener::SessionFn;
use crate::outbound::Outbound;
use crate::{auth, imap, pop3, smtp};

/// What every generation shares: a reload keeps the stores and the TLS acceptor (whose
/// certificate the reload swaps itself).
pub struct Stores {
    pub directory: Directory,
    pub store: MailStore,
    pub queue: Queue,
    /// Messages the content filters held.
    pub quarantine: baedal_storage::Quarantine,
    pub acceptor: TlsAcceptor,
    /// Wakes the queue workers when a message is queued.
    pub wake: Arc<Notify>,
    /// POP3 maildrops held by sessions of any generation (RFC 1939 §8).
    pub maildrop_locks: Arc<MaildropLocks>,
}

/// The connection limits of each protocol, shared by its listeners.
pub struct Limiters {
    pub smtp: Arc<ConnectionLimiter>,
    pub imap: Arc<ConnectionLimiter>,
    pub pop3: Arc<ConnectionLimiter>,
}

impl Limiters {
    pub fn new(config: &Config) -> Self {
        Self {
            smtp: ConnectionLimiter::new(
                config.smtp.max_connections,
                config.smtp.max_connections_per_ip,
            ),
            imap: ConnectionLimiter::new(
                config.imap.max_connections,
                config.imap.max_connections_per_ip,
            ),
            pop3: ConnectionLimiter::new(
                config.pop3.max_connections,
                config.pop3.max_connections_per_ip,
            ),
        }
    }

    /// The limiter the listener `name` (`"smtp"`, `"imaps"`, ...) counts against.
    pub fn for_listener(&self, name: &str) -> &Arc<ConnectionLimiter> {
        match name {
            "pop3" | "pop3s" => &self.pop3,
            "imap" | "imaps" => &self.imap,
            _ => &self.smtp,
        }
    }

    /// The limits of a reloaded configuration; open connections keep their slots.
    pub fn apply(&self, config: &Config) {
        self.smtp.set_limits(
            config.smtp.max_connections,
            config.smtp.max_connections_per_ip,
        );
        self.imap.set_limits(
            config.imap.max_connections,
            config.imap.max_connections_per_ip,
        );
        self.pop3.set_limits(
            config.pop3.max_connections,
            config.pop3.max_connections_per_ip,
        );
    }
}

pub struct Generation {
    pub config: Config,
    authenticator: Authenticator,
    ldap: Option<Arc<LdapDirectory>>,
    mx: Arc<SmtpService>,
    submission: Arc<SmtpService>,
    pop3: Arc<Pop3Service>,
    imap: Arc<ImapService>,
    workers: Arc<Outbound>,
    /// Ends this generation's jobs.
    jobs: watch::Sender<bool>,
    /// Turns true once this generation's queue workers have finished their deliveries.
    workers_done: Arc<watch::Sender<bool>>,
}

impl Generation {
    /// Builds the services of `config`. The login chain of `previous` (its credentials
    /// cache, lockouts and LDAP connections) is kept when `[auth]` and `[ldap]` did not
    /// change.
    pub fn build(config: Config, stores: &Stores, previous: Option<&Generation>) -> Result<Self> {
        let (ldap, authenticator) = match previous {
            Some(p)
                if same_setting(&p.config.auth, &config.auth)
                    && same_setting(&p.config.ldap, &config.ldap) =>
            {
                (p.ldap.clone(), p.authenticator.clone())
            }
            _ => {
                if previous.is_some() {
                    tracing::info!(
                        "[auth] or [ldap] changed: login cache and lockouts start afresh"
                    );
                }
                let ldap = auth::ldap_directory(&config)?;
                let authenticator =
                    auth::authenticator(&config, stores.directory.clone(), ldap.clone());
                (ldap, authenticator)
            }
        };
        let workers = Arc::new(Outbound::new(
            &config,
            stores.queue.clone(),
            stores.directory.clone(),
            stores.store.clone(),
            Arc::clone(&stores.wake),
        )?);
        let outbound = baedal_protocol::smtp::Outbound {
            queue: stores.queue.clone(),
            lifetime_secs: config.queue.lifetime as i64,
            wake: Arc::clone(&stores.wake),
        };
        let (mx, submission) = smtp::services(
            &config,
            stores.directory.clone(),
            authenticator.clone(),
            stores.store.clone(),
            stores.acceptor.clone(),
            outbound,
            stores.quarantine.clone(),
        )?;
        let pop3 = pop3::service(
            &config,
            stores.directory.clone(),
            authenticator.clone(),
            stores.store.clone(),
            stores.acceptor.clone(),
            Arc::clone(&stores.maildrop_locks),
        );
        let imap = imap::service(
            &config,
            stores.directory.clone(),
            authenticator.clone(),
            stores.store.clone(),
            stores.acceptor.clone(),
        )?;
        Ok(Self {
            config,
            authenticator,
            ldap,
            mx,
            submission,
            pop3,
            imap,
            workers,
            jobs: watch::channel(false).0,
            workers_done: Arc::new(watch::channel(false).0),
        })
    }

    /// This generation's content filters (for `/readyz`).
    pub fn filters(&self) -> Option<Arc<baedal_filter::ContentFilters>> {
        self.mx.filters.clone()
    }

    /// How this generation serves a connection to the listener `name` (`"smtp"`,
    /// `"imaps"`, ...).
    pub fn session(&self, name: &str) -> SessionFn {
        match name {
            "smtp" | "smtps" => smtp::session(Arc::clone(&self.mx)),
            "submission" | "submissions" => smtp::session(Arc::clone(&self.submission)),
            "pop3" | "pop3s" => pop3::session(Arc::clone(&self.pop3)),
            _ => imap::session(Arc::clone(&self.imap)),
        }
    }

    /// Starts the queue workers, the LDAP sync, the POP3 retention sweep and the purge of
    /// expunged messages' objects; they run
    /// until [`Generation::retire`]. The workers start once those of `previous` (being
    /// retired) have finished their deliveries, so `[queue] workers` and `per_domain`
    /// hold across a reload.
    pub fn start_jobs(
        &self,
        tasks: &mut JoinSet<()>,
        stores: &Stores,
        previous: Option<&Generation>,
    ) {
        let config = &self.config;
        let mut after = previous.map(|p| p.workers_done.subscribe());
        let (workers, stop) = (Arc::clone(&self.workers), self.jobs.subscribe());
        let done = Arc::clone(&self.workers_done);
        tasks.spawn(async move {
            if let Some(after) = &mut after {
                // An error means the old workers are gone already.
                let _ = after.wait_for(|done| *done).await;
            }
            // The first round reads the queue at once: a wake the old workers took is
            // not lost.
            workers.run(stop).await;
            done.send_replace(true);
        });
        if let Some(ldap) = &self.ldap
            && config.ldap.sync_interval > 0
        {
            tasks.spawn(auth::periodic_sync(
                Arc::clone(ldap),
                stores.directory.clone(),
                Duration::from_secs(config.ldap.sync_interval),
                self.jobs.subscribe(),
            ));
        }
        tasks.spawn(pop3::sweeper(
            stores.store.clone(),
            config.pop3.retention_days,
            Duration::from_secs(config.pop3.sweep_interval),
            self.jobs.subscribe(),
        ));
        tasks.spawn(smtp::quarantine_expiry(
            stores.quarantine.clone(),
            Duration::from_secs(config.quarantine.lifetime_secs().max(0) as u64),
            self.jobs.subscribe(),
        ));
        if config.quota.report_interval > 0 {
            tasks.spawn(smtp::quota_report(
                stores.directory.clone(),
                config.quota.warn_percent,
                Duration::from_secs(config.quota.report_interval),
                self.jobs.subscribe(),
            ));
        }
        tasks.spawn(imap::expunged_purge(
            stores.store.clone(),
            Duration::from_secs(config.imap.expunged_grace),
            Duration::from_secs(config.imap.vanished_lifetime),
            self.jobs.subscribe(),
        ));
    }

    /// Stops this generation's jobs; deliveries under way finish first.
    pub fn retire(&self) {
        // `send_replace`: the value changes even when no job is listening.
        self.jobs.send_replace(true);
    }
}

impl Drop for Generation {
    fn drop(&mut self) {
        // A job must never see its generation go without a stop (the channel closing
        // while the value is still `false`).
        self.retire();
    }
}
