//! The POP3 service, how its connections are served, and the retention sweeper.

use std::sync::Arc;
use std::time::Duration;

use baedal_auth::Authenticator;
use baedal_protocol::pop3::{MaildropLocks, Pop3Limits, Pop3Service, Session};
use baedal_storage::{Directory, MailStore};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::config::Config;
use crate::listener::{SessionFn, stopped};

pub fn service(
    config: &Config,
    directory: Directory,
    authenticator: Authenticator,
    store: MailStore,
    tls: TlsAcceptor,
    locks: Arc<MaildropLocks>,
) -> Arc<Pop3Service> {
    Arc::new(Pop3Service {
        hostname: config.hostname.clone(),
        directory,
        authenticator,
        store,
        tls: Some(tls),
        limits: Pop3Limits {
            idle_timeout: Duration::from_secs(config.pop3.idle_timeout),
            auth_failure_delay: Duration::from_millis(config.pop3.auth_failure_delay_ms),
        },
        retention_days: config.pop3.retention_days,
        locks,
    })
}

pub fn session(service: Arc<Pop3Service>) -> SessionFn {
    Arc::new(move |stream, info| {
        let service = Arc::clone(&service);
        Box::pin(async move { Session::new(service, info, stream).run().await })
    })
}

pub fn refusal() -> Arc<[u8]> {
    Arc::from(&b"-ERR [SYS/TEMP] Too many connections, try again later\r\n"[..])
}

/// Expunges POP3-retrieved mail past its retention, every `interval`, until `stop`.
pub async fn sweeper(
    store: MailStore,
    default_days: i64,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        match store
            .expire_pop3_retrieved(baedal_storage::clock::now_secs(), default_days)
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "POP3 retention: expunged retrieved messages"),
            Err(e) => tracing::error!(error = %e, "POP3 retention sweep failed"),
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = stopped(&mut stop) => return,
        }
    }
}
