//! The login chain from the configuration: LDAP directory, cache, lockout, fallback; and
//! the periodic LDAP sync.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use baedal_auth::ldap::sync::{Quiet, sync_domains};
use baedal_auth::ldap::{LdapDirectory, LdapSettings};
use baedal_auth::{AuthSettings, Authenticator, LdapFallback, LockoutPolicy};
use baedal_storage::Directory;
use tokio::sync::watch;

use crate::config::{Config, LdapFallbackCase};

/// The LDAP directory when `[ldap] url` is set.
pub fn ldap_directory(config: &Config) -> Result<Option<Arc<LdapDirectory>>> {
    let c = &config.ldap;
    if c.url.is_empty() {
        return Ok(None);
    }
    let settings = LdapSettings {
        url: c.url.clone(),
        starttls: c.starttls,
        ca_file: c.ca_file.clone(),
        bind_dn: c.bind_dn.clone(),
        bind_password: c.bind_password.clone(),
        base_dn: c.base_dn.clone(),
        user_filter: c.user_filter.clone(),
        sync_filter: c.sync_filter.clone(),
        mail_attribute: c.mail_attribute.clone(),
        display_name_attribute: c.display_name_attribute.clone(),
        department_attribute: c.department_attribute.clone(),
        timeout: Duration::from_secs(c.timeout),
        pool_size: c.pool_size,
    };
    let directory = LdapDirectory::new(settings).context("[ldap]")?;
    Ok(Some(Arc::new(directory)))
}

/// The chain every listener shares.
pub fn authenticator(
    config: &Config,
    directory: Directory,
    ldap: Option<Arc<LdapDirectory>>,
) -> Authenticator {
    let a = &config.auth;
    let falls = |case| config.ldap.fallback.contains(&case);
    let settings = AuthSettings {
        cache_ttl: Duration::from_secs(a.cache_ttl),
        lockout: LockoutPolicy {
            threshold: a.lockout_threshold,
            ip_threshold: a.lockout_ip_threshold,
            window: Duration::from_secs(a.lockout_window),
            delay: Duration::from_millis(a.lockout_delay_ms),
            max_delay: Duration::from_millis(a.lockout_max_delay_ms),
        },
        ldap_fallback: LdapFallback {
            unreachable: falls(LdapFallbackCase::Unreachable),
            no_such_entry: falls(LdapFallbackCase::NoSuchUser),
            invalid_credentials: falls(LdapFallbackCase::WrongPassword),
        },
    };
    Authenticator::new(directory, ldap, settings)
}

/// Syncs every LDAP domain every `interval` (the first run one interval after start),
/// until `stop`.
pub async fn periodic_sync(
    ldap: Arc<LdapDirectory>,
    directory: Directory,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => return,
        }
        match sync_domains(&ldap, &directory, None, false, &Quiet).await {
            Ok(reports) => {
                let changed: usize = reports
                    .iter()
                    .map(|r| r.created.len() + r.updated.len() + r.disabled.len())
                    .sum();
                crate::status::ldap_synced(
                    true,
                    format!("{} domains, {changed} accounts changed", reports.len()),
                );
                for r in reports {
                    tracing::info!(
                        domain = %r.domain,
                        created = r.created.len(),
                        updated = r.updated.len(),
                        disabled = r.disabled.len(),
                        unchanged = r.unchanged,
                        "LDAP sync"
                    );
                }
            }
            Err(e) => {
                crate::status::ldap_synced(false, e.to_string());
                tracing::warn!(error = %e, "LDAP sync failed");
            }
        }
    }
}

/// The chain for `baedal auth test`: LDAP and fallback as configured, but no cache and no
/// lockout (one process per command).
pub fn admin_authenticator(
    config: &Config,
    directory: Directory,
    ldap: Option<Arc<LdapDirectory>>,
) -> Authenticator {
    let mut config = config.clone();
    config.auth.cache_ttl = 0;
    config.auth.lockout_threshold = 0;
    config.auth.lockout_ip_threshold = 0;
    authenticator(&config, directory, ldap)
}
