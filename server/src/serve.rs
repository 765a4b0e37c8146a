//! `baedal serve`: opens the stores, binds every configured listener, tells systemd it is
//! ready, reloads on SIGHUP (a new [`Generation`] of services behind the same sockets) and
//! runs until SIGINT or SIGTERM.

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

use baedal_protocol::pop3::MaildropLocks;
use baedal_storage::{Directory, MailStore, Queue};
use tokio_rustls::TlsAcceptor;

use crate::config::{Addresses, Loaded, Source};
use crate::generation::{Generation, Limiters, Stores};
use crate::lifecycle::{self, Reloader, Request, Signals, Status};
use crate::listener::{self, Listener, SessionSlot};
use crate::{blobs, console, database, http, imap, pop3, smtp, tls};

/// Where the bound addresses are written (`run/listeners.json` in the data dir), so that
/// tools and tests using port 0 find the real ports.
pub fn listeners_file(data_dir: &Path) -> PathBuf {
    data_dir.join("run").join("listeners.json")
}

pub async fn run(loaded: Loaded, reloader: Reloader) -> Result<()> {
    // From here on SIGHUP and SIGTERM are ours, even while the stores open.
    let mut signals = Signals::install()?;
    crate::status::started();
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

    // Authentication, delivery and error events for the console's log search.
    baedal_storage::events::install(db.clone());

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
    let admin_listeners = bind(&config.listen.admin, "admin", &mut bound).await?;

    let directory =
        Directory::new(db.clone()).with_role_fallback(Some(config.smtp.postmaster.clone()));
    let blobs = blobs::open(config, true).await;
    tracing::info!(backend = ?config.storage.backend, "blob store");
    let queue = Queue::new(db.clone(), Arc::clone(&blobs));
    let health = http::Health {
        db: db.clone(),
        blobs: Arc::clone(&blobs),
        queue: queue.clone(),
        filters: http::FilterSlot::default(),
        autoconfig: config
            .autoconfig
            .enabled
            .then(|| crate::autoconfig::Autoconfig {
                directory: directory.clone(),
                settings: std::sync::Arc::new(crate::autoconfig::Settings {
                    host: if config.autoconfig.host.is_empty() {
                        config.hostname.clone()
                    } else {
                        config.autoconfig.host.clone()
                    },
                    imap_port: config.autoconfig.imap_port,
                    pop3_port: config.autoconfig.pop3_port,
                    submission_port: config.autoconfig.submission_port,
                    mta_sts_mode: config.mta_sts.mode.clone(),
                    mta_sts_max_age: config.mta_sts.max_age,
                }),
            }),
        dirs: vec![
            ("data", config.data_dir.clone()),
            ("spool", config.spool_dir()),
        ],
    };
    for listener in http_listeners {
        tasks.spawn(http::serve(listener, health.clone(), stop_rx.clone()));
    }
    console::start(
        config,
        &db,
        Arc::clone(&blobs),
        admin_listeners,
        TlsAcceptor::from(Arc::clone(&certificate.rustls)),
        stop_rx.clone(),
        &mut tasks,
    )
    .await?;
    let stores = Stores {
        directory,
        quarantine: baedal_storage::Quarantine::new(db.clone(), Arc::clone(&blobs)),
        store: MailStore::new(db.clone(), blobs),
        queue,
        acceptor: TlsAcceptor::from(Arc::clone(&certificate.rustls)),
        wake: Arc::new(tokio::sync::Notify::new()),
        maildrop_locks: MaildropLocks::new(),
    };
    let mut current = Generation::build(config.clone(), &stores, None)?;
    health.filters.set(current.filters());
    let limiters = Limiters::new(config);
    let mut slots: Vec<(&'static str, Arc<SessionSlot>)> = Vec::new();
    for (name, implicit_tls) in MAIL_LISTENERS {
        let slot = SessionSlot::new(current.session(name));
        let refusal = refusal(name);
        for socket in bind(config.listen.get(name), name, &mut bound).await? {
            let listener = Listener {
                protocol: name,
                socket,
                implicit_tls: implicit_tls.then(|| stores.acceptor.clone()),
                limiter: Arc::clone(limiters.for_listener(name)),
                refusal: Arc::clone(&refusal),
                session: Arc::clone(&slot),
            };
            tasks.spawn(listener::serve(listener, stop_rx.clone()));
        }
        slots.push((name, slot));
    }
    current.start_jobs(&mut tasks, &stores, None);
    let listeners_path = listeners_file(&data_dir);
    write_listeners(&listeners_path, &bound)?;
    crate::status::set_listeners(&bound);
    tracing::info!("baedal ready");
    lifecycle::notify(Status::Ready);

    while signals.next().await == Request::Reload {
        lifecycle::notify(Status::Reloading);
        let next = reloader.prepare(&current.config).and_then(|reload| {
            let next = Generation::build(reload.config.clone(), &stores, Some(&current))?;
            Ok((reload, next))
        });
        match next {
            Ok((reload, next)) => {
                for (name, slot) in &slots {
                    slot.replace(next.session(name));
                }
                limiters.apply(&next.config);
                next.start_jobs(&mut tasks, &stores, Some(&current));
                current.retire();
                // Certificate and log level last: the log line that says the reload is
                // done comes when all of it is.
                reloader.apply(reload, &current.config, &certificate.slot);
                current = next;
                health.filters.set(current.filters());
                // Reap the jobs of earlier generations that have finished.
                while tasks.try_join_next().is_some() {}
            }
            Err(e) => tracing::error!(error = %format!("{e:#}"), "reload failed: nothing changed"),
        }
        lifecycle::notify(Status::Ready);
    }
    lifecycle::notify(Status::Stopping);
    let grace = Duration::from_secs(current.config.shutdown.timeout);
    tracing::info!(
        timeout_secs = grace.as_secs(),
        "stopping: no new connections, open sessions may finish"
    );
    current.retire();
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

/// Every mail listener: its `[listen]` key, and whether it starts in TLS.
const MAIL_LISTENERS: [(&str, bool); 8] = [
    ("smtp", false),
    ("smtps", true),
    ("submission", false),
    ("submissions", true),
    ("pop3", false),
    ("pop3s", true),
    ("imap", false),
    ("imaps", true),
];

/// What the listener `name` sends before closing when a connection limit is reached.
fn refusal(name: &str) -> Arc<[u8]> {
    match name {
        "pop3" | "pop3s" => pop3::refusal(),
        "imap" | "imaps" => imap::refusal(),
        _ => smtp::refusal(),
    }
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
