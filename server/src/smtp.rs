//! The SMTP (MX) listeners: accept, limit, optional implicit TLS, one session per
//! connection.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use baedal_protocol::smtp::{ConnectionInfo, Session, SmtpLimits, SmtpService, reply};
use baedal_storage::{Directory, MailStore, Spool};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::config::Config;
use crate::limits::ConnectionLimiter;

/// How long an implicit-TLS handshake may take.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

pub fn service(
    config: &Config,
    directory: Directory,
    store: MailStore,
    tls: TlsAcceptor,
) -> Result<Arc<SmtpService>> {
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
    Ok(Arc::new(SmtpService {
        hostname: config.hostname.clone(),
        limits,
        directory,
        store,
        spool,
        tls: Some(tls),
        vrfy: config.smtp.vrfy,
    }))
}

/// Accepts connections until `stop`, then waits for the open sessions to end.
pub async fn serve(
    listener: TcpListener,
    service: Arc<SmtpService>,
    implicit_tls: Option<TlsAcceptor>,
    limiter: Arc<ConnectionLimiter>,
    mut stop: watch::Receiver<bool>,
) {
    let local = listener.local_addr().ok();
    let mut sessions = JoinSet::new();
    loop {
        let (mut socket, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = stopped(&mut stop) => break,
        };
        // Reap finished sessions so the set does not grow.
        while sessions.try_join_next().is_some() {}
        let Some(permit) = limiter.try_acquire(peer.ip()) else {
            tracing::info!(%peer, "connection refused: too many connections");
            let mut out = Vec::new();
            reply::TOO_MANY_CONNECTIONS.write_to(&mut out);
            let _ = socket.write_all(&out).await;
            continue;
        };
        let _ = socket.set_nodelay(true);
        let info = ConnectionInfo {
            session_id: format!("{:016x}", rand::random::<u64>()),
            peer,
            local: local.unwrap_or(peer),
            tls: implicit_tls.is_some(),
        };
        let service = Arc::clone(&service);
        let implicit_tls = implicit_tls.clone();
        sessions.spawn(async move {
            let _permit = permit;
            let stream: baedal_protocol::stream::BoxStream = match implicit_tls {
                None => Box::new(socket),
                Some(acceptor) => {
                    match tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(socket)).await
                    {
                        Ok(Ok(tls)) => Box::new(tls),
                        Ok(Err(e)) => {
                            tracing::info!(%peer, error = %e, "TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::info!(%peer, "TLS handshake timed out");
                            return;
                        }
                    }
                }
            };
            Session::new(service, info, stream).run().await;
        });
    }
    while sessions.join_next().await.is_some() {}
}

/// Resolves once `stop` turns true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}
