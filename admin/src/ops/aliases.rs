//! Aliases: list, add, remove.

use baedal_storage::{Alias, AliasSource, DomainName, EmailAddress};

use super::{Actor, Permission, audit};
use crate::{AdminContext, AdminError};

pub fn parse_source(source: &str) -> Result<AliasSource, AdminError> {
    AliasSource::parse(source.trim()).map_err(|e| AdminError::field("source", e))
}

pub fn parse_destinations(text: &str) -> Result<Vec<EmailAddress>, AdminError> {
    let list = text
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(|a| EmailAddress::parse(a).map_err(|e| AdminError::field("destination", e)))
        .collect::<Result<Vec<_>, _>>()?;
    if list.is_empty() {
        return Err(AdminError::field(
            "destination",
            "give at least one address",
        ));
    }
    Ok(list)
}

/// The aliases the actor may see, of one domain or all.
pub async fn list(
    ctx: &AdminContext,
    actor: &Actor,
    domain: Option<&DomainName>,
) -> Result<Vec<Alias>, AdminError> {
    let scope = actor.domain_scope(Permission::ManageAliases)?;
    let mut aliases = ctx.directory.aliases(domain).await?;
    if let Some(own) = scope {
        aliases.retain(|a| own.iter().any(|o| o.eq_ignore_ascii_case(&a.domain)));
    }
    Ok(aliases)
}

pub async fn add(
    ctx: &AdminContext,
    actor: &Actor,
    source: &AliasSource,
    destinations: &[EmailAddress],
) -> Result<Vec<Alias>, AdminError> {
    actor.check(Permission::ManageAliases, Some(source.domain().as_str()))?;
    let added = ctx.directory.add_alias(source, destinations).await?;
    let after: Vec<&str> = added.iter().map(|a| a.destination.as_str()).collect();
    let src = source.to_string();
    let after = serde_json::json!({ "destinations": after });
    audit(
        ctx,
        actor,
        "alias.create",
        &src,
        source.domain().as_str(),
        None,
        Some(after),
    )
    .await?;
    Ok(added)
}

/// Removes one destination of an alias, or all of them; the number removed.
pub async fn remove(
    ctx: &AdminContext,
    actor: &Actor,
    source: &AliasSource,
    destination: Option<&EmailAddress>,
) -> Result<u64, AdminError> {
    actor.check(Permission::ManageAliases, Some(source.domain().as_str()))?;
    let removed = ctx.directory.remove_alias(source, destination).await?;
    let src = source.to_string();
    let before = serde_json::json!({
        "destination": destination.map(|d| d.to_string()).unwrap_or_else(|| "*".into()),
        "removed": removed,
    });
    audit(
        ctx,
        actor,
        "alias.delete",
        &src,
        source.domain().as_str(),
        Some(before),
        None,
    )
    .await?;
    Ok(removed)
}
