//! The SMTP (MX) service and how its connections are served.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use baedal_protocol::smtp::{Session, SmtpLimits, SmtpService};
use baedal_storage::{Directory, MailStore, Spool};
use tokio_rustls::TlsAcceptor;

use crate::config::Config;
use crate::listener::SessionFn;

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
