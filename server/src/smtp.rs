//! The SMTP services (MX, and submission with AUTH) and how their connections are served.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use baedal_auth::Authenticator;
use baedal_protocol::smtp::{
    Outbound, Quarantining, QuotaNotices, Session, SmtpLimits, SmtpService, Submission,
};
use baedal_storage::{Directory, DkimKeys, MailStore, Spool};
use tokio_rustls::TlsAcceptor;

use crate::config::Config;
use crate::listener::SessionFn;

/// The MX service and the submission service. Both hand remote recipients to the queue
/// (the MX only for aliases that forward).
pub fn services(
    config: &Config,
    directory: Directory,
    authenticator: Authenticator,
    store: MailStore,
    tls: TlsAcceptor,
    outbound: Outbound,
    quarantine: baedal_storage::Quarantine,
) -> Result<(Arc<SmtpService>, Arc<SmtpService>)> {
    let spool_dir = config.spool_dir();
    let spool = Spool::new(&spool_dir, &config.hostname)
        .with_context(|| format!("cannot create the spool {}", spool_dir.display()))?;
    let limits = SmtpLimits {
        max_message_size: config
            .smtp
            .max_message_size
            .bytes()
            .context("smtp.max_message_size")?,
        max_recipients: config.smtp.max_recipients,
        max_errors: config.smtp.max_errors,
        command_timeout: Duration::from_secs(config.smtp.command_timeout),
        data_timeout: Duration::from_secs(config.smtp.data_timeout),
    };
    let submission = Submission {
        authenticator,
        dkim: DkimKeys::new(directory.database().clone()),
        auth_failure_delay: Duration::from_millis(config.smtp.auth_failure_delay_ms),
    };
    let filters = baedal_filter::ContentFilters::new(
        config.rspamd.as_ref(),
        config.clamav.as_ref(),
        &config.attachments,
        &config.quarantine,
    )
    .context("content filters")?
    .map(Arc::new);
    let quarantine = Quarantining {
        store: quarantine,
        lifetime_secs: config.quarantine.lifetime_secs(),
    };
    let quota_notices = config.quota.notify.then(|| QuotaNotices {
        warn_percent: i64::from(config.quota.warn_percent),
        postmaster: config.quota.notify_postmaster,
        languages: config.notices.languages(),
    });
    let mx = SmtpService {
        hostname: config.hostname.clone(),
        limits,
        directory,
        store,
        spool,
        tls: Some(tls),
        vrfy: config.smtp.vrfy,
        submission: None,
        outbound: Some(outbound),
        checks: crate::verify::inbound_checks(config)?,
        filters: filters.clone(),
        quarantine: Some(quarantine.clone()),
        quota_notices: quota_notices.clone(),
    };
    let submission = SmtpService {
        hostname: mx.hostname.clone(),
        limits: mx.limits.clone(),
        directory: mx.directory.clone(),
        store: mx.store.clone(),
        spool: mx.spool.clone(),
        tls: mx.tls.clone(),
        vrfy: false,
        submission: Some(submission),
        outbound: mx.outbound.clone(),
        // Authenticated submission is not checked as inbound mail.
        checks: None,
        filters,
        quarantine: Some(quarantine),
        quota_notices,
    };
    Ok((Arc::new(mx), Arc::new(submission)))
}

/// How each SMTP connection is served.
pub fn session(service: Arc<SmtpService>) -> SessionFn {
    Arc::new(move |stream, info| {
        let service = Arc::clone(&service);
        Box::pin(async move { Session::new(service, info, stream).run().await })
    })
}

/// Refusal when a connection limit is reached.
pub fn refusal() -> Arc<[u8]> {
    let mut out = Vec::new();
    baedal_protocol::smtp::reply::TOO_MANY_CONNECTIONS.write_to(&mut out);
    out.into()
}

/// Deletes quarantined messages whose time ran out, every few minutes (every second when
/// the lifetime is 0), until `stop`.
pub async fn quarantine_expiry(
    quarantine: baedal_storage::Quarantine,
    lifetime: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let interval = (lifetime / 2).clamp(Duration::from_secs(1), Duration::from_secs(300));
    loop {
        match quarantine.expire(baedal_storage::clock::now_secs()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "deleted quarantined messages past their time"),
            Err(e) => tracing::error!(error = %e, "quarantine expiry failed"),
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = crate::listener::stopped(&mut stop) => return,
        }
    }
}

/// Logs the users past `[quota] warn_percent` every `interval` (the daily report), until
/// `stop`.
pub async fn quota_report(
    directory: Directory,
    warn_percent: u8,
    interval: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = crate::listener::stopped(&mut stop) => return,
        }
        match directory
            .quota_usage_at_least(i64::from(warn_percent))
            .await
        {
            Ok(users) => {
                tracing::info!(users = users.len(), warn_percent, "quota report");
                for u in users {
                    tracing::warn!(user = %u.email, used = u.used, quota = u.quota, percent = u.percent, "mailbox near or over its quota");
                }
            }
            Err(e) => tracing::error!(error = %e, "quota report failed"),
        }
    }
}
