//! The login chain every protocol uses (IMAP, POP3, SMTP AUTH): lockout check, cache,
//! LDAP for `ldap` domains, then the local bcrypt password (DESIGN: Authentication).
//!
//! Every failure is logged in one line a fail2ban filter can match:
//! `auth failed user=USER ip=IP proto=PROTO reason=REASON`.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use baedal_storage::events::{self, Event, EventKind};
use baedal_storage::{AuthSource, AuthType, Directory, Domain, EmailAddress, User};

use crate::cache::{AuthCache, Remembered};
use crate::ldap::{LdapDirectory, LdapVerdict};
use crate::lockout::{Lockout, LockoutPolicy};
use crate::password::verify_password;
use crate::{AuthError, provision};

/// Longest password looked at; longer ones fail without a check.
const MAX_PASSWORD: usize = 1024;
/// Longest user name written to the log.
const MAX_LOGGED_USER: usize = 128;

/// Which LDAP outcomes go on to the local password (config `[auth] ldap_fallback`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LdapFallback {
    /// The server cannot be reached or fails (the PRD: keep mail working during an
    /// LDAP outage).
    pub unreachable: bool,
    /// The directory has no such person (local-only accounts in an LDAP domain).
    pub no_such_entry: bool,
    /// The directory refused the password (a local password still opens the account).
    pub invalid_credentials: bool,
}

impl LdapFallback {
    /// The site PRD: any LDAP failure falls through to the local password.
    pub const ALL: Self = Self {
        unreachable: true,
        no_such_entry: true,
        invalid_credentials: true,
    };
}

#[derive(Debug, Clone)]
pub struct AuthSettings {
    pub cache_ttl: Duration,
    pub lockout: LockoutPolicy,
    pub ldap_fallback: LdapFallback,
}

/// One login attempt as a protocol saw it.
#[derive(Debug, Clone, Copy)]
pub struct LoginAttempt<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub ip: IpAddr,
    /// `imap`, `pop3` or `smtp`, for the log line.
    pub protocol: &'static str,
}

/// The account a login opened.
#[derive(Debug, Clone)]
pub struct Login {
    pub user: User,
    pub source: AuthSource,
    /// Answered from the credentials cache.
    pub cached: bool,
}

#[derive(Debug, Clone)]
pub enum AuthOutcome {
    Accepted(Box<Login>),
    /// The peer is told only that it failed, after the protocol's delay plus `delay`.
    Rejected {
        reason: &'static str,
        delay: Duration,
    },
}

/// The authentication chain, shared by every listener.
#[derive(Clone)]
pub struct Authenticator {
    inner: Arc<Inner>,
}

struct Inner {
    directory: Directory,
    ldap: Option<Arc<LdapDirectory>>,
    cache: AuthCache,
    lockout: Lockout,
    fallback: LdapFallback,
}

/// What the chain learned before it decided.
enum Verdict {
    /// The account, who vouched for it, and whether the cache answered.
    Accepted(Box<User>, AuthSource, bool),
    Rejected(&'static str),
}

impl Authenticator {
    pub fn new(
        directory: Directory,
        ldap: Option<Arc<LdapDirectory>>,
        settings: AuthSettings,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                directory,
                ldap,
                cache: AuthCache::new(settings.cache_ttl),
                lockout: Lockout::new(settings.lockout),
                fallback: settings.ldap_fallback,
            }),
        }
    }

    /// Local passwords only, no cache and no lockout (the CLI's `auth test`).
    pub fn local_only(directory: Directory) -> Self {
        Self::new(
            directory,
            None,
            AuthSettings {
                cache_ttl: Duration::ZERO,
                lockout: LockoutPolicy {
                    threshold: 0,
                    ip_threshold: 0,
                    window: Duration::ZERO,
                    delay: Duration::ZERO,
                    max_delay: Duration::ZERO,
                },
                ldap_fallback: LdapFallback::ALL,
            },
        )
    }

    pub fn directory(&self) -> &Directory {
        &self.inner.directory
    }

    /// Forgets cached logins of `account` (after a password change or a disable).
    pub fn forget(&self, account: &str) {
        self.inner.cache.forget(account);
    }

    /// Logs and counts a SASL exchange too malformed to name a user (or one that asks to
    /// act as somebody else); returns the extra delay, like a rejected login.
    pub fn refuse_malformed(&self, ip: IpAddr, protocol: &'static str) -> Duration {
        let attempt = LoginAttempt {
            username: "",
            password: "",
            ip,
            protocol,
        };
        let now = Instant::now();
        let delay = self
            .inner
            .lockout
            .check(ip, "", now)
            .map_or(Duration::ZERO, |l| l.delay);
        self.inner.lockout.record_failure(ip, "", now);
        log_failure(&attempt, "bad-sasl-response");
        delay
    }

    /// Runs the chain; `Err` only when the directory itself failed (the peer gets a
    /// temporary error, not "wrong password").
    pub async fn authenticate(&self, attempt: LoginAttempt<'_>) -> Result<AuthOutcome, AuthError> {
        let login = attempt.username.trim().to_ascii_lowercase();
        let now = Instant::now();
        let inner = &self.inner;
        if let Some(locked) = inner.lockout.check(attempt.ip, &login, now) {
            let reason = if locked.whole_ip {
                "ip-locked"
            } else {
                "locked"
            };
            baedal_metrics::auth_locked(attempt.protocol);
            log_failure(&attempt, reason);
            return Ok(AuthOutcome::Rejected {
                reason,
                delay: locked.delay,
            });
        }
        let verdict = match self.check(&login, attempt.password, now).await {
            Ok(v) => v,
            Err(e) => {
                events::record(
                    Event::new(EventKind::Error, attempt.protocol, "directory-unavailable")
                        .address(loggable_user(attempt.username).as_str())
                        .ip(attempt.ip)
                        .detail(e.to_string()),
                );
                return Err(e);
            }
        };
        match verdict {
            Verdict::Accepted(user, source, cached) => {
                inner.lockout.record_success(attempt.ip, &login);
                let address = user_address(&user)?;
                // A cached login was recorded when it was first made: last_login is exact to
                // within cache_ttl, and repeat logins do not wait for the database's writer.
                if !cached {
                    inner.directory.record_login(&address, source).await?;
                }
                baedal_metrics::auth_attempt(attempt.protocol, true);
                events::record(
                    Event::new(EventKind::Auth, attempt.protocol, "ok")
                        .address(user.email.as_str())
                        .ip(attempt.ip)
                        .detail(source.as_str()),
                );
                tracing::info!(
                    user = %user.email,
                    ip = %attempt.ip,
                    proto = attempt.protocol,
                    source = source.as_str(),
                    cached,
                    "auth ok"
                );
                Ok(AuthOutcome::Accepted(Box::new(Login {
                    user: *user,
                    source,
                    cached,
                })))
            }
            Verdict::Rejected(reason) => {
                inner.lockout.record_failure(attempt.ip, &login, now);
                log_failure(&attempt, reason);
                Ok(AuthOutcome::Rejected {
                    reason,
                    delay: Duration::ZERO,
                })
            }
        }
    }

    async fn check(&self, login: &str, password: &str, now: Instant) -> Result<Verdict, AuthError> {
        if password.is_empty() {
            return Ok(Verdict::Rejected("empty-password"));
        }
        if password.len() > MAX_PASSWORD {
            return Ok(Verdict::Rejected("password-too-long"));
        }
        let Ok(address) = EmailAddress::parse(login) else {
            return Ok(Verdict::Rejected("not-an-address"));
        };
        let inner = &self.inner;
        let Some(domain) = inner.directory.domain(address.domain()).await? else {
            return Ok(Verdict::Rejected("unknown-domain"));
        };
        if !domain.is_active {
            return Ok(Verdict::Rejected("domain-disabled"));
        }
        if let Some(recalled) = inner.cache.recall(login, password, now)
            && let Ok(account) = EmailAddress::parse(&recalled.account)
            && let Some(user) = inner.directory.user(&account).await?
        {
            let hash = inner.directory.password_hash(&account).await?;
            if user.is_active && inner.cache.confirm(login, &recalled, hash.as_deref()) {
                return Ok(Verdict::Accepted(Box::new(user), recalled.source, true));
            }
        }
        let user = inner.directory.user(&address).await?;
        if user.as_ref().is_some_and(|u| !u.is_active) {
            return Ok(Verdict::Rejected("user-disabled"));
        }
        let mut ldap_refused = false;
        if domain.auth_type == AuthType::Ldap {
            match self
                .check_ldap(&domain, &address, user.as_ref(), password)
                .await?
            {
                LdapStep::Decided(verdict) => {
                    if let Verdict::Accepted(user, source, _) = &verdict {
                        let hash = inner.directory.password_hash(&user_address(user)?).await?;
                        self.remember(login, password, user, *source, hash.as_deref(), now);
                    }
                    return Ok(verdict);
                }
                LdapStep::TryLocal { ldap_refused: r } => ldap_refused = r,
            }
        }
        let Some(user) = user else {
            return Ok(Verdict::Rejected("unknown-user"));
        };
        let Some(hash) = inner.directory.password_hash(&address).await? else {
            // LDAP knew the person and refused the password: that is the news.
            let reason = if ldap_refused {
                "wrong-password"
            } else {
                "no-local-password"
            };
            return Ok(Verdict::Rejected(reason));
        };
        if !verify_password(password.to_string(), hash.clone()).await? {
            return Ok(Verdict::Rejected("wrong-password"));
        }
        self.remember(login, password, &user, AuthSource::Local, Some(&hash), now);
        Ok(Verdict::Accepted(Box::new(user), AuthSource::Local, false))
    }

    async fn check_ldap(
        &self,
        domain: &Domain,
        address: &EmailAddress,
        user: Option<&User>,
        password: &str,
    ) -> Result<LdapStep, AuthError> {
        let fallback = self.inner.fallback;
        let Some(ldap) = &self.inner.ldap else {
            tracing::error!(domain = %domain.domain_name, "the domain authenticates with LDAP, but [ldap] has no url");
            return Ok(LdapStep::unless(fallback.unreachable, "ldap-unavailable"));
        };
        let started = Instant::now();
        let verdict = ldap
            .verify(domain.ldap_base_dn.as_deref(), address, password)
            .await;
        baedal_metrics::ldap_login(started.elapsed(), verdict.is_ok());
        match verdict {
            Ok(LdapVerdict::Bound(entry)) => {
                let user = match user {
                    Some(user) => user.clone(),
                    None => {
                        match provision::account(&self.inner.directory, domain, address, &entry)
                            .await?
                        {
                            Some(user) => user,
                            None => return Ok(LdapStep::Decided(Verdict::Rejected("no-mailbox"))),
                        }
                    }
                };
                if !user.is_active {
                    return Ok(LdapStep::Decided(Verdict::Rejected("user-disabled")));
                }
                Ok(LdapStep::Decided(Verdict::Accepted(
                    Box::new(user),
                    AuthSource::Ldap,
                    false,
                )))
            }
            Ok(LdapVerdict::NoSuchEntry) => Ok(LdapStep::unless(
                fallback.no_such_entry,
                "ldap-no-such-user",
            )),
            Ok(LdapVerdict::InvalidCredentials) => Ok(LdapStep::unless(
                fallback.invalid_credentials,
                "ldap-wrong-password",
            )),
            Err(e) => {
                tracing::warn!(user = %address, error = %e, "LDAP check failed");
                if fallback.unreachable {
                    Ok(LdapStep::TryLocal {
                        ldap_refused: false,
                    })
                } else {
                    Err(AuthError::Ldap(e))
                }
            }
        }
    }

    /// Caches an accepted login with the account's stored hash (as read for this login).
    fn remember(
        &self,
        login: &str,
        password: &str,
        user: &User,
        source: AuthSource,
        stored_hash: Option<&str>,
        now: Instant,
    ) {
        self.inner.cache.remember(
            login,
            password,
            Remembered {
                account: &user.email,
                stored_hash,
                source,
            },
            now,
        );
    }
}

/// After LDAP: decided, or on to the local password (remembering whether LDAP found the
/// person and refused the password).
enum LdapStep {
    Decided(Verdict),
    TryLocal { ldap_refused: bool },
}

impl LdapStep {
    fn unless(fall_through: bool, reason: &'static str) -> Self {
        if fall_through {
            Self::TryLocal {
                ldap_refused: reason == "ldap-wrong-password",
            }
        } else {
            Self::Decided(Verdict::Rejected(reason))
        }
    }
}

fn user_address(user: &User) -> Result<EmailAddress, AuthError> {
    EmailAddress::parse(&user.email)
        .map_err(|_| AuthError::Corrupt(format!("stored address {:?}", user.email)))
}

/// The fail2ban line. The user name is the peer's: anything but printable ASCII without
/// spaces becomes `?`, so it can never fake another field of the line.
fn log_failure(attempt: &LoginAttempt<'_>, reason: &str) {
    baedal_metrics::auth_attempt(attempt.protocol, false);
    let user = loggable_user(attempt.username);
    events::record(
        Event::new(EventKind::Auth, attempt.protocol, reason)
            .address(user.as_str())
            .ip(attempt.ip),
    );
    tracing::warn!(
        "auth failed user={user} ip={} proto={} reason={reason}",
        attempt.ip,
        attempt.protocol
    );
}

fn loggable_user(name: &str) -> String {
    let mut user: String = name
        .chars()
        .take(MAX_LOGGED_USER)
        .map(|c| if c.is_ascii_graphic() { c } else { '?' })
        .collect();
    if user.is_empty() {
        user.push('-');
    }
    user
}

#[cfg(test)]
mod tests {
    use super::loggable_user;

    #[test]
    fn logged_user_names_cannot_fake_fields() {
        assert_eq!(loggable_user("alice@x.kr"), "alice@x.kr");
        assert_eq!(
            loggable_user("x ip=10.0.0.1 proto=imap"),
            "x?ip=10.0.0.1?proto=imap"
        );
        assert_eq!(loggable_user("a\r\nb\0"), "a??b?");
        assert_eq!(loggable_user(""), "-");
        assert_eq!(loggable_user(&"a".repeat(500)).len(), 128);
    }
}
