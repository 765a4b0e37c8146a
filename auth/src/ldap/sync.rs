//! `baedal ldap sync` and the periodic job: the `virtual_users` of an LDAP domain follow
//! the directory.
//!
//! - A person with an address in the domain and no account gets one (no local password,
//!   `auth_source = ldap`), with display name and department.
//! - An account whose display name or department differs from the directory is updated.
//! - An active account that came from LDAP (`auth_source = ldap`) whose address the
//!   directory no longer has is disabled; its mail is kept. Accounts with
//!   `auth_source = local` are local accounts and are left alone.
//! - An empty answer never disables anybody: a wrong base DN or an emptied directory is
//!   more likely than every person leaving at once.

use std::collections::BTreeMap;

use baedal_storage::{
    AuthSource, AuthType, Directory, DirectoryError, Domain, EmailAddress, UserUpdate,
};
use serde::Serialize;

use super::{LdapDirectory, LdapEntry, LdapError};
use crate::provision;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Ldap(#[from] LdapError),
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    #[error("{0} does not authenticate with LDAP")]
    NotLdap(String),
    #[error(
        "LDAP returned no entries for {domain}: refusing to disable its {accounts} LDAP accounts (check the base DN)"
    )]
    EmptyDirectory { domain: String, accounts: usize },
}

/// What a sync of one domain did (or would do, in a dry run).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SyncReport {
    pub domain: String,
    pub created: Vec<String>,
    pub updated: Vec<String>,
    pub disabled: Vec<String>,
    pub unchanged: usize,
}

/// Told about progress: the number of people to go through, then each one done.
pub trait SyncProgress: Sync {
    fn total(&self, people: usize);
    fn advance(&self);
}

/// No progress display (the periodic job).
pub struct Quiet;

impl SyncProgress for Quiet {
    fn total(&self, _: usize) {}
    fn advance(&self) {}
}

/// Syncs every active LDAP domain, or the one named.
pub async fn sync_domains(
    ldap: &LdapDirectory,
    directory: &Directory,
    only: Option<&str>,
    dry_run: bool,
    progress: &dyn SyncProgress,
) -> Result<Vec<SyncReport>, SyncError> {
    let mut reports = Vec::new();
    for domain in directory.domains().await? {
        if let Some(name) = only {
            if domain.domain_name != name {
                continue;
            }
            if domain.auth_type != AuthType::Ldap {
                return Err(SyncError::NotLdap(name.to_string()));
            }
        }
        if domain.auth_type != AuthType::Ldap || !domain.is_active {
            continue;
        }
        reports.push(sync_domain(ldap, directory, &domain, dry_run, progress).await?);
    }
    Ok(reports)
}

pub async fn sync_domain(
    ldap: &LdapDirectory,
    directory: &Directory,
    domain: &Domain,
    dry_run: bool,
    progress: &dyn SyncProgress,
) -> Result<SyncReport, SyncError> {
    let entries = ldap.entries(domain.ldap_base_dn.as_deref()).await?;
    let mut people: BTreeMap<String, LdapEntry> = BTreeMap::new();
    for entry in entries {
        if let Some(address) = entry.mailbox_address(&domain.domain_name) {
            people.entry(address).or_insert(entry);
        }
    }
    let name =
        baedal_storage::DomainName::parse(&domain.domain_name).map_err(DirectoryError::from)?;
    let accounts = directory.users(Some(&name)).await?;
    let mut report = SyncReport {
        domain: domain.domain_name.clone(),
        ..SyncReport::default()
    };
    let ldap_accounts = accounts
        .iter()
        .filter(|u| u.auth_source == AuthSource::Ldap && u.is_active)
        .count();
    if people.is_empty() && ldap_accounts > 0 {
        return Err(SyncError::EmptyDirectory {
            domain: domain.domain_name.clone(),
            accounts: ldap_accounts,
        });
    }
    progress.total(people.len() + accounts.len());
    for (address, entry) in &people {
        progress.advance();
        let Ok(parsed) = EmailAddress::parse(address) else {
            continue;
        };
        match accounts.iter().find(|u| &u.email == address) {
            None => {
                if !dry_run {
                    provision::create(directory, &parsed, entry).await?;
                }
                report.created.push(address.clone());
            }
            Some(user)
                if user.display_name != entry.display_name
                    || user.department != entry.department =>
            {
                if !dry_run {
                    let update = UserUpdate {
                        display_name: Some(entry.display_name.clone()),
                        department: Some(entry.department.clone()),
                        ..UserUpdate::default()
                    };
                    directory.update_user(&parsed, update).await?;
                }
                report.updated.push(address.clone());
            }
            Some(_) => report.unchanged += 1,
        }
    }
    for user in &accounts {
        progress.advance();
        let gone = !people.contains_key(&user.email);
        if gone && user.is_active && user.auth_source == AuthSource::Ldap {
            if !dry_run && let Ok(address) = EmailAddress::parse(&user.email) {
                let update = UserUpdate {
                    is_active: Some(false),
                    ..UserUpdate::default()
                };
                directory.update_user(&address, update).await?;
            }
            report.disabled.push(user.email.clone());
        }
    }
    Ok(report)
}
