//! Local passwords: bcrypt with cost 12 (the site PRD), about 0.25 s a check.
//!
//! bcrypt is deliberately slow, so both functions run on tokio's blocking pool and never
//! stall the async runtime.

/// The site PRD's bcrypt cost.
pub const BCRYPT_COST: u32 = 12;

/// bcrypt reads at most 72 bytes of a password; longer ones are refused rather than
/// silently truncated.
pub const MAX_PASSWORD_LEN: usize = 72;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("the password is empty")]
    Empty,
    #[error("the password is longer than {MAX_PASSWORD_LEN} bytes (bcrypt's limit)")]
    TooLong,
    #[error("bcrypt failed: {0}")]
    Bcrypt(#[from] bcrypt::BcryptError),
    #[error("the hashing task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Checks what an administrator may set as a password.
pub fn check_new_password(password: &str) -> Result<(), PasswordError> {
    if password.is_empty() {
        return Err(PasswordError::Empty);
    }
    if password.len() > MAX_PASSWORD_LEN {
        return Err(PasswordError::TooLong);
    }
    Ok(())
}

/// Hashes a new password with bcrypt cost 12.
pub async fn hash_password(password: String) -> Result<String, PasswordError> {
    check_new_password(&password)?;
    let hash = tokio::task::spawn_blocking(move || bcrypt::hash(password, BCRYPT_COST)).await??;
    Ok(hash)
}

/// At most one bcrypt check per core at a time: a burst of logins then finishes in arrival
/// order instead of all together at the end, and never fills the blocking pool that file
/// syncs need.
fn bcrypt_slots() -> &'static tokio::sync::Semaphore {
    static SLOTS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    SLOTS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        tokio::sync::Semaphore::new(cores)
    })
}

/// Checks a password against a stored bcrypt hash. A malformed hash never matches.
pub async fn verify_password(password: String, hash: String) -> Result<bool, PasswordError> {
    if password.is_empty() || password.len() > MAX_PASSWORD_LEN {
        return Ok(false);
    }
    // The semaphore is never closed, so acquire cannot fail; if it did, check unthrottled.
    let _slot = bcrypt_slots().acquire().await.ok();
    let ok = tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash).unwrap_or(false))
        .await?;
    Ok(ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_with_cost_12_and_verifies() {
        let hash = hash_password("correct horse".into()).await.unwrap();
        assert!(hash.starts_with("$2b$12$"), "{hash}");
        assert!(
            verify_password("correct horse".into(), hash.clone())
                .await
                .unwrap()
        );
        assert!(!verify_password("wrong".into(), hash.clone()).await.unwrap());
        assert!(!verify_password("".into(), hash).await.unwrap());
        assert!(
            !verify_password("x".into(), "not-a-hash".into())
                .await
                .unwrap()
        );
    }

    #[test]
    fn refuses_empty_and_overlong_passwords() {
        assert!(matches!(check_new_password(""), Err(PasswordError::Empty)));
        assert!(matches!(
            check_new_password(&"x".repeat(73)),
            Err(PasswordError::TooLong)
        ));
        assert!(check_new_password(&"x".repeat(72)).is_ok());
    }
}
