//! Accounts for directory users: the `virtual_users` row an LDAP person's mail lives in,
//! created at their first login or by `baedal ldap sync`.

use baedal_storage::{
    AuthSource, Directory, DirectoryError, Domain, EmailAddress, NewUser, User, UserUpdate,
};

use crate::ldap::LdapEntry;

/// The account `entry` opens in `domain` when it logged in as `login` (which has no
/// account of its own): an existing account under another of the entry's addresses, or a
/// new one under its first address in the domain, as `ldap sync` would create it (no
/// local password, `auth_source = ldap`). `None` when the entry has no address there.
pub async fn account(
    directory: &Directory,
    domain: &Domain,
    login: &EmailAddress,
    entry: &LdapEntry,
) -> Result<Option<User>, DirectoryError> {
    let login = login.to_string();
    for other in entry.addresses_in(&domain.domain_name) {
        if *other == login {
            continue;
        }
        if let Ok(address) = EmailAddress::parse(other)
            && let Some(user) = directory.user(&address).await?
        {
            return Ok(Some(user));
        }
    }
    let Some(address) = entry
        .mailbox_address(&domain.domain_name)
        .and_then(|m| EmailAddress::parse(&m).ok())
    else {
        return Ok(None);
    };
    match create(directory, &address, entry).await {
        Ok(user) => {
            tracing::info!(user = %address, dn = %entry.dn, "created the account of an LDAP user at first login");
            Ok(Some(user))
        }
        // Another login of the same person created it first.
        Err(DirectoryError::UserExists(_)) => directory.user(&address).await,
        Err(e) => Err(e),
    }
}

/// Creates the account of a directory person.
pub async fn create(
    directory: &Directory,
    address: &EmailAddress,
    entry: &LdapEntry,
) -> Result<User, DirectoryError> {
    directory
        .add_user(NewUser {
            address: address.clone(),
            password_hash: None,
            quota: None,
            display_name: entry.display_name.clone(),
            department: entry.department.clone(),
        })
        .await?;
    directory
        .update_user(
            address,
            UserUpdate {
                auth_source: Some(AuthSource::Ldap),
                ..UserUpdate::default()
            },
        )
        .await
}
