//! The accept loop every mail protocol shares: connection limits, optional implicit TLS,
//! one task per session, and a clean stop.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use baedal_protocol::ConnectionInfo;
use baedal_protocol::shutdown::ShutdownSignal;
use baedal_protocol::stream::BoxStream;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::limits::ConnectionLimiter;

/// How long an implicit-TLS handshake may take.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// Runs one session on an accepted (and, for implicit TLS, decrypted) stream.
pub type SessionFn = Arc<
    dyn Fn(BoxStream, ConnectionInfo) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync,
>;

/// The session factory of one kind of listener; a reload swaps it for new connections,
/// while sessions already running keep the one they started with.
pub struct SessionSlot(RwLock<SessionFn>);

impl SessionSlot {
    pub fn new(session: SessionFn) -> Arc<Self> {
        Arc::new(Self(RwLock::new(session)))
    }

    pub fn current(&self) -> SessionFn {
        Arc::clone(&self.0.read().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn replace(&self, session: SessionFn) {
        *self.0.write().unwrap_or_else(|p| p.into_inner()) = session;
    }
}

/// One listening socket and how its connections are served.
pub struct Listener {
    /// The listener's name in logs and metrics (`"smtp"`, `"imaps"`, ...).
    pub protocol: &'static str,
    pub socket: TcpListener,
    /// Set for implicit TLS (465, 993, 995).
    pub implicit_tls: Option<TlsAcceptor>,
    pub limiter: Arc<ConnectionLimiter>,
    /// Sent, then the connection closed, when a limit is reached.
    pub refusal: Arc<[u8]>,
    pub session: Arc<SessionSlot>,
}

/// Accepts connections until `stop`, then closes the listening socket (new clients are
/// refused at once instead of waiting in the backlog) and waits for the open sessions to end.
pub async fn serve(listener: Listener, mut stop: watch::Receiver<bool>) {
    let Listener {
        protocol,
        socket: listening,
        implicit_tls,
        limiter,
        refusal,
        session,
    } = listener;
    let local = listening.local_addr().ok();
    let mut sessions = JoinSet::new();
    loop {
        let (mut socket, peer) = tokio::select! {
            accepted = listening.accept() => match accepted {
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
            let _ = socket.write_all(&refusal).await;
            continue;
        };
        let _ = socket.set_nodelay(true);
        let info = ConnectionInfo {
            session_id: format!("{:016x}", rand::random::<u64>()),
            peer,
            local: local.unwrap_or(peer),
            tls: implicit_tls.is_some(),
            shutdown: ShutdownSignal::new(stop.clone()),
        };
        let implicit_tls = implicit_tls.clone();
        let session = session.current();
        let open = baedal_metrics::connection_opened(protocol);
        sessions.spawn(async move {
            let _permit = permit;
            let _open = open;
            let stream: BoxStream = match implicit_tls {
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
            session(stream, info).await;
        });
    }
    drop(listening);
    let open = sessions.len();
    if open > 0 {
        tracing::info!(address = ?local, open, "listener closed: waiting for its sessions");
    }
    while sessions.join_next().await.is_some() {}
}

/// Resolves once `stop` turns true (or its sender is gone).
pub async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}
