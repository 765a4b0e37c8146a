//! `[ldap]` and `[auth]`: the directory of LDAP domains, and the login chain's cache,
//! lockout and fallback.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// An LDAP outcome that may go on to the local password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LdapFallbackCase {
    /// The server cannot be reached, times out or fails.
    Unreachable,
    /// The directory has no such person.
    NoSuchUser,
    /// The directory refused the password.
    WrongPassword,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LdapConfig {
    /// `ldaps://HOST:636`, or `ldap://HOST:389` with `starttls = true`; never plain.
    pub url: String,
    pub starttls: bool,
    /// CA certificate that signed the server's; unset = the system's trusted CAs.
    pub ca_file: Option<PathBuf>,
    /// The service account the server searches with (never anonymous).
    pub bind_dn: String,
    pub bind_password: String,
    /// Default search base; a domain's own ldap_base_dn wins.
    pub base_dn: String,
    /// `{user}` is the local part, `{email}` the whole address; values are escaped.
    pub user_filter: String,
    /// Which entries `baedal ldap sync` copies.
    pub sync_filter: String,
    pub mail_attribute: String,
    pub display_name_attribute: String,
    pub department_attribute: String,
    /// Seconds to wait for a connection or one LDAP operation.
    pub timeout: u64,
    /// Connections kept open to the server.
    pub pool_size: usize,
    /// Seconds between automatic syncs of every LDAP domain; 0 = only `baedal ldap sync`.
    pub sync_interval: u64,
    /// LDAP outcomes after which the local password is tried (the PRD: all of them).
    pub fallback: Vec<LdapFallbackCase>,
}

impl Default for LdapConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            starttls: false,
            ca_file: None,
            bind_dn: String::new(),
            bind_password: String::new(),
            base_dn: String::new(),
            user_filter: "(|(uid={user})(mail={email}))".into(),
            sync_filter: "(mail=*)".into(),
            mail_attribute: "mail".into(),
            display_name_attribute: "displayName".into(),
            department_attribute: "departmentNumber".into(),
            timeout: 5,
            pool_size: 8,
            sync_interval: 3600,
            fallback: vec![
                LdapFallbackCase::Unreachable,
                LdapFallbackCase::NoSuchUser,
                LdapFallbackCase::WrongPassword,
            ],
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Seconds a successful login is remembered (HMACs, never passwords); 0 = no cache.
    pub cache_ttl: u64,
    /// Failures of one account from one IP that lock it; 0 = no lockout.
    pub lockout_threshold: u32,
    /// Failures from one IP over all accounts that lock the IP; 0 = no limit.
    pub lockout_ip_threshold: u32,
    /// Seconds failures count, from the first.
    pub lockout_window: u64,
    /// Milliseconds added to the first refused attempt, doubled for each further one.
    pub lockout_delay_ms: u64,
    /// The longest added delay, in milliseconds.
    pub lockout_max_delay_ms: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            cache_ttl: 300,
            lockout_threshold: 5,
            lockout_ip_threshold: 100,
            lockout_window: 900,
            lockout_delay_ms: 1000,
            lockout_max_delay_ms: 30_000,
        }
    }
}
