//! Domains: list, add, change (auth type, LDAP base DN, enable/disable), remove.

use baedal_storage::{AuthType, Domain, DomainName, DomainUpdate, NewDomain};

use super::{Actor, Permission, audit, state};
use crate::{AdminContext, AdminError};

/// A new domain as an administrator describes it.
#[derive(Debug, Clone)]
pub struct DomainDraft {
    pub name: String,
    pub auth_type: AuthType,
    pub ldap_base_dn: Option<String>,
    pub transport: Option<String>,
    pub company_id: Option<i64>,
}

pub fn parse_name(name: &str) -> Result<DomainName, AdminError> {
    DomainName::parse(name.trim()).map_err(|e| AdminError::field("name", e))
}

/// The domains the actor may see.
pub async fn list(ctx: &AdminContext, actor: &Actor) -> Result<Vec<Domain>, AdminError> {
    let scope = actor.domain_scope(Permission::ViewDomains)?;
    let mut domains = ctx.directory.domains().await?;
    if let Some(own) = scope {
        domains.retain(|d| own.iter().any(|o| o.eq_ignore_ascii_case(&d.domain_name)));
    }
    Ok(domains)
}

/// One domain the actor may see (another's is `NotFound`).
pub async fn get(ctx: &AdminContext, actor: &Actor, name: &str) -> Result<Domain, AdminError> {
    let what = format!("unknown domain '{name}'");
    let parsed = DomainName::parse(name).map_err(|_| AdminError::NotFound(what.clone()))?;
    let domain = ctx
        .directory
        .domain(&parsed)
        .await?
        .ok_or_else(|| AdminError::NotFound(what.clone()))?;
    actor.check_object(Permission::ViewDomains, &domain.domain_name, &what)?;
    Ok(domain)
}

pub async fn create(
    ctx: &AdminContext,
    actor: &Actor,
    draft: DomainDraft,
) -> Result<Domain, AdminError> {
    actor.check(Permission::ManageDomains, None)?;
    let name = parse_name(&draft.name)?;
    let added = ctx
        .directory
        .add_domain(NewDomain {
            name,
            auth_type: draft.auth_type,
            ldap_base_dn: draft.ldap_base_dn.filter(|b| !b.trim().is_empty()),
            transport: draft.transport,
            company_id: draft.company_id,
        })
        .await?;
    let name = added.domain_name.clone();
    audit(
        ctx,
        actor,
        "domain.create",
        &name,
        &name,
        None,
        state(&added),
    )
    .await?;
    Ok(added)
}

/// Changes a domain; the audit action is `domain.enable`, `domain.disable` or
/// `domain.update`.
pub async fn update(
    ctx: &AdminContext,
    actor: &Actor,
    name: &str,
    update: DomainUpdate,
) -> Result<Domain, AdminError> {
    let before = get(ctx, actor, name).await?;
    actor.check(Permission::ManageDomains, Some(&before.domain_name))?;
    let action = match (
        update.is_active,
        &update.auth_type,
        &update.ldap_base_dn,
        &update.transport,
        &update.company_id,
    ) {
        (Some(true), None, None, None, None) => "domain.enable",
        (Some(false), None, None, None, None) => "domain.disable",
        _ => "domain.update",
    };
    let parsed = parse_name(&before.domain_name)?;
    let after = ctx.directory.update_domain(&parsed, update).await?;
    let n = after.domain_name.clone();
    audit(ctx, actor, action, &n, &n, state(&before), state(&after)).await?;
    Ok(after)
}

/// Removes a domain; with `force` its users and aliases too (and, with `delete_mail`, the
/// users' mail, which is refused otherwise while there is any).
pub async fn remove(
    ctx: &AdminContext,
    actor: &Actor,
    name: &str,
    force: bool,
    delete_mail: bool,
) -> Result<Domain, AdminError> {
    let before = get(ctx, actor, name).await?;
    actor.check(Permission::ManageDomains, Some(&before.domain_name))?;
    let parsed = parse_name(&before.domain_name)?;
    if force {
        for user in ctx.directory.users(Some(&parsed)).await? {
            super::users::purge_mail(ctx, user.id, &user.email, delete_mail).await?;
        }
    }
    let removed = ctx.directory.remove_domain(&parsed, force).await?;
    let n = removed.domain_name.clone();
    audit(ctx, actor, "domain.delete", &n, &n, state(&before), None).await?;
    Ok(removed)
}
