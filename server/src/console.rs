//! The admin context the CLI's commands and the web console share, and the console's
//! listener with its housekeeping (sessions, throttle rows and audit retention pruned; the
//! dashboard's counters sampled each minute).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use baedal_admin::web::{Console, SystemClock};
use baedal_admin::{AdminContext, Output};
use baedal_storage::{AdminStore, BlobStore, Database, Directory, DkimKeys, MailStore, Queue};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::auth;
use crate::config::Config;

/// Everything an administrative operation needs, for `config`.
pub fn admin_context(
    config: &Config,
    db: &Database,
    blobs: Arc<dyn BlobStore>,
    output: Output,
) -> Result<AdminContext> {
    let ldap = auth::ldap_directory(config)?;
    let directory = Directory::new(db.clone());
    let spool = baedal_storage::Spool::new(config.spool_dir(), &config.hostname)
        .with_context(|| format!("cannot create the spool {}", config.spool_dir().display()))?;
    Ok(AdminContext {
        authenticator: auth::admin_authenticator(config, directory.clone(), ldap.clone()),
        ldap,
        directory,
        admins: AdminStore::new(db.clone()),
        store: MailStore::new(db.clone(), Arc::clone(&blobs)),
        dkim: DkimKeys::new(db.clone()),
        quarantine: baedal_storage::Quarantine::new(db.clone(), Arc::clone(&blobs)),
        queue: Queue::new(db.clone(), blobs),
        spool,
        queue_lifetime_secs: config.queue.lifetime as i64,
        quota_warn_percent: i64::from(config.quota.warn_percent),
        output,
        pop3_retention_days: config.pop3.retention_days,
    })
}

/// Serves the console on `listeners` and runs its housekeeping until `stop`.
pub async fn start(
    config: &Config,
    db: &Database,
    blobs: Arc<dyn BlobStore>,
    listeners: Vec<TcpListener>,
    acceptor: TlsAcceptor,
    stop: watch::Receiver<bool>,
    tasks: &mut JoinSet<()>,
) -> Result<()> {
    if listeners.is_empty() {
        return Ok(());
    }
    let ctx = admin_context(config, db, blobs, Output { json: true })?;
    let web = config.admin.web_config(&config.hostname);
    let console = Console::new(ctx, web, Arc::new(SystemClock))
        .await
        .context("cannot start the admin console")?;
    for listener in listeners {
        tasks.spawn(baedal_admin::web::serve(
            listener,
            acceptor.clone(),
            console.clone(),
            stop.clone(),
        ));
    }
    let retention = i64::from(config.admin.audit_retention_days);
    let log_retention = i64::from(config.admin.log_retention_days);
    let events = baedal_storage::events::EventLog::new(db.clone());
    let mut stop = stop;
    tasks.spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tokio::select! {
                _ = stop.changed() => return,
                _ = tick.tick() => {
                    console.sample();
                    if let Err(e) = console.prune(retention).await {
                        tracing::warn!(error = %e, "admin console: pruning failed");
                    }
                    if log_retention > 0 {
                        let before = baedal_storage::clock::now_secs() - log_retention * 86_400;
                        if let Err(e) = events.prune(before).await {
                            tracing::warn!(error = %e, "event log: pruning failed");
                        }
                    }
                }
            }
        }
    });
    Ok(())
}
