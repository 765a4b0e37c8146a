//! Administrator accounts: add, list, disable/enable, reset TOTP, API keys, own password.
//! The first super administrator is added on the host's CLI (the console has no page for
//! it, and an empty table lets no one in).

use baedal_auth::password::hash_password;
use baedal_storage::{AdminAccount, NewAdmin, Role};
use base64::Engine;
use rand::RngCore;

use super::{Actor, Permission, audit, state};
use crate::{AdminContext, AdminError};

/// How an API key starts: scripts and secret scanners can recognise one.
pub const API_KEY_PREFIX: &str = "bdk_";

pub async fn add(
    ctx: &AdminContext,
    actor: &Actor,
    name: &str,
    role: Role,
    domains: Vec<String>,
    password: String,
) -> Result<AdminAccount, AdminError> {
    actor.check(Permission::ManageAdmins, None)?;
    if role == Role::DomainAdmin && domains.is_empty() {
        return Err(AdminError::field(
            "domain",
            "a domain administrator needs at least one --domain",
        ));
    }
    let mut names = Vec::with_capacity(domains.len());
    for d in &domains {
        let parsed = super::domains::parse_name(d)?;
        ctx.directory.require_domain(&parsed).await?;
        names.push(parsed.to_string());
    }
    let password_hash = hash_password(password)
        .await
        .map_err(|e| AdminError::field("password", e))?;
    let account = ctx
        .admins
        .add(
            NewAdmin {
                name: name.to_string(),
                role,
                domains: names,
                password_hash,
            },
            baedal_storage::clock::now_secs(),
        )
        .await?;
    audit(
        ctx,
        actor,
        "admin.create",
        &account.name,
        "",
        None,
        state(&account),
    )
    .await?;
    Ok(account)
}

pub async fn list(ctx: &AdminContext, actor: &Actor) -> Result<Vec<AdminAccount>, AdminError> {
    actor.check(Permission::ManageAdmins, None)?;
    Ok(ctx.admins.list().await?)
}

/// Disables or enables an administrator; disabling also ends their sessions.
pub async fn set_active(
    ctx: &AdminContext,
    actor: &Actor,
    name: &str,
    active: bool,
) -> Result<AdminAccount, AdminError> {
    actor.check(Permission::ManageAdmins, None)?;
    let before = ctx.admins.require(name).await?.account;
    ctx.admins.set_active(before.id, active).await?;
    if !active {
        ctx.admins.delete_sessions_of(before.id).await?;
    }
    let after = ctx.admins.require(name).await?.account;
    let action = if active {
        "admin.enable"
    } else {
        "admin.disable"
    };
    audit(ctx, actor, action, name, "", state(&before), state(&after)).await?;
    Ok(after)
}

/// Turns TOTP off for an administrator who lost their device: the next login enrols again.
pub async fn reset_totp(ctx: &AdminContext, actor: &Actor, name: &str) -> Result<(), AdminError> {
    actor.check(Permission::ManageAdmins, None)?;
    let account = ctx.admins.require(name).await?.account;
    ctx.admins.reset_totp(account.id).await?;
    ctx.admins.delete_sessions_of(account.id).await?;
    audit(ctx, actor, "admin.reset_totp", name, "", None, None).await
}

/// A new API key for `name` (an administrator may make their own; a super administrator
/// anyone's). The key is returned once; only its hash is kept.
pub async fn new_api_key(
    ctx: &AdminContext,
    actor: &Actor,
    name: &str,
) -> Result<String, AdminError> {
    if actor.name != name {
        actor.check(Permission::ManageAdmins, None)?;
    }
    let account = ctx.admins.require(name).await?.account;
    let mut raw = [0u8; 32];
    rand::rng().fill_bytes(&mut raw);
    let key = format!(
        "{API_KEY_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    );
    let prefix: String = key.chars().take(12).collect();
    ctx.admins
        .add_api_key(
            account.id,
            &api_key_hash(&key),
            &prefix,
            baedal_storage::clock::now_secs(),
        )
        .await?;
    let after = serde_json::json!({ "prefix": prefix });
    audit(ctx, actor, "admin.api_key", name, "", None, Some(after)).await?;
    Ok(key)
}

/// The stored form of an API key: SHA-256, hex (the key itself has 256 random bits, so a
/// fast hash is enough).
pub fn api_key_hash(key: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, key.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// An administrator changes their own password (the current one checked by the caller).
pub async fn set_own_password(
    ctx: &AdminContext,
    actor: &Actor,
    password: String,
) -> Result<(), AdminError> {
    let id = actor
        .admin_id
        .ok_or_else(|| AdminError::Input("the CLI has no password of its own".into()))?;
    let hash = hash_password(password)
        .await
        .map_err(|e| AdminError::field("password", e))?;
    ctx.admins.set_password(id, &hash).await?;
    audit(ctx, actor, "admin.password", &actor.name, "", None, None).await
}

/// Logs an administrator out of every session (their own, from the account page).
pub async fn logout_everywhere(ctx: &AdminContext, actor: &Actor) -> Result<u64, AdminError> {
    let id = actor
        .admin_id
        .ok_or_else(|| AdminError::Input("the CLI has no sessions".into()))?;
    let ended = ctx.admins.delete_sessions_of(id).await?;
    let after = serde_json::json!({ "sessions_ended": ended });
    audit(
        ctx,
        actor,
        "admin.logout_everywhere",
        &actor.name,
        "",
        None,
        Some(after),
    )
    .await?;
    Ok(ended)
}

/// Records a TOTP enrolment (the secret itself never goes to the audit log).
pub async fn record_totp_enrolment(ctx: &AdminContext, actor: &Actor) -> Result<(), AdminError> {
    audit(ctx, actor, "admin.totp_enrol", &actor.name, "", None, None).await
}
