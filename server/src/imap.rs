//! The IMAP service and how its connections are served.

use std::sync::Arc;
use std::time::Duration;

use baedal_auth::Authenticator;
use baedal_protocol::imap::{ImapLimits, ImapService, Session};
use baedal_storage::{Directory, MailStore, Spool};
use tokio_rustls::TlsAcceptor;

use crate::config::Config;
use crate::listener::SessionFn;

pub fn service(
    config: &Config,
    directory: Directory,
    authenticator: Authenticator,
    store: MailStore,
    tls: TlsAcceptor,
) -> anyhow::Result<Arc<ImapService>> {
    let spool = Spool::new(config.spool_dir(), &config.hostname)?;
    let limits = ImapLimits {
        idle_timeout: Duration::from_secs(config.imap.idle_timeout),
        auth_failure_delay: Duration::from_millis(config.imap.auth_failure_delay_ms),
        max_command: config
            .imap
            .max_command_size
            .bytes()
            .and_then(|b| u32::try_from(b).ok())
            .unwrap_or(1024 * 1024),
        ..ImapLimits::default()
    };
    Ok(Arc::new(ImapService {
        hostname: config.hostname.clone(),
        authenticator,
        directory,
        store,
        tls: Some(tls),
        limits,
        spool,
    }))
}

pub fn session(service: Arc<ImapService>) -> SessionFn {
    Arc::new(move |stream, info| {
        let service = Arc::clone(&service);
        Box::pin(async move { Session::new(service, info, stream).run().await })
    })
}

pub fn refusal() -> Arc<[u8]> {
    Arc::from(&b"* BYE Too many connections, try again later\r\n"[..])
}

/// Removes the objects of expunged messages once `grace` has passed since their expunge
/// (sessions not yet told of it may fetch them until then), and forgets their UIDs after
/// `vanished_lifetime` (QRESYNC), every few minutes, until `stop`.
pub async fn expunged_purge(
    store: MailStore,
    grace: Duration,
    vanished_lifetime: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let interval =
        (grace.min(vanished_lifetime) / 2).clamp(Duration::from_secs(1), Duration::from_secs(300));
    loop {
        let now = baedal_storage::clock::now_secs();
        match store.purge_expunged(now - grace.as_secs() as i64).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "removed the objects of expunged messages"),
            Err(e) => tracing::error!(error = %e, "purge of expunged messages failed"),
        }
        match store
            .prune_vanished(now - vanished_lifetime.as_secs() as i64)
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(pruned = n, "forgot the UIDs of messages expunged long ago"),
            Err(e) => tracing::error!(error = %e, "pruning of expunged UIDs failed"),
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = crate::listener::stopped(&mut stop) => return,
        }
    }
}
