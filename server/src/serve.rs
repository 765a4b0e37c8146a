//! `baedal serve`: opens the stores, binds every configured listener, tells systemd it is
//! ready, reloads on SIGHUP and runs until SIGINT or SIGTERM.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use baedal_storage::db::redact_url;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use std::sync::Arc;

use baedal_storage::{Directory, MailStore, Queue};
use tokio_rustls::TlsAcceptor;

use crate::config::{Addresses, Loaded, Source};
use crate::lifecycle::{self, Reloader, Request, Signals, Status};
use crate::limits::ConnectionLimiter;
use crate::listener::{self, Listener};
use crate::outbound::Outbound;
use crate::{auth, blobs, database, http, imap, pop3, smtp, tls};

/// Where the bound addresses are written (`run/listeners.json` in the data dir), so that
/// tools and tests using port 0 find the real ports.
pub fn listeners_file(data_dir: &Path) -> PathBuf {
    data_dir.join("run").join("listeners.json")
}

pub async fn run(loaded: Loaded, reloader: Reloader) -> Result<()> {
    // From here on SIGHUP and SIGTERM are ours, even while the stores open.
    let mut signals = Signals::install()?;
    let mut config = loaded.config;
    match &loaded.source {
        Source::File(path) => tracing::info!(file = %path.display(), "configuration loaded"),
        Source::Embedded => tracing::info!("no configuration file: embedded defaults"),
    }
    std::fs::create_dir_all(&config.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            config.data_dir.display()
        )
    })?;
    // Absolute from here on, so every logged path is one an operator can open.
    config.data_dir = config.data_dir.canonicalize()?;
    let config = &config;
    let data_dir = config.data_dir.clone();
    tracing::info!(data_dir = %data_dir.display(), hostname = %config.hostname, "data directory");

    let (db, migrations) = database::open(config).await?;
    tracing::info!(
        database = %redact_url(&config.database_url()),
        migrations_applied = migrations.applied.len(),
        migrations_known = migrations.known,
        "database ready"
    );

    let certificate = tls::prepare(config)?;
    tracing::info!(
        cert = %certificate.cert_path.display(),
        key = %certificate.key_path.display(),
        generated = certificate.generated,
        "TLS certificate"
    );

    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let mut bound: BTreeMap<&'static str, Vec<SocketAddr>> = BTreeMap::new();
    let http_listeners = bind(&config.listen.http, "http", &mut bound).await?;

    let directory = Directory::new(db.clone());
    let ldap = auth::ldap_directory(config)?;
    let authenticator = auth::authenticator(config, directory.clone(), ldap.clone());
    let blobs = blobs::open(config, true).await;
    tracing::info!(backend = ?config.storage.backend, "blob store");
    let store = MailStore::new(db.clone(), Arc::clone(&blobs));
    let acceptor = TlsAcceptor::from(Arc::clone(&certificate.rustls));
    let queue = Queue::new(db.clone(), Arc::clone(&blobs));
    let health = http::Health {
        db: db.clone(),
        blobs,
        queue: queue.clone(),
    };
    for listener in http_listeners {
        tasks.spawn(http::serve(listener, health.clone(), stop_rx.clone()));
    }
    let wake = Arc::new(tokio::sync::Notify::new());
    let workers = Arc::new(Outbound::new(
        config,
        queue.clone(),
        directory.clone(),
        store.clone(),
        Arc::clone(&wake),
    )?);
    let outbound = baedal_protocol::smtp::Outbound {
        queue,
        lifetime_secs: config.queue.lifetime as i64,
        wake,
    };
    let (smtp_service, submission_service) = smtp::services(
        config,
        directory.clone(),
        authenticator.clone(),
        store.clone(),
        acceptor.clone(),
        outbound,
    )?;
    let smtp_limiter = ConnectionLimiter::new(
        config.smtp.max_connections,
        config.smtp.max_connections_per_ip,
    );
    let pop3_service = pop3::service(
        config,
        directory.clone(),
        authenticator.clone(),
        store.clone(),
        acceptor.clone(),
    );
    let imap_service = imap::service(
        config,
        directory.clone(),
        authenticator,
        store.clone(),
        acceptor.clone(),
    )?;
    let imap_limiter = ConnectionLimiter::new(
        config.imap.max_connections,
        config.imap.max_connections_per_ip,
    );
    let pop3_limiter = ConnectionLimiter::new(
        config.pop3.max_connections,
        config.pop3.max_connections_per_ip,
    );
    let mail_listeners = [
        (
            &config.listen.smtp,
            "smtp",
            false,
            &smtp_limiter,
            smtp::session(Arc::clone(&smtp_service)),
            smtp::refusal(),
        ),
        (
            &config.listen.smtps,
            "smtps",
            true,
            &smtp_limiter,
            smtp::session(Arc::clone(&smtp_service)),
            smtp::refusal(),
        ),
        (
            &config.listen.submission,
            "submission",
            false,
            &smtp_limiter,
            smtp::session(Arc::clone(&submission_service)),
            smtp::refusal(),
        ),
        (
            &config.listen.submissions,
            "submissions",
            true,
            &smtp_limiter,
            smtp::session(Arc::clone(&submission_service)),
            smtp::refusal(),
        ),
        (
            &config.listen.pop3,
            "pop3",
            false,
            &pop3_limiter,
            pop3::session(Arc::clone(&pop3_service)),
            pop3::refusal(),
        ),
        (
            &config.listen.pop3s,
            "pop3s",
            true,
            &pop3_limiter,
            pop3::session(Arc::clone(&pop3_service)),
            pop3::refusal(),
        ),
        (
            &config.listen.imap,
            "imap",
            false,
            &imap_limiter,
            imap::session(Arc::clone(&imap_service)),
            imap::refusal(),
        ),
        (
            &config.listen.imaps,
            "imaps",
            true,
            &imap_limiter,
            imap::session(Arc::clone(&imap_service)),
            imap::refusal(),
        ),
    ];
    for (addresses, name, implicit_tls, limiter, session, refusal) in mail_listeners {
        for socket in bind(addresses, name, &mut bound).await? {
            let listener = Listener {
                protocol: name,
                socket,
                implicit_tls: implicit_tls.then(|| acceptor.clone()),
                limiter: Arc::clone(limiter),
                refusal: Arc::clone(&refusal),
                session: Arc::clone(&session),
            };
            tasks.spawn(listener::serve(listener, stop_rx.clone()));
        }
    }
    tasks.spawn(workers.run(stop_rx.clone()));
    if let Some(ldap) = ldap
        && config.ldap.sync_interval > 0
    {
        tasks.spawn(auth::periodic_sync(
            ldap,
            directory,
            Duration::from_secs(config.ldap.sync_interval),
            stop_rx.clone(),
        ));
    }
    tasks.spawn(pop3::sweeper(
        store,
        config.pop3.retention_days,
        Duration::from_secs(config.pop3.sweep_interval),
        stop_rx.clone(),
    ));
    let listeners_path = listeners_file(&data_dir);
    write_listeners(&listeners_path, &bound)?;
    tracing::info!("baedal ready");
    lifecycle::notify(Status::Ready);

    let mut running = config.clone();
    while signals.next().await == Request::Reload {
        lifecycle::notify(Status::Reloading);
        match reloader.reload(&running, &certificate.slot) {
            Ok(in_force) => running = in_force,
            Err(e) => tracing::error!(error = %format!("{e:#}"), "reload failed: nothing changed"),
        }
        lifecycle::notify(Status::Ready);
    }
    lifecycle::notify(Status::Stopping);
    let grace = Duration::from_secs(config.shutdown.timeout);
    tracing::info!(
        timeout_secs = grace.as_secs(),
        "stopping: no new connections, open sessions may finish"
    );
    let _ = stop_tx.send(true);
    if tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} })
        .await
        .is_err()
    {
        tracing::warn!("sessions still open after the grace period: closing them");
        tasks.abort_all();
    }
    let _ = std::fs::remove_file(&listeners_path);
    db.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Binds every address of one listener setting, recording the bound addresses.
async fn bind(
    addresses: &Addresses,
    name: &'static str,
    bound: &mut BTreeMap<&'static str, Vec<SocketAddr>>,
) -> Result<Vec<TcpListener>> {
    let mut listeners = Vec::new();
    for addr in addresses.socket_addrs() {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr} (listen.{name})"))?;
        let local = listener.local_addr()?;
        tracing::info!(protocol = name, address = %local, "listening");
        bound.entry(name).or_default().push(local);
        listeners.push(listener);
    }
    Ok(listeners)
}

fn write_listeners(path: &Path, bound: &BTreeMap<&str, Vec<SocketAddr>>) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(bound)?)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}
