//! Recipient resolution: which local mailboxes an address delivers to.
//!
//! Order, per address (Postfix virtual(5) semantics, minus its catch-all trap):
//! 1. an active alias for the exact address, then for the address without its `+tag`;
//! 2. a user with the address, then without its `+tag` (plus-addressing);
//! 3. the domain's catch-all alias `@domain` — only for addresses with no user or alias.
//!
//! Alias destinations are resolved again (nested aliases) up to [`MAX_ALIAS_DEPTH`]; an
//! address seen twice is not expanded again, so loops end.

use std::collections::{HashMap, HashSet, VecDeque};

use sqlx::Row;

use super::{Directory, DirectoryError, flag};
use crate::address::{AliasSource, DomainName};

/// How deep aliases may nest (Postfix's virtual_alias_recursion_limit is 1000; a site with
/// more than a few levels has a mistake).
pub const MAX_ALIAS_DEPTH: usize = 8;
/// How many addresses one recipient may expand to (Postfix: virtual_alias_expansion_limit).
pub const MAX_EXPANSION: usize = 1000;

/// A mailbox owner mail can be stored for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LocalUser {
    pub id: i64,
    pub email: String,
    pub maildir: String,
    /// Bytes; 0 = no limit.
    pub quota: i64,
    pub used_quota: i64,
}

impl LocalUser {
    /// True when `size` more bytes would exceed the quota.
    pub fn over_quota(&self, size: u64) -> bool {
        self.quota > 0 && self.used_quota.saturating_add(size as i64) > self.quota
    }
}

/// What an address resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// Deliver to these users (no duplicates).
    Local(Vec<LocalUser>),
    /// The domain is not one of ours.
    NotLocal,
    /// The domain is ours but disabled.
    DomainDisabled,
    /// No user, alias or catch-all has the address.
    UnknownUser,
    /// The user (or every user an alias reaches) is disabled.
    UserDisabled,
    /// Aliases loop or nest too deep without reaching a mailbox.
    Loop,
    /// Some destinations are remote addresses (forwarding), which need the outbound queue.
    Forward {
        local: Vec<LocalUser>,
        remote: Vec<String>,
    },
}

/// An address split for resolution; the local part may be UTF-8 (RFC 6531).
struct Address {
    local: String,
    domain: DomainName,
}

impl Address {
    fn parse(s: &str) -> Option<Self> {
        let (local, domain) = s.rsplit_once('@')?;
        if local.is_empty() {
            return None;
        }
        Some(Self {
            local: local.to_lowercase(),
            domain: DomainName::parse(domain).ok()?,
        })
    }

    fn text(&self) -> String {
        format!("{}@{}", self.local, self.domain)
    }

    /// The address without its `+tag`, when it has one.
    fn without_tag(&self) -> Option<String> {
        let (base, _) = self.local.split_once('+')?;
        (!base.is_empty()).then(|| format!("{base}@{}", self.domain))
    }
}

impl Directory {
    /// Resolves `local@domain` as given in RCPT TO.
    pub async fn resolve_recipient(&self, address: &str) -> Result<Resolution, DirectoryError> {
        let resolution = self.resolve_address(address).await?;
        // RFC 5321 §4.5.1 (postmaster), RFC 2142 (abuse): every domain has them.
        if resolution == Resolution::UnknownUser
            && let Some(fallback) = &self.role_fallback
            && let Some((local, _)) = address.rsplit_once('@')
            && (local.eq_ignore_ascii_case("postmaster") || local.eq_ignore_ascii_case("abuse"))
        {
            return self.resolve_address(fallback).await;
        }
        Ok(resolution)
    }

    async fn resolve_address(&self, address: &str) -> Result<Resolution, DirectoryError> {
        let Some(first) = Address::parse(address) else {
            return Ok(Resolution::UnknownUser);
        };
        let mut domains: HashMap<DomainName, Option<bool>> = HashMap::new();
        let mut queue = VecDeque::from([(first, 0usize)]);
        let mut seen = HashSet::new();
        let (mut users, mut remote) = (Vec::<LocalUser>::new(), Vec::<String>::new());
        let (mut disabled, mut unknown, mut looped) = (0, 0, false);
        while let Some((addr, depth)) = queue.pop_front() {
            let text = addr.text();
            if !seen.insert(text.clone()) || seen.len() > MAX_EXPANSION {
                looped = true;
                continue;
            }
            let active = match domains.get(&addr.domain) {
                Some(known) => *known,
                None => {
                    let found = self.domain_active(&addr.domain).await?;
                    domains.insert(addr.domain.clone(), found);
                    found
                }
            };
            match active {
                None if depth == 0 => return Ok(Resolution::NotLocal),
                None => {
                    remote.push(text);
                    continue;
                }
                Some(false) if depth == 0 => return Ok(Resolution::DomainDisabled),
                Some(false) => {
                    disabled += 1;
                    continue;
                }
                Some(true) => {}
            }
            let base = addr.without_tag();
            let mut destinations = self.active_destinations(&text).await?;
            if destinations.is_empty()
                && let Some(base) = &base
            {
                destinations = self.active_destinations(base).await?;
            }
            if destinations.is_empty() {
                let user = match self.local_user(&text).await? {
                    Some(user) => Some(user),
                    None => match &base {
                        Some(base) => self.local_user(base).await?,
                        None => None,
                    },
                };
                match user {
                    Some((user, true)) => {
                        if !users.contains(&user) {
                            users.push(user);
                        }
                        continue;
                    }
                    Some((_, false)) => {
                        disabled += 1;
                        continue;
                    }
                    None => {
                        let catch_all = AliasSource::CatchAll(addr.domain.clone()).to_string();
                        destinations = self.active_destinations(&catch_all).await?;
                    }
                }
            }
            if destinations.is_empty() {
                unknown += 1;
                continue;
            }
            if depth + 1 > MAX_ALIAS_DEPTH {
                looped = true;
                continue;
            }
            for destination in destinations {
                match Address::parse(&destination) {
                    Some(next) => queue.push_back((next, depth + 1)),
                    None => unknown += 1,
                }
            }
        }
        Ok(if !remote.is_empty() {
            Resolution::Forward {
                local: users,
                remote,
            }
        } else if !users.is_empty() {
            Resolution::Local(users)
        } else if looped {
            Resolution::Loop
        } else if disabled > 0 && unknown == 0 {
            Resolution::UserDisabled
        } else {
            Resolution::UnknownUser
        })
    }

    /// `Some(is_active)` for a local domain, `None` for any other.
    async fn domain_active(&self, domain: &DomainName) -> Result<Option<bool>, DirectoryError> {
        let sql = format!(
            "SELECT {} AS is_active FROM domains WHERE domain_name = $1",
            self.dialect().flag("is_active")
        );
        let row = sqlx::query(&sql)
            .bind(domain.as_str())
            .fetch_optional(self.db.pool())
            .await?;
        Ok(row.map(|r| flag(&r, "is_active")).transpose()?)
    }

    async fn active_destinations(&self, source: &str) -> Result<Vec<String>, DirectoryError> {
        Ok(sqlx::query_scalar(
            "SELECT destination FROM virtual_aliases \
             WHERE source = $1 AND is_active = TRUE ORDER BY destination",
        )
        .bind(source)
        .fetch_all(self.db.pool())
        .await?)
    }

    /// The user with this address and whether they are active.
    async fn local_user(&self, email: &str) -> Result<Option<(LocalUser, bool)>, DirectoryError> {
        let sql = format!(
            "SELECT id, email, maildir_path, quota, used_quota, {} AS is_active \
             FROM virtual_users WHERE email = $1",
            self.dialect().flag("is_active")
        );
        let row = sqlx::query(&sql)
            .bind(email)
            .fetch_optional(self.db.pool())
            .await?;
        let Some(row) = row else { return Ok(None) };
        let user = LocalUser {
            id: row.try_get("id")?,
            email: row.try_get("email")?,
            maildir: row.try_get("maildir_path")?,
            quota: row.try_get("quota")?,
            used_quota: row.try_get("used_quota")?,
        };
        Ok(Some((user, flag(&row, "is_active")?)))
    }
}
