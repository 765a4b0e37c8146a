//! The local authenticator: a directory user's bcrypt password.
//!
//! The LDAP-first chain of DESIGN.md builds on this; for now every domain authenticates
//! locally. An inactive user or domain never authenticates.

use baedal_storage::{AuthSource, Directory, DirectoryError, EmailAddress};

use crate::password::{PasswordError, verify_password};

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    #[error(transparent)]
    Password(#[from] PasswordError),
}

/// The answer to one login attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthOutcome {
    Accepted(AuthSource),
    /// Unknown user, wrong password, no local password, or a disabled user or domain: the
    /// peer is told only that it failed.
    Rejected,
}

#[derive(Debug, Clone)]
pub struct LocalAuthenticator {
    directory: Directory,
}

impl LocalAuthenticator {
    pub fn new(directory: Directory) -> Self {
        Self { directory }
    }

    pub async fn authenticate(
        &self,
        address: &EmailAddress,
        password: &str,
    ) -> Result<AuthOutcome, AuthError> {
        let Some(user) = self.directory.user(address).await? else {
            return Ok(AuthOutcome::Rejected);
        };
        let domain = self.directory.require_domain(address.domain()).await?;
        if !user.is_active || !domain.is_active {
            return Ok(AuthOutcome::Rejected);
        }
        let Some(hash) = self.directory.password_hash(address).await? else {
            return Ok(AuthOutcome::Rejected);
        };
        if verify_password(password.to_string(), hash).await? {
            self.directory
                .record_login(address, AuthSource::Local)
                .await?;
            Ok(AuthOutcome::Accepted(AuthSource::Local))
        } else {
            Ok(AuthOutcome::Rejected)
        }
    }
}
