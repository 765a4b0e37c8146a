//! A small pool of LDAP connections, so a login costs binds and a search, not a TCP and
//! TLS handshake.
//!
//! A connection leaves the pool for one operation and comes back only if that operation
//! ended cleanly; a connection that failed or was closed by the server is dropped. Since
//! a login rebinds the connection as the user, every checkout binds as the service
//! account again before it searches.

use std::sync::{Arc, Mutex};

use ldap3::{Ldap, LdapConnAsync, LdapConnSettings};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{LdapError, LdapSettings};

pub(super) struct Pool {
    settings: Arc<LdapSettings>,
    tls: Option<Arc<rustls::ClientConfig>>,
    idle: Mutex<Vec<Ldap>>,
    permits: Arc<Semaphore>,
}

/// A connection bound as the service account, out of the pool for one operation.
pub(super) struct Checkout {
    pub ldap: Ldap,
    _permit: OwnedSemaphorePermit,
}

impl Pool {
    pub fn new(settings: Arc<LdapSettings>, tls: Option<Arc<rustls::ClientConfig>>) -> Self {
        let size = settings.pool_size.max(1);
        Self {
            settings,
            tls,
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(size)),
        }
    }

    /// A connection bound as the service account: an idle one if the server still holds
    /// it, else a new one.
    pub async fn checkout(&self) -> Result<Checkout, LdapError> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| LdapError::Unreachable("the LDAP pool is closed".into()))?;
        while let Some(mut ldap) = self.take_idle() {
            if ldap.is_closed() {
                continue;
            }
            match self.service_bind(&mut ldap).await {
                Ok(()) => {
                    return Ok(Checkout {
                        ldap,
                        _permit: permit,
                    });
                }
                // The server may have closed an idle connection: try a fresh one.
                Err(LdapError::Unreachable(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        let mut ldap = self.connect().await?;
        self.service_bind(&mut ldap).await?;
        Ok(Checkout {
            ldap,
            _permit: permit,
        })
    }

    /// Returns a connection whose operation ended cleanly.
    pub fn checkin(&self, checkout: Checkout) {
        let Checkout { ldap, _permit } = checkout;
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(ldap);
        }
    }

    fn take_idle(&self) -> Option<Ldap> {
        self.idle.lock().ok().and_then(|mut idle| idle.pop())
    }

    async fn connect(&self) -> Result<Ldap, LdapError> {
        let s = &self.settings;
        let mut conn_settings = LdapConnSettings::new()
            .set_conn_timeout(s.timeout)
            .set_starttls(s.starttls);
        if let Some(tls) = &self.tls {
            conn_settings = conn_settings.set_config(tls.clone());
        }
        let (conn, ldap) = LdapConnAsync::with_settings(conn_settings, &s.url)
            .await
            .map_err(|e| LdapError::Unreachable(format!("{}: {e}", s.url)))?;
        tokio::spawn(async move {
            if let Err(e) = conn.drive().await {
                tracing::debug!(error = %e, "LDAP connection ended");
            }
        });
        Ok(ldap)
    }

    /// Binds as the configured service account (never anonymously: the configuration
    /// refuses an empty bind DN or password).
    async fn service_bind(&self, ldap: &mut Ldap) -> Result<(), LdapError> {
        let s = &self.settings;
        let result = ldap
            .with_timeout(s.timeout)
            .simple_bind(&s.bind_dn, &s.bind_password)
            .await
            .map_err(|e| LdapError::Unreachable(e.to_string()))?;
        if result.rc != 0 {
            return Err(LdapError::ServiceBind(format!(
                "{} (rc {})",
                result.text, result.rc
            )));
        }
        Ok(())
    }
}
