//! The dashboard's figures: what is in the directory, the queue and the store, and the
//! server's own counters.

use serde::Serialize;

use super::{Actor, Permission};
use crate::{AdminContext, AdminError};

#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    pub domains: usize,
    pub users: usize,
    pub aliases: usize,
    /// Recipients waiting in the outbound queue.
    pub queue_waiting: i64,
    /// Bytes of mail stored (the sum of the users' quota usage).
    pub storage_used: i64,
    /// Users at or above the site's quota warning level.
    pub users_near_quota: usize,
    /// The server's counters since it started (zero when asked from the CLI).
    pub counters: baedal_metrics::Totals,
}

pub async fn collect(ctx: &AdminContext, actor: &Actor) -> Result<Stats, AdminError> {
    actor.check(Permission::ViewStats, None)?;
    let domains = ctx.directory.domains().await?;
    let users = ctx.directory.users(None).await?;
    let aliases = ctx.directory.aliases(None).await?;
    let warn = ctx.quota_warn_percent;
    Ok(Stats {
        domains: domains.len(),
        users: users.len(),
        aliases: aliases.len(),
        queue_waiting: ctx.queue.waiting().await?,
        storage_used: users.iter().map(|u| u.used_quota).sum(),
        users_near_quota: users
            .iter()
            .filter(|u| u.quota > 0 && u.used_quota * 100 >= u.quota * warn)
            .count(),
        counters: baedal_metrics::totals(),
    })
}
